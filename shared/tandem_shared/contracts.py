"""Message contracts: the one definition of every message that crosses a service boundary.

Every message is a CloudEvents 1.0 envelope (structured mode: the whole envelope is the
Kafka value) with Tandem's extensions `hub` and `trace_id` and a typed `data`. Messages
are parsed with a discriminated union on `type`. Entity messages carry the entity's
monotonically increasing `version` so consumers can drop stale ones.

Compatibility: additive changes keep the topic (consumers ignore unknown fields); a
breaking change gets a new `.v2` topic.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SPECVERSION: Literal["1.0"] = "1.0"


# --------------------------------------------------------------------------- topics


class Cleanup(StrEnum):
    COMPACT = "compact"
    DELETE = "delete"


class TopicSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    key: str
    cleanup: Cleanup
    description: str

    @property
    def dlq(self) -> str:
        return dead_letter_topic(self.name)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


PROFILES = TopicSpec(
    name="tandem.profiles.v1",
    key="profile id",
    cleanup=Cleanup.COMPACT,
    description="Organisation profiles; erasure is profile.erased followed by a tombstone.",
)
EVENTS = TopicSpec(
    name="tandem.events.v1",
    key="event id",
    cleanup=Cleanup.COMPACT,
    description="Events (world café, workshop, matching event, ...).",
)
REGISTRATIONS = TopicSpec(
    name="tandem.registrations.v1",
    key="event id",
    cleanup=Cleanup.DELETE,
    description="Registrations of organisations to events.",
)
MATCHES = TopicSpec(
    name="tandem.matches.v1",
    key="pair id (min(a,b):max(a,b))",
    cleanup=Cleanup.COMPACT,
    description="Suggested partner matches with score, components and explanation.",
)
MEETINGS = TopicSpec(
    name="tandem.meetings.v1",
    key="event id",
    cleanup=Cleanup.DELETE,
    description="Meeting schedule changes and outcomes.",
)
ALL_TOPICS: tuple[TopicSpec, ...] = (PROFILES, EVENTS, REGISTRATIONS, MATCHES, MEETINGS)


def pair_id(a: uuid.UUID | str, b: uuid.UUID | str) -> str:
    """The order-independent id of a pair of profiles: `min(a,b):max(a,b)`."""
    first, second = sorted((str(a), str(b)))
    return f"{first}:{second}"


# --------------------------------------------------------------------------- vocabularies


class OrgKind(StrEnum):
    HERITAGE = "heritage"
    CREATIVE = "creative"
    INDUSTRY = "industry"
    SUPPORT = "support"
    RESEARCH = "research"
    PUBLIC = "public"
    OTHER = "other"


class Sharing(StrEnum):
    HUB = "hub"
    NETWORK = "network"


class EventKind(StrEnum):
    WORLD_CAFE = "world_cafe"
    WORKSHOP = "workshop"
    CO_CREATION_COURSE = "co_creation_course"
    MATCHING_EVENT = "matching_event"
    MARKET = "market"
    FORUM = "forum"
    OTHER = "other"


class MeetingOutcome(StrEnum):
    HELD = "held"
    NO_SHOW = "no_show"
    FOLLOW_UP = "follow_up"
    AGREEMENT = "agreement"


# --------------------------------------------------------------------------- payloads


class Payload(BaseModel):
    # Additive evolution: a newer producer may add fields this consumer does not know yet.
    model_config = ConfigDict(extra="ignore", frozen=True)


class ProfileText(Payload):
    text: str
    tags: list[str] = Field(default_factory=list)
    language: str | None = Field(None, description="Detected ISO 639-1 language of the text")


class ProfileData(Payload):
    """What the network may know of a profile. Contact details are personal data and
    never travel on the shared topic."""

    id: uuid.UUID
    hub: str
    version: int = Field(ge=1)
    name: str
    kind: OrgKind
    subsectors: list[str] = Field(default_factory=list)
    description: str = ""
    description_language: str | None = Field(
        None, description="Detected ISO 639-1 language of the description"
    )
    offers: list[ProfileText] = Field(default_factory=list)
    needs: list[ProfileText] = Field(default_factory=list)
    looking_for: list[OrgKind] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    country: str
    region: str | None = None
    city: str | None = None
    website: str | None = None
    sharing: Sharing = Sharing.HUB
    updated_at: datetime


class ProfileErasedData(Payload):
    id: uuid.UUID
    hub: str
    version: int = Field(ge=1)
    erased_at: datetime


class EventData(Payload):
    id: uuid.UUID
    hub: str
    version: int = Field(ge=1)
    title: str
    kind: EventKind
    starts_at: datetime
    ends_at: datetime
    timezone: str
    online: bool = False
    venue: str | None = None
    languages: list[str] = Field(default_factory=list)
    sectors: list[OrgKind] = Field(default_factory=list)


class EventCancelledData(Payload):
    id: uuid.UUID
    hub: str
    version: int = Field(ge=1)
    reason: str | None = None


class RegistrationData(Payload):
    id: uuid.UUID
    event_id: uuid.UUID
    profile_id: uuid.UUID
    hub: str
    version: int = Field(ge=1)


class TextPair(Payload):
    need: str
    offer: str
    similarity: float


class MatchExplanation(Payload):
    summary: str
    a_needs_b_offers: TextPair | None = None
    b_needs_a_offers: TextPair | None = None


class MatchData(Payload):
    pair_id: str
    profile_a: uuid.UUID
    profile_b: uuid.UUID
    hub_a: str
    hub_b: str
    version: int = Field(ge=1)
    score: float = Field(ge=0.0, le=1.0)
    components: dict[str, float] = Field(default_factory=dict)
    explanation: MatchExplanation
    event_id: uuid.UUID | None = None


class MatchWithdrawnData(Payload):
    pair_id: str
    profile_a: uuid.UUID
    profile_b: uuid.UUID
    hub_a: str
    hub_b: str
    version: int = Field(ge=1)
    reason: str


class MeetingData(Payload):
    """A scheduled 1:1 meeting. It carries what a recipient needs to act on it (title,
    place, time zone, the hubs of both sides) so consumers need no second lookup;
    ``version`` doubles as the iCalendar SEQUENCE."""

    id: uuid.UUID
    event_id: uuid.UUID
    hub: str
    version: int = Field(ge=1)
    event_title: str
    timezone: str
    profile_a: uuid.UUID
    profile_b: uuid.UUID
    hub_a: str
    hub_b: str
    starts_at: datetime
    ends_at: datetime
    table: str | None = None
    location: str | None = None
    online: bool = False
    # Who of each side attends, for an organisation whose two persons keep separate
    # agendas ("participant" or "colleague"); None: the organisation's persons together.
    person_a: str | None = None
    person_b: str | None = None


class MeetingCancelledData(Payload):
    """A meeting taken off the schedule; the time is kept so an iCalendar CANCEL can
    name the instance it cancels."""

    id: uuid.UUID
    event_id: uuid.UUID
    hub: str
    version: int = Field(ge=1)
    event_title: str
    timezone: str
    profile_a: uuid.UUID
    profile_b: uuid.UUID
    hub_a: str
    hub_b: str
    starts_at: datetime
    ends_at: datetime
    reason: str | None = None


class MeetingOutcomeData(Payload):
    id: uuid.UUID
    event_id: uuid.UUID
    version: int = Field(ge=1)
    pair_id: str
    outcome: MeetingOutcome
    rating: int | None = Field(None, ge=1, le=5)


# --------------------------------------------------------------------------- envelopes


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """CloudEvents 1.0 attributes plus Tandem's `hub` and `trace_id` extensions."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    source: str = Field(description="The producing service, e.g. /tandem/registry/demo")
    specversion: Literal["1.0"] = SPECVERSION
    time: datetime = Field(default_factory=_now)
    subject: str = Field(description="The entity id the message is about (also the key)")
    hub: str
    trace_id: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"


