"""What a staff member subscribes to and how they want to hear about it (pure validation).

Subscriptions are stored as (scope, target) strings; these models are their checked shape.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from tandem_shared.contracts import OrgKind

# The channels a staff member chooses (webhooks are the hub's).
PersonalChannel = Literal["feed", "email"]
Language = Literal["en", "pl", "de", "sl"]
Delivery = Literal["immediate", "daily_digest"]
HubCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
# Deliberately lenient (one "@", no spaces): the registry's own dev accounts use hosts
# without a dot ("admin@demo.local" is fine, so is "staff@demo"); the SMTP server has the
# final word and a refusal is recorded on the delivery.
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,255}$"
EmailAddress = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=320)]
MAX_SUBSCRIPTIONS = 200


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSubscription(_Strict):
    scope: Literal["hub"]
    hub: HubCode


class SectorSubscription(_Strict):
    scope: Literal["sector"]
    kind: OrgKind
    subsector: Annotated[str, Field(min_length=1, max_length=60)] | None = None


class ProfileSubscription(_Strict):
    scope: Literal["profile"]
    profile_id: uuid.UUID


class NetworkSubscription(_Strict):
    scope: Literal["network"]


SubscriptionItem = Annotated[
    HubSubscription | SectorSubscription | ProfileSubscription | NetworkSubscription,
    Field(discriminator="scope"),
]


class Subscriptions(_Strict):
    items: Annotated[list[SubscriptionItem], Field(max_length=MAX_SUBSCRIPTIONS)]

    @field_validator("items")
    @classmethod
    def _no_repeats(cls, items: list[SubscriptionItem]) -> list[SubscriptionItem]:
        if len(set(items)) != len(items):
            raise ValueError("each subscription may appear only once")
        return items


def target_of(item: SubscriptionItem) -> str:
    """The stored target string of a subscription."""
    if isinstance(item, HubSubscription):
        return item.hub
    if isinstance(item, SectorSubscription):
        return item.kind.value + (f"/{item.subsector}" if item.subsector else "")
    if isinstance(item, ProfileSubscription):
        return str(item.profile_id)
    return "*"


def item_of(scope: str, target: str) -> SubscriptionItem:
    """The subscription a stored (scope, target) pair stands for."""
    if scope == "hub":
        return HubSubscription(scope="hub", hub=target)
    if scope == "sector":
        kind, _, subsector = target.partition("/")
        return SectorSubscription(scope="sector", kind=OrgKind(kind), subsector=subsector or None)
    if scope == "profile":
        return ProfileSubscription(scope="profile", profile_id=uuid.UUID(target))
    return NetworkSubscription(scope="network")


class QuietHours(_Strict):
    start: time = Field(description="local time, e.g. 22:00")
    end: time = Field(description="local time, e.g. 07:00 (may be before start: overnight)")
    timezone: str = Field("UTC", description="IANA time zone, e.g. Europe/Warsaw")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        if zone not in available_timezones():
            raise ValueError(f"unknown time zone {zone!r}; use an IANA name like Europe/Warsaw")
        return zone

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")
        return self


class Preferences(_Strict):
    channels: Annotated[list[PersonalChannel], Field(min_length=1)] = ["feed"]
    delivery: Delivery = "immediate"
    language: Language = "en"
    daily_cap: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        None, description="most non-transactional alerts per day; none means no cap"
    )
    quiet_hours: QuietHours | None = None
    email: EmailAddress | None = Field(
        None,
        description="where email goes; left out, the token's subject is used when it is an "
        "email address (registry tokens carry the account's email as `sub`)",
    )

    @model_serializer(mode="wrap")
    def _leave_out_unset_email(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # `email` is optional and new: a client that never set it sees the document it wrote.
        data: dict[str, Any] = handler(self)
        if data.get("email") is None:
            data.pop("email", None)
        return data

    @field_validator("channels")
    @classmethod
    def _distinct(cls, channels: list[PersonalChannel]) -> list[PersonalChannel]:
        if len(set(channels)) != len(channels):
            raise ValueError("each channel may appear only once")
        return channels


def preferences_values(preferences: Preferences) -> dict[str, object]:
    """The stored columns of `preferences`."""
    quiet = preferences.quiet_hours
    return {
        "channels": list(preferences.channels),
        "delivery": preferences.delivery,
        "language": preferences.language,
        "daily_cap": preferences.daily_cap,
        "quiet_start": quiet.start if quiet else None,
        "quiet_end": quiet.end if quiet else None,
        "quiet_timezone": quiet.timezone if quiet else None,
        "email": preferences.email,
    }


def preferences_of(row: Mapping[Any, Any]) -> Preferences:
    quiet = None
    if row["quiet_start"] is not None:
        quiet = QuietHours(
            start=row["quiet_start"], end=row["quiet_end"], timezone=row["quiet_timezone"]
        )
    return Preferences(
        channels=row["channels"],
        delivery=row["delivery"],
        language=row["language"],
        daily_cap=row["daily_cap"],
        quiet_hours=quiet,
        email=row["email"],
    )


def email_address(preferences: Preferences, subject: str) -> str | None:
    """Where this staff member's email goes: the explicit address, else the token subject
    when it is an address, else nowhere."""
    if preferences.email:
        return preferences.email
    return subject if re.fullmatch(EMAIL_PATTERN, subject) else None


def without_channel(preferences: Preferences, channel: PersonalChannel) -> Preferences:
    """The preferences with `channel` stopped. The feed stays when nothing else would: it
    is the hub's shared inbox, which every staff member has anyway."""
    rest: list[PersonalChannel] = [c for c in preferences.channels if c != channel] or ["feed"]
    return preferences.model_copy(update={"channels": rest})
