"""A participant's agenda (as JSON and as a subscribable calendar) and each meeting's
calendar invitation, read by the organiser or the participant's hub (`domain.audience`)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.audience import Audience
from tandem_events.domain.meetings import Meeting
from tandem_events.messages import cancelled_data, meeting_data
from tandem_events.service.board import Board, load_board, meeting_view
from tandem_shared.auth import Principal
from tandem_shared.calendar import CalendarEntry, Method, calendar_bytes, meeting_entry
from tandem_shared.contracts import MeetingCancelledData, MeetingData
from tandem_shared.errors import Forbidden


def _follow(board: Board, audience: Audience, registration_id: uuid.UUID) -> list[Meeting]:
    """The participant's meetings, if the reader may follow the participant."""
    meetings = board.participant_meetings(registration_id)
    if not audience.follows(board.attendee(registration_id)):
        raise Forbidden("only the organising hub or the participant's hub may read the agenda")
    return meetings


async def agenda(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, registration_id: uuid.UUID
) -> dict[str, Any]:
    """One participant's meetings in time order, each with whom and where."""
    board = await load_board(session, event_id)
    audience = board.audience(principal)
    meetings = []
    for meeting in _follow(board, audience, registration_id):
        other = meeting.other_side(registration_id)
        meetings.append(
            {
                **meeting_view(board, meeting, audience),
                "with_registration": other,
                "with_organisation": board.name(other, audience),
            }
        )
    return {
        "event_id": event_id,
        "registration_id": registration_id,
        "organisation": board.name(registration_id, audience),
        "timezone": board.event.timezone,
        "meetings": meetings,
    }


def _entry(
    board: Board, audience: Audience, meeting: Meeting, *, attendees: tuple[str, ...] = ()
) -> CalendarEntry:
    title = board.event.title
    first, second = (board.name(side, audience) for side in meeting.sides)
    summary = f"{first} & {second} — {title}"
    description = f"1:1 meeting at table {meeting.table_label} ({title})"
    data: MeetingData | MeetingCancelledData
    if meeting.scheduled:
        data = meeting_data(board.event, meeting, board.registrations)
    else:
        data = cancelled_data(board.event, meeting, board.registrations)
    return meeting_entry(data, summary=summary, description=description, attendees=attendees)


async def agenda_ics(
    session: AsyncSession,
    principal: Principal | None,
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
) -> bytes:
    """The participant's agenda as one calendar (METHOD:PUBLISH), a VEVENT per meeting.
    Without a principal (a signed link for this agenda) it reads as the participant's hub."""
    board = await load_board(session, event_id)
    if principal is None:
        audience = Audience.participant(board.attendee(registration_id).hub)
    else:
        audience = board.audience(principal)
    meetings = _follow(board, audience, registration_id)
    entries = [_entry(board, audience, meeting) for meeting in meetings]
    return calendar_bytes(entries, Method.PUBLISH)


async def meeting_ics(
    session: AsyncSession,
    principal: Principal,
    event_id: uuid.UUID,
    meeting_id: uuid.UUID,
    *,
    organizer: str,
) -> bytes:
    """One meeting's invitation (REQUEST), or its cancellation (CANCEL, higher SEQUENCE),
    for the organiser and both sides' hubs. The organiser's copy names as attendees the
    participants whose contacts it may see."""
    board = await load_board(session, event_id)
    audience = board.audience(principal)
    meeting = board.meeting(meeting_id)
    if not board.sees_pair(audience, *meeting.sides):
        raise Forbidden("only the organising hub or the two participants' hubs may read this")
    emails = (
        board.registrations[side].participant_email
        for side in meeting.sides
        if audience.sees_contact(board.attendee(side))
    )
    attendees = tuple(email for email in emails if email)
    method = Method.REQUEST if meeting.scheduled else Method.CANCEL
    entry = _entry(board, audience, meeting, attendees=attendees)
    return calendar_bytes([replace(entry, organizer=organizer)], method)