class ProfileUpserted(Envelope):
    type: Literal["profile.upserted"] = "profile.upserted"
    data: ProfileData


class ProfileErased(Envelope):
    type: Literal["profile.erased"] = "profile.erased"
    data: ProfileErasedData


class EventScheduled(Envelope):
    type: Literal["event.scheduled"] = "event.scheduled"
    data: EventData


class EventUpdated(Envelope):
    type: Literal["event.updated"] = "event.updated"
    data: EventData


class EventCancelled(Envelope):
    type: Literal["event.cancelled"] = "event.cancelled"
    data: EventCancelledData


class RegistrationCreated(Envelope):
    type: Literal["registration.created"] = "registration.created"
    data: RegistrationData


class RegistrationWithdrawn(Envelope):
    type: Literal["registration.withdrawn"] = "registration.withdrawn"
    data: RegistrationData


class MatchSuggested(Envelope):
    type: Literal["match.suggested"] = "match.suggested"
    data: MatchData


class MatchUpdated(Envelope):
    type: Literal["match.updated"] = "match.updated"
    data: MatchData


class MatchWithdrawn(Envelope):
    type: Literal["match.withdrawn"] = "match.withdrawn"
    data: MatchWithdrawnData


class MeetingScheduled(Envelope):
    type: Literal["meeting.scheduled"] = "meeting.scheduled"
    data: MeetingData


