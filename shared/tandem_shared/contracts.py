"""Message contracts: the one definition of every message that crosses a service boundary.

Every message is a CloudEvents 1.0 envelope (structured mode: the whole envelope is the
Kafka value) with Tandem's extensions `hub` and `trace_id` and a typed `data`. Messages
are parsed with a discriminated union on `type`. Entity messages carry the entity's
monotonically increasing `version` so consumers can drop stale ones.

Compatibility: additive changes keep the topic (consumers ignore unknown fields); a
breaking change gets a new `.v2` topic.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SPECVERSION: Literal["1.0"] = "1.0"


# --------------------------------------------------------------------------- topics
#
# Every topic has exactly one writing hub, and its name says which (see docs/federation.md):
#
#   tandem.<hub>.<family>.v1          hub-local: everything the hub's services exchange;
#                                     never leaves the hub
#   tandem.network.<hub>.<family>.v1  what <hub> shared with the network, nothing personal
#
# So a topic's name is its provenance, per-topic ACLs can say who writes it, and mirrors
# cannot loop. A family is the kind of entity (profiles, matches, ...); `TopicSpec` holds
# what all topics of a family have in common.

NETWORK = "network"  # the second segment of a network topic; no hub may be called this
HUB_ID = r"[a-z0-9][a-z0-9-]{0,63}"  # the registry's hub slug
_HUB_ID = re.compile(rf"^{HUB_ID}$")


class Cleanup(StrEnum):
    COMPACT = "compact"
    DELETE = "delete"


class Scope(StrEnum):
    LOCAL = "local"  # the hub's own topics: never leave the hub
    NETWORK = "network"  # what the hub shares with every other hub


class TopicSpec(BaseModel):
    """A topic family: each hub writes its own local topic of it, and, for a family the
    network shares, its own network topic."""

    model_config = ConfigDict(frozen=True)

    family: str
    key: str
    cleanup: Cleanup
    description: str
    shared_with_network: bool = False

    def topic(self, hub: str, scope: Scope = Scope.LOCAL) -> str:
        return topic_name(self.family, hub, scope)

    def scopes(self) -> tuple[Scope, ...]:
        return (Scope.LOCAL, Scope.NETWORK) if self.shared_with_network else (Scope.LOCAL,)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


def check_hub_id(hub: str) -> str:
    """`hub` if it can name topics: a registry slug, and not the network's own segment."""
    if not _HUB_ID.match(hub) or hub == NETWORK:
        raise ValueError(f"{hub!r} is not a hub id (a-z, 0-9, -; and not {NETWORK!r})")
    return hub


def topic_name(family: str, hub: str, scope: Scope = Scope.LOCAL) -> str:
    """The one topic of `family` that `hub` writes in `scope`."""
    check_hub_id(hub)
    if scope is Scope.NETWORK:
        return f"tandem.{NETWORK}.{hub}.{family}.v1"
    return f"tandem.{hub}.{family}.v1"


@dataclass(frozen=True)
class TopicOwner:
    """Whose a topic is, read from its name: the one hub that writes it."""

    hub: str
    family: str
    scope: Scope


_TOPIC = re.compile(
    rf"^tandem\.(?:(?P<network>{NETWORK})\.)?(?P<hub>{HUB_ID})\.(?P<family>[a-z_]+)\.v1$"
)


def topic_owner(topic: str, prefix: str = "") -> TopicOwner | None:
    """The owner of a (physical, `prefix`ed) topic, or None for a name that is not one of
    Tandem's topics (a dead-letter topic included)."""
    if not topic.startswith(prefix):
        return None
    found = _TOPIC.match(topic[len(prefix) :])
    if found is None or found["hub"] == NETWORK:
        return None
    scope = Scope.NETWORK if found["network"] else Scope.LOCAL
    return TopicOwner(hub=found["hub"], family=found["family"], scope=scope)


PROFILES = TopicSpec(
    family="profiles",
    key="profile id",
    cleanup=Cleanup.COMPACT,
    description=(
        "Organisation profiles; erasure is profile.erased followed by a tombstone. The "
        "network topic carries only the profiles the hub shares with the network (withdrawn "
        "from it like an erasure), never contact details."
    ),
    shared_with_network=True,
)
EVENTS = TopicSpec(
    family="events",
    key="event id",
    cleanup=Cleanup.COMPACT,
    description="Events (world café, workshop, matching event, ...).",
)
REGISTRATIONS = TopicSpec(
    family="registrations",
    key="event id",
    cleanup=Cleanup.DELETE,
    description="Registrations of organisations to events.",
)
MATCHES = TopicSpec(
    family="matches",
    key="pair id (min(a,b):max(a,b))",
    cleanup=Cleanup.COMPACT,
    description=(
        "Suggested partner matches with score, components and explanation, as scored by "
        "the hub's own matcher (explanations quote hub-only text: never shared)."
    ),
)
MEETINGS = TopicSpec(
    family="meetings",
    key="event id",
    cleanup=Cleanup.DELETE,
    description="Meeting schedule changes and outcomes.",
)
ALL_TOPICS: tuple[TopicSpec, ...] = (PROFILES, EVENTS, REGISTRATIONS, MATCHES, MEETINGS)
_FAMILIES = {spec.family: spec for spec in ALL_TOPICS}


