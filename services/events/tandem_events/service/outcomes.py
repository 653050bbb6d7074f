"""After the event: how each meeting went, and the organiser's figures."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.outcomes import EventStats, OutcomeIn, event_stats
from tandem_events.messages import publish
from tandem_events.repository import outcomes as repository
from tandem_events.repository import requests as requests_repository
from tandem_events.repository import schedule as schedule_repository
from tandem_events.repository import suggestions as suggestions_repository
from tandem_events.service.board import load_board, meeting_view
from tandem_events.service.events import writable_event
from tandem_shared.auth import Principal
from tandem_shared.contracts import MeetingOutcomeData, MeetingOutcomeRecorded, pair_id
from tandem_shared.errors import Conflict, Forbidden


async def record_outcome(
    session: AsyncSession,
    principal: Principal,
    event_id: uuid.UUID,
    meeting_id: uuid.UUID,
    body: OutcomeIn,
) -> dict[str, Any]:
    """The organiser or either side's hub records how the meeting went; each record is
    published as `meeting.outcome_recorded` (the matcher learns from it)."""
    board = await load_board(session, event_id)
    meeting = board.meeting(meeting_id)
    a, b = (board.registrations[side] for side in meeting.sides)
    if not any(principal.may_write_hub(hub) for hub in (board.event.hub, a.hub, b.hub)):
        raise Forbidden("only the organising hub or a participant's hub may record the outcome")
    if not meeting.scheduled:
        raise Conflict("the meeting was cancelled")
    meeting = await repository.record_outcome(session, meeting_id, body.outcome, body.rating)
    data = MeetingOutcomeData(
        id=meeting_id,
        event_id=event_id,
        version=meeting.outcome_version,
        pair_id=pair_id(a.profile_id, b.profile_id),
        outcome=body.outcome,
        rating=body.rating,
    )
    await publish(session, board.event, MeetingOutcomeRecorded, subject=meeting_id, data=data)
    return meeting_view(board, meeting, board.audience(principal))


async def stats(session: AsyncSession, principal: Principal, event_id: uuid.UUID) -> EventStats:
    """The organiser's figures for the event."""
    event = await writable_event(session, principal, event_id)
    requests = await requests_repository.event_requests(session, event.id)
    meetings = await schedule_repository.event_meetings(session, event.id)
    return event_stats(
        request_statuses=[request.status for request in requests],
        suggestions=len(await suggestions_repository.event_suggestions(session, event.id)),
        meetings=[(meeting.status, meeting.outcome, meeting.rating) for meeting in meetings],
    )
