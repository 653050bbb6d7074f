"""Routes of meeting requests: ask, list, accept, decline."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, BackgroundTasks, status
from pydantic import BaseModel

from tandem_events import repairer
from tandem_events.api.common import NOT_FOUND, ORGANISER, READERS, Responses
from tandem_events.domain.registrations import Person
from tandem_events.domain.requests import (
    DeclineIn,
    MeetingRequest,
    RequestIn,
    RequestRulesIn,
    RequestStatus,
)
from tandem_events.service import requests as service
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.runtime import DbSession, RuntimeDep

router = APIRouter(tags=["requests"])


class RequestOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    from_registration: uuid.UUID
    to_registration: uuid.UUID
    message: str | None
    status: RequestStatus
    reason: str | None
    window_sessions: list[int] | None
    window_slots: list[int] | None
    pinned_slot: int | None
    pinned_table: str | None
    person_from: Person | None
    person_to: Person | None
    after_requests: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


ANSWER: Responses = {
    403: {"description": "neither the organising hub nor the asked participant's hub"},
    404: {"description": "no such event or request"},
    409: {"description": "the request was already answered the other way"},
}


@router.post(
    "/events/{event_id}/requests",
    response_model=RequestOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **NOT_FOUND,
        403: {"description": "neither the organising hub nor the asking participant's hub"},
        409: {"description": "the event is cancelled or the pair already has a request"},
    },
)
async def create_request(
    event_id: uuid.UUID, body: RequestIn, principal: CurrentPrincipal, session: DbSession
) -> MeetingRequest:
    """A participant asks another for a 1:1 meeting, with a message."""
    return await service.create_request(session, principal, event_id, body)


@router.get(
    "/events/{event_id}/requests",
    response_model=list[RequestOut],
    responses=READERS,
)
async def list_requests(
    event_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[MeetingRequest]:
    """The event's meeting requests; messages and reasons only for the organiser and the
    two participants' hubs."""
    return await service.list_requests(session, principal, event_id)


@router.post(
    "/events/{event_id}/requests/{request_id}:accept",
    response_model=RequestOut,
    responses=ANSWER,
)
async def accept_request(
    event_id: uuid.UUID,
    request_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> MeetingRequest:
    """Accept; an existing schedule is repaired in the background to fit the meeting in."""
    accepted = await service.answer_request(session, principal, event_id, request_id, accept=True)
    background.add_task(repairer.wake, runtime)
    return accepted


@router.post(
    "/events/{event_id}/requests/{request_id}:decline",
    response_model=RequestOut,
    responses=ANSWER,
)
async def decline_request(
    event_id: uuid.UUID,
    request_id: uuid.UUID,
    body: DeclineIn,
    principal: CurrentPrincipal,
    session: DbSession,
) -> MeetingRequest:
    return await service.answer_request(
        session, principal, event_id, request_id, accept=False, reason=body.reason
    )


@router.put(
    "/events/{event_id}/requests/{request_id}/rules",
    response_model=RequestOut,
    responses={
        **ORGANISER,
        404: {"description": "no such event or request"},
        409: {"description": "the event is cancelled"},
        422: {"description": "the rules do not fit the event or cannot hold together"},
    },
)
async def set_request_rules(
    event_id: uuid.UUID,
    request_id: uuid.UUID,
    body: RequestRulesIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> MeetingRequest:
    """The organiser sets where and when the meeting may take place: a window (sessions or
    slots), a pinned slot and table, who of an organisation with separate agendas attends,
    and the requests whose meetings come before it. They count once the request is
    accepted; an existing schedule is repaired in the background to keep them."""
    changed = await service.set_rules(session, principal, event_id, request_id, body)
    background.add_task(repairer.wake, runtime)
    return changed