def family_of(name: str) -> TopicSpec | None:
    return _FAMILIES.get(name)


def local_dead_letter_topic(topic: str, hub: str, prefix: str = "") -> str:
    """Where `hub`'s consumer dead-letters a record of `topic`: beside its own local topic of
    the same family, so it never writes a topic another hub owns (a network topic's
    dead letters stay with the hub that could not read them)."""
    owner = topic_owner(topic, prefix)
    if owner is None:
        return dead_letter_topic(topic)
    return dead_letter_topic(prefix + topic_name(owner.family, hub))


def hub_topics(hub: str) -> list[tuple[TopicSpec, str]]:
    """Every topic `hub` writes (and so creates): its local topic of every family and its
    network topic of every family the network shares."""
    return [(spec, spec.topic(hub, scope)) for spec in ALL_TOPICS for scope in spec.scopes()]


def subscription_pattern(specs: Sequence[TopicSpec], local_hubs: Sequence[str], prefix: str) -> str:
    """The regex a consumer of `specs` subscribes with: the local topics of the hubs it
    belongs to, and every other hub's network topics (so a hub that joins later is read
    without reconfiguring anyone)."""
    hubs = "|".join(re.escape(check_hub_id(hub)) for hub in local_hubs)
    local = "|".join(re.escape(spec.family) for spec in specs)
    shared = "|".join(re.escape(spec.family) for spec in specs if spec.shared_with_network)
    alternatives = [rf"tandem\.(?:{hubs})\.(?:{local})\.v1"]
    if shared:
        # Not its own hubs' network topics: their local topics already carry all of it.
        others = rf"(?!(?:{NETWORK}|{hubs})\.){HUB_ID}"
        alternatives.append(rf"tandem\.{NETWORK}\.{others}\.(?:{shared})\.v1")
    return rf"^{re.escape(prefix)}(?:{'|'.join(alternatives)})$"


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

# Which message types travel on which topic family: the AsyncAPI document, the producers'
# own checks and the consumers' provenance check are derived from this single table.
TOPIC_MESSAGES: dict[str, tuple[type[Envelope], ...]] = {
    PROFILES.family: (ProfileUpserted, ProfileErased),
    EVENTS.family: (EventScheduled, EventUpdated, EventCancelled),
    REGISTRATIONS.family: (RegistrationCreated, RegistrationWithdrawn),
    MATCHES.family: (MatchSuggested, MatchUpdated, MatchWithdrawn),
    MEETINGS.family: (MeetingScheduled, MeetingCancelled, MeetingOutcomeRecorded),
}


_TOPIC_OF_TYPE: dict[type[Envelope], TopicSpec] = {
    message_type: topic for topic in ALL_TOPICS for message_type in TOPIC_MESSAGES[topic.family]
}


def topic_of(message_type: type[Envelope]) -> TopicSpec:
    """The topic family a message type travels on (the producers' check comes from here)."""
    try:
        return _TOPIC_OF_TYPE[message_type]
    except KeyError:
        raise TypeError(f"{message_type.__name__} travels on no topic") from None


def network_profile(data: ProfileData) -> ProfileData | None:
    """What the network topic may carry of a profile: the profile if its hub shares it with
    the network, else nothing at all (not even its id). `ProfileData` has no contact or
    personal field; every field it has is one the hub agreed to show other hubs."""
    return data if data.sharing is Sharing.NETWORK else None


def provenance_problem(message: Envelope, owner: TopicOwner) -> str | None:
    """Why `message` may not be believed from a topic that `owner.hub` writes, or None.

    A topic has one writer, so a message about another hub's entity on it is a forgery or
    a bug: the envelope's `hub` and the `hub` of its data (where it has one) must both be
    the topic's owner, and the message must be of the topic's family. (That a known id never
    moves to another hub is checked by the consumers that know the ids.)"""
    family = topic_of(type(message)).family
    if family != owner.family:
        return f"a {message_type_name(type(message))} message does not travel on {owner.family}"
    data = getattr(message, "data", None)
    # A registration's `hub` is the registering organisation's, which may be another hub's
    # (the event's hub, the envelope's, owns the registration).
    data_hub = None if isinstance(data, RegistrationData) else getattr(data, "hub", None)
    for what, hub in (("envelope", message.hub), ("data", data_hub)):
        if hub is not None and hub != owner.hub:
            return f"{what} hub {hub!r} does not own this topic (hub {owner.hub!r} writes it)"
    return None


def moved_hub_problem(entity_id: object, known_hub: str | None, claimed_hub: str) -> str | None:
    """Why a message may not move a known entity to another hub, or None: an id belongs
    to the hub that first published it, for good."""
    if known_hub is None or known_hub == claimed_hub:
        return None
    return (
        f"{entity_id} belongs to hub {known_hub!r}; "
        f"a message from hub {claimed_hub!r} may not move it"
    )


def parse_message(raw: bytes | str) -> Message:
    """Parse a Kafka value into its typed message; raises pydantic.ValidationError."""
    return MESSAGE_ADAPTER.validate_json(raw)


def message_type_name(message_class: type[Envelope]) -> str:
    type_field = message_class.model_fields["type"]
    return str(type_field.default)
