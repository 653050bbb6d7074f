"""Routes of the schedule: the organiser's run, the schedule as read, the table plan."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from tandem_events.api.common import ORGANISER, READERS, MeetingOut
from tandem_events.service import schedule as service
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.runtime import DbSession, RuntimeDep

router = APIRouter(tags=["schedule"])


class ScheduleChangesOut(BaseModel):
    new: int
    moved: int
    cancelled: int
    kept: int


class QualityOut(BaseModel):
    placed: int = Field(description="meetings placed")
    placeable: int = Field(description="candidate meetings that could be placed on their own")
    must: int = Field(description="pinned and accepted meetings among them")
    must_placed: int
    breaks: int = Field(description="runs of idle slots in people's days, summed")
    breaks_bound: int = Field(description="proven: no valid schedule has fewer breaks")
    breaks_gap: int = Field(description="breaks above the bound (0: optimal)")
    idle: int = Field(description="idle slots inside people's days")
    spread: int = Field(description="most minus fewest breaks of any two agendas")
    proven: bool = Field(description="every tier up to breaks is proven optimal")


class ScheduleRunOut(BaseModel):
    solver: str
    optimal: bool
    value: float
    changes: ScheduleChangesOut
    quality: QualityOut | None = None


class SlotOut(BaseModel):
    index: int
    starts_at: datetime
    ends_at: datetime


class ScheduleOut(BaseModel):
    event_id: uuid.UUID
    title: str
    timezone: str
    scheduled_at: datetime | None
    solver: str | None
    tables: list[str]
    slots: list[SlotOut]
    meetings: list[MeetingOut]


@router.post(
    "/events/{event_id}/schedule",
    response_model=ScheduleRunOut,
    responses={
        **ORGANISER,
        409: {"description": "cancelled, no slots or tables, or changed while scheduling"},
    },
)
async def run_schedule(
    event_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Schedule accepted requests, then the matcher's suggestions, into (slot, table);
    publishes `meeting.scheduled` for new and moved meetings and `meeting.cancelled` for
    dropped ones. No request transaction: the solver runs outside any (409 if the event
    kept changing while it ran)."""
    return await service.run_schedule(
        runtime.sessionmaker,
        principal,
        event_id,
        time_limit_s=runtime.settings.schedule_time_limit_seconds,
        attempts=runtime.settings.schedule_attempts,
    )


@router.get("/events/{event_id}/schedule", response_model=ScheduleOut, responses=READERS)
async def read_schedule(
    event_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """The slots (times in the event's zone) and the scheduled meetings: all of them for
    the organiser, those of its own participants for a participant's hub."""
    return await service.schedule_view(session, principal, event_id)


@router.get("/events/{event_id}/table-plan", response_class=HTMLResponse, responses=READERS)
async def table_plan(
    event_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> HTMLResponse:
    """A printable grid: slots down, tables across, who meets at each table (as far as
    the caller may see them)."""
    return HTMLResponse(await service.table_plan(session, principal, event_id))
