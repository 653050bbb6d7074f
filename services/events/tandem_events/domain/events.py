"""The event contract and its time arithmetic (pure: pydantic and zoneinfo only).

An event's meeting slots are numbered 0, 1, ... across its sessions in time order; a
session's local start time is in the event's time zone, so slot times follow daylight
saving time changes of that zone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pycountry
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    UrlConstraints,
    field_validator,
    model_validator,
)

from tandem_shared.contracts import EventKind, OrgKind
from tandem_shared.patch import left_out_unless_sent

# The ISO 639-1 two-letter codes (pycountry's copy of the standard).
ISO_639_1 = frozenset(
    code for language in pycountry.languages if (code := getattr(language, "alpha_2", None))
)
MAX_SLOTS = 200
MAX_URL_LENGTH = 2048  # the url column's size
# Event times must lie in a range every zone offset and PostgreSQL can represent.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
TableLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class Strict(BaseModel):
    """Input models: unknown fields are refused, and no text may hold a NUL character
    (PostgreSQL cannot store one: it would otherwise surface as a 500)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        check_no_nul(value)
        return value


def check_no_nul(value: Any) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_no_nul(item)


def check_moment(value: datetime) -> datetime:
    """A time between 2000 and 2200 (naive ones too, whatever their zone turns out to be)."""
    naive = value.replace(tzinfo=None)
    if (
        not EARLIEST.replace(tzinfo=None) + timedelta(days=1)
        <= naive
        < LATEST.replace(tzinfo=None) - timedelta(days=1)
    ):
        raise ValueError("times must lie between the years 2000 and 2200")
    return value


def check_timezone(value: str) -> str:
    """An IANA zone name such as Europe/Warsaw (not an abbreviation or an offset)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA time zone {value!r}, e.g. Europe/Warsaw") from error
    if value not in available_timezones() and value != "UTC":
        raise ValueError(f"unknown IANA time zone {value!r}, e.g. Europe/Warsaw")
    return value


def check_languages(value: list[str]) -> list[str]:
    bad = [code for code in value if code not in ISO_639_1]
    if bad:
        raise ValueError(f"languages must be ISO 639-1 codes such as 'pl' or 'en': {bad}")
    return list(dict.fromkeys(value))


def check_sectors(value: list[OrgKind]) -> list[OrgKind]:
    """Each sector once, in OrgKind's order: the sectors are a set, so sending them in
    another order (or twice) is no change and gives no new version."""
    return [kind for kind in OrgKind if kind in value]


class SessionIn(Strict):
    """A block of equal meeting slots: `slots` slots of `slot_minutes`, each followed by
    `break_minutes`. `starts_at` without an offset is local time in the event's zone."""

    starts_at: datetime = Field(description="the first slot's start; without an offset: local")
    slot_minutes: int = Field(ge=5, le=240, description="one meeting's length", examples=[20])
    break_minutes: int = Field(0, ge=0, le=240, description="the pause after each slot")
    slots: int = Field(ge=1, le=MAX_SLOTS, description="how many slots in a row", examples=[12])

    @field_validator("starts_at")
    @classmethod
    def _in_range(cls, value: datetime) -> datetime:
        return check_moment(value)


class EventFields(Strict):
    title: str = Field(
        min_length=1,
        max_length=200,
        description="the event's name, as participants see it",
        examples=["Heritage meets 3D: matchmaking in Rzeszów"],
    )
    kind: EventKind = Field(description="the event's format")
    description: str = Field("", max_length=5000, description="what the event is about")
    online: bool = Field(False, description="online events need a url, on-site ones a venue")
    venue: str | None = Field(None, min_length=1, max_length=200, description="the place's name")
    address: str | None = Field(None, min_length=1, max_length=500, description="street, city")
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=MAX_URL_LENGTH)] | None = Field(
        None, description="where to join an online event, or the event's page"
    )
    timezone: str = Field(
        description="IANA zone; times without an offset are local to it",
        examples=["Europe/Warsaw"],
    )
    starts_at: datetime = Field(description="without an offset: local time in `timezone`")
    ends_at: datetime = Field(description="after starts_at; without an offset: local time")
    capacity: int | None = Field(
        None, ge=1, le=100_000, description="most registrations accepted (null: no limit)"
    )
    languages: list[str] = Field(
        default_factory=list, max_length=20, description="ISO 639-1 codes spoken at the event"
    )
    sectors: list[OrgKind] = Field(
        default_factory=list,
        max_length=20,
        description="the kinds of organisation the event is for; staff subscribed to any "
        "of them are told of it",
    )
    sessions: list[SessionIn] = Field(
        default_factory=list,
        max_length=50,
        description="the blocks of one-to-one meeting slots (matching events)",
    )
    tables: list[TableLabel] | int = Field(
        default_factory=list, description="table labels, or a count (labels 1..n)"
    )
    break_spread: int | None = Field(
        None,
        ge=0,
        le=MAX_SLOTS,
        description="scheduling: the most the number of breaks may differ between two "
        "participants' agendas (the published forum model uses 2); no limit if absent",
    )

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _in_range(cls, value: datetime) -> datetime:
        return check_moment(value)

    @field_validator("languages")
    @classmethod
    def _iso_languages(cls, value: list[str]) -> list[str]:
        return check_languages(value)

    @field_validator("sectors")
    @classmethod
    def _unique_sectors(cls, value: list[OrgKind]) -> list[OrgKind]:
        return check_sectors(value)

    @field_validator("tables")
    @classmethod
    def _table_labels(cls, value: list[str] | int) -> list[str]:
        return table_labels(value)