class MeetingCancelled(Envelope):
    type: Literal["meeting.cancelled"] = "meeting.cancelled"
    data: MeetingCancelledData


class MeetingOutcomeRecorded(Envelope):
    type: Literal["meeting.outcome_recorded"] = "meeting.outcome_recorded"
    data: MeetingOutcomeData


Message = Annotated[
    Union[  # noqa: UP007 - a discriminated union needs the Union spelling under Annotated
        ProfileUpserted,
        ProfileErased,
        EventScheduled,
        EventUpdated,
        EventCancelled,
        RegistrationCreated,
        RegistrationWithdrawn,
        MatchSuggested,
        MatchUpdated,
        MatchWithdrawn,
        MeetingScheduled,
        MeetingCancelled,
        MeetingOutcomeRecorded,
    ],
    Field(discriminator="type"),
]

MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)

# Which message types travel on which topic: the AsyncAPI document and the producers'
# own checks are derived from this single table.
TOPIC_MESSAGES: dict[str, tuple[type[Envelope], ...]] = {
    PROFILES.name: (ProfileUpserted, ProfileErased),
    EVENTS.name: (EventScheduled, EventUpdated, EventCancelled),
    REGISTRATIONS.name: (RegistrationCreated, RegistrationWithdrawn),
    MATCHES.name: (MatchSuggested, MatchUpdated, MatchWithdrawn),
    MEETINGS.name: (MeetingScheduled, MeetingCancelled, MeetingOutcomeRecorded),
}


_TOPIC_OF_TYPE: dict[type[Envelope], TopicSpec] = {
    message_type: topic for topic in ALL_TOPICS for message_type in TOPIC_MESSAGES[topic.name]
}


def topic_of(message_type: type[Envelope]) -> TopicSpec:
    """The topic a message type travels on (the producers' check comes from here)."""
    try:
        return _TOPIC_OF_TYPE[message_type]
    except KeyError:
        raise TypeError(f"{message_type.__name__} travels on no topic") from None


def parse_message(raw: bytes | str) -> Message:
    """Parse a Kafka value into its typed message; raises pydantic.ValidationError."""
    return MESSAGE_ADAPTER.validate_json(raw)


def message_type_name(message_class: type[Envelope]) -> str:
    type_field = message_class.model_fields["type"]
    return str(type_field.default)
