"""What a feed notification says (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

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


def render_event(event: EventData) -> Rendered:
    when = f"{event.starts_at.astimezone(ZoneInfo(event.timezone)):%Y-%m-%d %H:%M}"
    sectors = ", ".join(sector.value for sector in event.sectors)
    return Rendered(
        title=f"New event: {event.title}",
        body=f"{when} {event.timezone}; for {sectors}",
    )
