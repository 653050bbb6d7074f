"""Routes of events: create, list, read, change, cancel."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from tandem_events.api.common import NOT_FOUND, ORGANISER
from tandem_events.domain.events import CancelIn, Event, EventIn, EventPatch, EventQuery
from tandem_events.service import events as service
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.contracts import EventKind, OrgKind
from tandem_shared.runtime import DbSession

router = APIRouter(tags=["events"])


class SessionOut(BaseModel):
    starts_at: datetime
    slot_minutes: int
    break_minutes: int
    slots: int


class EventOut(BaseModel):
    id: uuid.UUID
    hub: str
    version: int
    title: str
    kind: EventKind
    description: str
    status: str
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
    sectors: list[OrgKind]
    sessions: list[SessionOut]
    tables: list[str]
    break_spread: int | None
    scheduled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EventPageOut(BaseModel):
    items: list[EventOut]
    total: int
    page: int
    per_page: int


@router.post("/events", response_model=EventOut, status_code=status.HTTP_201_CREATED)
async def create_event(event: EventIn, principal: CurrentPrincipal, session: DbSession) -> Event:
    """Create an event organised by the caller's hub; publishes `event.scheduled`."""
    return await service.create_event(session, principal, event)


@router.get("/events", response_model=EventPageOut)
async def list_events(
    filters: Annotated[EventQuery, Query()], _principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """Every hub's events (they are announced to the network), earliest first."""
    return await service.list_events(session, filters)


@router.get("/events/{event_id}", response_model=EventOut, responses=NOT_FOUND)
async def read_event(
    event_id: uuid.UUID, _principal: CurrentPrincipal, session: DbSession
) -> Event:
    return await service.get_event(session, event_id)


@router.patch(
    "/events/{event_id}",
    response_model=EventOut,
    responses={**ORGANISER, 409: {"description": "the event is cancelled"}},
)
async def update_event(
    event_id: uuid.UUID, patch: EventPatch, principal: CurrentPrincipal, session: DbSession
) -> Event:
    """Change the fields sent; each real change gets the next version and one
    `event.updated`."""
    return await service.update_event(session, principal, event_id, patch)


@router.post("/events/{event_id}:cancel", response_model=EventOut, responses=ORGANISER)
async def cancel_event(
    event_id: uuid.UUID, body: CancelIn, principal: CurrentPrincipal, session: DbSession
) -> Event:
    """Cancel the event (once); publishes `event.cancelled`."""
    return await service.cancel_event(session, principal, event_id, body.reason)
