"""What a feed notification says (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tandem_notifier.domain.i18n import strings
from tandem_shared.contracts import (
    EventData,
    MatchData,
    MatchWithdrawnData,
    MeetingCancelledData,
    MeetingData,
)


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


def render_match(match: MatchData, name_a: str, name_b: str, *, updated: bool) -> Rendered:
    verb = "Updated match" if updated else "New partner match"
    return Rendered(
        title=f"{verb}: {name_a} ↔ {name_b} ({match.score:.0%})",
        body=f"Why: {match.explanation.summary}",
    )


def render_withdrawal(withdrawal: MatchWithdrawnData, name_a: str, name_b: str) -> Rendered:
    return Rendered(
        title=f"Match withdrawn: {name_a} ↔ {name_b}",
        body=f"This match is no longer suggested ({withdrawal.reason}).",
    )


def render_meeting(
    meeting: MeetingData | MeetingCancelledData, name_a: str, name_b: str
) -> Rendered:
    when = f"{meeting.starts_at.astimezone(ZoneInfo(meeting.timezone)):%Y-%m-%d %H:%M}"
    if isinstance(meeting, MeetingCancelledData):
        reason = f" ({meeting.reason})" if meeting.reason else ""
        return Rendered(
            title=f"Meeting cancelled: {name_a} ↔ {name_b}",
            body=f"{meeting.event_title}, {when} {meeting.timezone}{reason}",
        )
    place = ", ".join(
        p for p in (meeting.location, meeting.table and f"table {meeting.table}") if p
    )
    return Rendered(
        title=f"Meeting scheduled: {name_a} ↔ {name_b}",
        body=f"{meeting.event_title}, {when} {meeting.timezone}" + (f", {place}" if place else ""),
    )


def _event_when(event: EventData) -> str:
    return f"{event.starts_at.astimezone(ZoneInfo(event.timezone)):%Y-%m-%d %H:%M} {event.timezone}"


def render_event(event: EventData) -> Rendered:
    sectors = ", ".join(sector.value for sector in event.sectors)
    return Rendered(
        title=f"New event: {event.title}",
        body=f"{_event_when(event)}; for {sectors}",
    )


def render_event_update(event: EventData, changes: Sequence[str] | None) -> Rendered:
    """The new state of a changed event, and what changed when the earlier one is known."""
    place = event.venue or ("online" if event.online else "")
    words = strings("en")  # the feed is in English; emails use the recipient's language
    names = ", ".join(words[f"change.{change}"] for change in changes or ())
    changed = f"; changed: {names}" if names else ""
    return Rendered(
        title=f"Event changed: {event.title}",
        body=f"{_event_when(event)}" + (f", {place}" if place else "") + changed,
    )


def render_event_cancelled(event: EventData, reason: str | None) -> Rendered:
    return Rendered(
        title=f"Event cancelled: {event.title}",
        body=_event_when(event) + (f" ({reason})" if reason else ""),
    )
