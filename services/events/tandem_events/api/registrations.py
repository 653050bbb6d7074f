"""Routes of registrations: register, list, withdraw, check in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, status
from pydantic import BaseModel

from tandem_events import repairer
from tandem_events.api.common import NOT_FOUND, ORGANISER, READERS, REGISTRATION
from tandem_events.domain.registrations import (
    Agendas,
    RegistrationIn,
    RegistrationRulesIn,
    Status,
)
from tandem_events.service import registrations as service
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.runtime import DbSession, RuntimeDep

router = APIRouter(tags=["registrations"])


class ParticipantOut(BaseModel):
    name: str | None
    email: str | None
    languages: list[str]


class ColleagueOut(BaseModel):
    name: str | None
    email: str | None
    availability: list[int] | None


class RegistrationOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    profile_id: uuid.UUID
    organisation: str | None
    hub: str
    version: int
    status: Status
    participant: ParticipantOut | None = None
    availability: list[int] | None
    max_meetings: int | None
    has_colleague: bool
    colleague: ColleagueOut | None = None
    agendas: Agendas
    forbidden_slots: list[int]
    session_cap: int | None
    created_at: datetime
    updated_at: datetime


@router.post(
    "/events/{event_id}/registrations",
    response_model=RegistrationOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **NOT_FOUND,
        409: {"description": "the event is cancelled or the profile is already registered"},
    },
)
async def register(
    event_id: uuid.UUID, body: RegistrationIn, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """Register an organisation profile the caller can see and its participant; waitlisted
    when the event is full."""
    return await service.register(session, principal, event_id, body)


@router.get(
    "/events/{event_id}/registrations",
    response_model=list[RegistrationOut],
    responses=READERS,
)
async def list_registrations(
    event_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[dict[str, Any]]:
    """The event's registrations in order; participants' contacts only for the organiser."""
    return await service.list_registrations(session, principal, event_id)


@router.post(
    "/events/{event_id}/registrations/{registration_id}:withdraw",
    response_model=RegistrationOut,
    responses=REGISTRATION,
)
async def withdraw(
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """Withdraw; the first waitlisted registration moves up, the participant's meetings
    are cancelled and the rest of a schedule is repaired in the background."""
    withdrawn = await service.withdraw(session, principal, event_id, registration_id)
    # Background tasks run after the response, so after the commit.
    background.add_task(repairer.wake, runtime)
    return withdrawn


@router.post(
    "/events/{event_id}/registrations/{registration_id}:check-in",
    response_model=RegistrationOut,
    responses={**ORGANISER, 409: {"description": "the registration holds no place"}},
)
async def check_in(
    event_id: uuid.UUID, registration_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    return await service.check_in(session, principal, event_id, registration_id)


@router.put(
    "/events/{event_id}/registrations/{registration_id}/rules",
    response_model=RegistrationOut,
    responses={
        **ORGANISER,
        404: {"description": "no such event or registration"},
        409: {"description": "the event is cancelled"},
        422: {"description": "the rules do not fit the event or cannot hold together"},
    },
)
async def set_registration_rules(
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    body: RegistrationRulesIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """The organiser sets a participant's forbidden slots, its cap per session, and
    whether its two persons keep joint or separate agendas; an existing schedule is
    repaired in the background to keep them."""
    changed = await service.set_rules(session, principal, event_id, registration_id, body)
    background.add_task(repairer.wake, runtime)
    return changed