def table_labels(value: list[str] | int) -> list[str]:
    if isinstance(value, int):
        if not 0 <= value <= 500:
            raise ValueError("a table count must be between 0 and 500")
        return [str(number) for number in range(1, value + 1)]
    if len(value) > 500:
        raise ValueError("at most 500 tables")
    if len(set(value)) != len(value):
        raise ValueError("table labels must be unique")
    return list(value)


# The fields that say when an event takes place.
TIMING_FIELDS = frozenset({"starts_at", "ends_at", "sessions", "timezone"})


def check_not_over(ends_at: datetime, now: datetime) -> None:
    """An event is set up before it ends: one that is over takes no registrations, requests
    or schedule, so creating one, or moving one into the past, is refused (ValueError)."""
    if ends_at <= now:
        raise ValueError(
            f"the event has already ended (ends_at {ends_at.isoformat()}, now "
            f"{now.isoformat(timespec='seconds')}): give times that are still to come"
        )


def check_event(fields: dict[str, Any]) -> None:
    """The rules across fields, on the event as it would be stored; raises ValueError."""
    zone = ZoneInfo(fields["timezone"])
    starts_at = localise(fields["starts_at"], zone)
    ends_at = localise(fields["ends_at"], zone)
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if fields["online"] and not fields.get("url"):
        raise ValueError("an online event needs a url")
    if not fields["online"] and not (fields.get("venue") or fields.get("address")):
        raise ValueError("an on-site event needs a venue or an address")
    sessions = [SessionIn.model_validate(session) for session in fields["sessions"]]
    if sum(session.slots for session in sessions) > MAX_SLOTS:
        raise ValueError(f"at most {MAX_SLOTS} meeting slots in all sessions")
    times = slot_times(sessions, fields["timezone"])
    if times and (times[0][0] < starts_at or times[-1][1] > ends_at):
        raise ValueError("every session's slots must lie between starts_at and ends_at")
    if any(later[0] < earlier[1] for earlier, later in pairwise(times)):
        raise ValueError("sessions must not overlap and must be in time order")


class EventIn(EventFields):
    @model_validator(mode="after")
    def _consistent(self) -> EventIn:
        check_event(self.model_dump())
        return self


class EventPatch(EventFields):
    """A partial update: any subset of the fields, under the same rules once applied."""

    title: str = left_out_unless_sent(
        min_length=1, max_length=200, description="the event's name, as participants see it"
    )
    kind: EventKind = left_out_unless_sent(description="the event's format")
    timezone: str = left_out_unless_sent(description="IANA zone")
    starts_at: datetime = left_out_unless_sent(description="without an offset: local time")
    ends_at: datetime = left_out_unless_sent(description="without an offset: local time")


class EventQuery(Strict):
    """Filters of `GET /v1/events`; they combine with AND."""

    kind: EventKind | None = None
    hub: str | None = Field(None, min_length=1, max_length=64)
    status: str | None = Field(None, pattern="^(active|cancelled)$")
    sector: OrgKind | None = Field(None, description="events for this sector (among others)")
    starts_after: datetime | None = Field(None, description="naive times are UTC")
    starts_before: datetime | None = Field(None, description="naive times are UTC")
    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(20, ge=1, le=100)

    @field_validator("starts_after", "starts_before")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        return None if value is None else check_moment(value)


