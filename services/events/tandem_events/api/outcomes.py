"""Routes after the event: meeting outcomes and the organiser's figures."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from tandem_events.api.common import ORGANISER, MeetingOut
from tandem_events.domain.outcomes import EventStats, OutcomeIn
from tandem_events.service import outcomes as service
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.runtime import DbSession

router = APIRouter(tags=["outcomes"])


@router.post(
    "/events/{event_id}/meetings/{meeting_id}/outcome",
    response_model=MeetingOut,
    responses={
        403: {"description": "neither the organising hub nor a participant's hub"},
        404: {"description": "no such event or meeting"},
        409: {"description": "the meeting was cancelled"},
    },
)
async def record_outcome(
    event_id: uuid.UUID,
    meeting_id: uuid.UUID,
    body: OutcomeIn,
    principal: CurrentPrincipal,
    session: DbSession,
) -> dict[str, Any]:
    """Record how the meeting went (`held`, `no_show`, `follow_up`, `agreement`) and an
    optional 1-5 rating; publishes `meeting.outcome_recorded`."""
    return await service.record_outcome(session, principal, event_id, meeting_id, body)


@router.get("/events/{event_id}/stats", response_model=EventStats, responses=ORGANISER)
async def read_stats(
    event_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> EventStats:
    """Requests, acceptance rate, meetings scheduled and held, no-shows, follow-ups,
    agreements and the mean rating (organiser only)."""
    return await service.stats(session, principal, event_id)
