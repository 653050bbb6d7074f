"""iCalendar (RFC 5545) invitations for meetings, shared by the events service (exports)
and the notifier (email attachments) so both produce byte-for-byte the same invite.

A meeting's UID is stable for its whole life and its SEQUENCE is the meeting's version,
so a calendar client updates or cancels the entry it already holds instead of adding a
second one. Times carry the event's TZID with the matching VTIMEZONE."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress

from tandem_shared.contracts import MeetingCancelledData, MeetingData

PRODID = "-//Tandem//Matchmaking//EN"
UID_DOMAIN = "tandem.meetings"


class Method(StrEnum):
    PUBLISH = "PUBLISH"
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    timezone: str
    summary: str
    location: str | None = None
    description: str | None = None
    cancelled: bool = False
    # RFC 5546: a REQUEST or CANCEL names its organizer and attendees (email addresses).
    organizer: str | None = None
    attendees: tuple[str, ...] = ()


def meeting_uid(meeting_id: object) -> str:
    return f"{meeting_id}@{UID_DOMAIN}"


def meeting_entry(
    meeting: MeetingData | MeetingCancelledData,
    *,
    summary: str | None = None,
    description: str | None = None,
    organizer: str | None = None,
    attendees: tuple[str, ...] = (),
) -> CalendarEntry:
    """The calendar entry of a scheduled or cancelled meeting."""
    cancelled = isinstance(meeting, MeetingCancelledData)
    location = None
    if isinstance(meeting, MeetingData):
        place = [part for part in (meeting.location, _table_label(meeting.table)) if part]
        location = ", ".join(place) or None
    return CalendarEntry(
        uid=meeting_uid(meeting.id),
        sequence=meeting.version,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        timezone=meeting.timezone,
        summary=summary or f"1:1 meeting — {meeting.event_title}",
        location=location,
        description=description,
        cancelled=cancelled,
        organizer=organizer,
        attendees=attendees,
    )


def calendar_bytes(entries: Iterable[CalendarEntry], method: Method = Method.PUBLISH) -> bytes:
    """One VCALENDAR holding every entry, with a VTIMEZONE for each zone used."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method.value)
    for entry in entries:
        calendar.add_component(_event(entry))
    calendar.add_missing_timezones()
    ics: bytes = calendar.to_ical()
    return ics


def _event(entry: CalendarEntry) -> Event:
    zone = ZoneInfo(entry.timezone)
    event = Event()
    event.add("uid", entry.uid)
    event.add("sequence", entry.sequence)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", entry.starts_at.astimezone(zone))
    event.add("dtend", entry.ends_at.astimezone(zone))
    event.add("summary", entry.summary)
    event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    if entry.location:
        event.add("location", entry.location)
    if entry.description:
        event.add("description", entry.description)
    if entry.organizer:
        event.add("organizer", vCalAddress(f"mailto:{entry.organizer}"))
    for attendee in entry.attendees:
        event.add("attendee", vCalAddress(f"mailto:{attendee}"))
    return event


def _table_label(table: str | None) -> str | None:
    return f"table {table}" if table else None