class CancelIn(Strict):
    reason: str | None = Field(None, max_length=500)


class EventStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Event:
    """An event as stored (one row of `events`)."""

    id: uuid.UUID
    hub: str
    version: int
    title: str
    kind: EventKind
    description: str
    status: EventStatus
    cancel_reason: str | None
    online: bool
    venue: str | None
    address: str | None
    url: str | None
    timezone: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    languages: list[str]
    sectors: list[str]
    # Each session as stored: SessionIn's fields, `starts_at` an ISO string with its offset.
    sessions: list[dict[str, Any]]
    tables: list[str]
    scheduled_at: datetime | None
    schedule_solver: str | None
    schedule_revision: int
    repair_pending: str | None
    created_at: datetime
    updated_at: datetime
    break_spread: int | None = None

    @property
    def place(self) -> str | None:
        """Where the event happens, as one line (venue and address, or the URL)."""
        if self.online:
            return self.url or None
        return ", ".join(part for part in (self.venue, self.address) if part) or None

    @property
    def slot_count(self) -> int:
        return sum(int(session["slots"]) for session in self.sessions)

    def slot_times(self) -> list[tuple[datetime, datetime]]:
        sessions = [SessionIn.model_validate(session) for session in self.sessions]
        return slot_times(sessions, self.timezone)

    def session_of_slot(self) -> dict[int, int]:
        return session_of_slot([SessionIn.model_validate(session) for session in self.sessions])

    def hosts_matches(self, now: datetime) -> bool:
        """An active matching event that has not ended: the matcher's pairs meet there."""
        return (
            self.status == EventStatus.ACTIVE
            and self.kind == EventKind.MATCHING_EVENT
            and self.ends_at > now
        )

    def stored_fields(self) -> dict[str, Any]:
        """The event's input fields as stored, to merge a patch into."""
        return {name: getattr(self, name) for name in EventIn.model_fields}


def event_columns(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated fields as stored: times aware (naive ones read in the event's zone),
    sessions as JSON (their start an ISO string with its offset)."""
    zone = ZoneInfo(fields["timezone"])
    sessions = [SessionIn.model_validate(session) for session in fields["sessions"]]
    return {
        **fields,
        "kind": EventKind(fields["kind"]),
        "sectors": [OrgKind(sector).value for sector in fields["sectors"]],
        "url": str(fields["url"]) if fields.get("url") else None,
        "starts_at": localise(fields["starts_at"], zone),
        "ends_at": localise(fields["ends_at"], zone),
        "sessions": [
            {
                **session.model_dump(mode="json"),
                "starts_at": localise(session.starts_at, zone).isoformat(),
            }
            for session in sessions
        ],
        "tables": table_labels(fields["tables"]),
    }


def localise(moment: datetime, zone: ZoneInfo) -> datetime:
    """An aware datetime; a naive one is read as local time in `zone`."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def slot_times(sessions: list[SessionIn], timezone: str) -> list[tuple[datetime, datetime]]:
    """(start, end) of every slot in index order, aware in the event's zone.

    Slots are laid out on the local wall clock (a 09:00 session on the day clocks change
    still has its slots at 09:00, 09:20, ...), then given the zone's offset at that time."""
    zone = ZoneInfo(timezone)
    times: list[tuple[datetime, datetime]] = []
    for session in sessions:
        start = localise(session.starts_at, zone).astimezone(zone).replace(tzinfo=None)
        step = timedelta(minutes=session.slot_minutes + session.break_minutes)
        length = timedelta(minutes=session.slot_minutes)
        for index in range(session.slots):
            local = start + index * step
            times.append((local.replace(tzinfo=zone), (local + length).replace(tzinfo=zone)))
    return times


def day_of_slot(times: list[tuple[datetime, datetime]]) -> dict[int, int]:
    """Slot index → day number (0 = the first local date with a slot)."""
    dates: dict[date, int] = {}
    days: dict[int, int] = {}
    for index, (start, _) in enumerate(times):
        days[index] = dates.setdefault(start.date(), len(dates))
    return days


def session_of_slot(sessions: list[SessionIn]) -> dict[int, int]:
    """Slot index → session number, in the order the sessions are listed (a meeting window
    or a per-session cap names sessions by this number)."""
    found: dict[int, int] = {}
    for number, session in enumerate(sessions):
        for _ in range(session.slots):
            found[len(found)] = number
    return found
