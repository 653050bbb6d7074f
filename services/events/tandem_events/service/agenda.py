"""A participant's agenda (as JSON and as a subscribable calendar) and each meeting's
calendar invitation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.meetings import Meeting
from tandem_events.messages import cancelled_data, meeting_data
from tandem_events.service.board import Board, load_board, meeting_view
from tandem_shared.auth import Principal
from tandem_shared.calendar import CalendarEntry, Method, calendar_bytes, meeting_entry
from tandem_shared.contracts import MeetingCancelledData, MeetingData


async def agenda(
    session: AsyncSession, event_id: uuid.UUID, registration_id: uuid.UUID
) -> dict[str, Any]:
    """One participant's meetings in time order, each with whom and where."""
    board = await load_board(session, event_id)
    meetings = []
    for meeting in board.participant_meetings(registration_id):
        other = meeting.other_side(registration_id)
        meetings.append(
            {
                **meeting_view(board, meeting),
                "with_registration": other,
                "with_organisation": board.name(other),
            }
        )
    return {
        "event_id": event_id,
        "registration_id": registration_id,
        "organisation": board.name(registration_id),
        "timezone": board.event.timezone,
        "meetings": meetings,
    }


def _entry(board: Board, meeting: Meeting, *, attendees: tuple[str, ...] = ()) -> CalendarEntry:
    title = board.event.title
    first, second = board.name(meeting.registration_a), board.name(meeting.registration_b)
    summary = f"{first} & {second} — {title}"
    description = f"1:1 meeting at table {meeting.table_label} ({title})"
    data: MeetingData | MeetingCancelledData
    if meeting.scheduled:
        data = meeting_data(board.event, meeting, board.registrations)
    else:
        data = cancelled_data(board.event, meeting, board.registrations)
    return meeting_entry(data, summary=summary, description=description, attendees=attendees)


async def agenda_ics(
    session: AsyncSession, event_id: uuid.UUID, registration_id: uuid.UUID
) -> bytes:
    """The participant's agenda as one calendar (METHOD:PUBLISH), a VEVENT per meeting."""
    board = await load_board(session, event_id)
    meetings = board.participant_meetings(registration_id)
    return calendar_bytes([_entry(board, meeting) for meeting in meetings], Method.PUBLISH)


async def meeting_ics(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, meeting_id: uuid.UUID
) -> bytes:
    """One meeting's invitation (REQUEST), or its cancellation (CANCEL, higher SEQUENCE).
    The organiser's copy names both participants as attendees."""
    board = await load_board(session, event_id)
    meeting = board.meeting(meeting_id)
    attendees: tuple[str, ...] = ()
    if principal.may_write_hub(board.event.hub):
        emails = (board.registrations[side].participant_email for side in meeting.sides)
        attendees = tuple(email for email in emails if email)
    method = Method.REQUEST if meeting.scheduled else Method.CANCEL
    return calendar_bytes([_entry(board, meeting, attendees=attendees)], method)
