"""The events service's HTTP API: thin routes that parse, call one service function, map
the result."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    HTTPException,
    Query,
    Request,
    Response,
    status,
)
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from tandem_events import calendar_links, repairer, service
from tandem_events.domain.events import CancelIn, EventIn, EventPatch, EventQuery
from tandem_events.domain.outcomes import EventStats, OutcomeIn
from tandem_events.domain.registrations import RegistrationIn, Status
from tandem_events.domain.requests import DeclineIn, RequestIn, RequestStatus
from tandem_events.settings import EventsSettings
from tandem_shared.auth import CurrentPrincipal, current_principal
from tandem_shared.contracts import EventKind, OrgKind
from tandem_shared.runtime import DbSession, RuntimeDep

_STATUS = {
    service.NotFound: status.HTTP_404_NOT_FOUND,
    service.Forbidden: status.HTTP_403_FORBIDDEN,
    service.Conflict: status.HTTP_409_CONFLICT,
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such event"}}
_ORGANISER: dict[int | str, dict[str, Any]] = {
    403: {"description": "only the organising hub may do this"},
    **_NOT_FOUND,
}


async def service_errors() -> AsyncIterator[None]:
    """Map the service's refusals to HTTP answers (422 in FastAPI's own shape) for every
    route. A router dependency with function scope: it wraps the route, outside the request
    transaction (`DbSession`), which therefore rolls back on the original error first."""
    try:
        yield
    except (service.NotFound, service.Forbidden, service.Conflict) as error:
        raise HTTPException(_STATUS[type(error)], str(error)) from error
    except service.Invalid as error:
        detail = [{"loc": ["body", error.field], "msg": error.reason, "type": "value_error"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from error


router = APIRouter(prefix="/v1", dependencies=[Depends(service_errors, scope="function")])


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
    scheduled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EventPageOut(BaseModel):
    items: list[EventOut]
    total: int
    page: int
    per_page: int


@router.post(
    "/events",
    response_model=EventOut,
    status_code=status.HTTP_201_CREATED,
    tags=["events"],
)
async def create_event(
    event: EventIn, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """Create an event organised by the caller's hub; publishes `event.scheduled`."""
    return dict(await service.create_event(session, principal, event))


@router.get("/events", response_model=EventPageOut, tags=["events"])
async def list_events(
    filters: Annotated[EventQuery, Query()], _principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """Every hub's events (they are announced to the network), earliest first."""
    return await service.list_events(session, filters)


@router.get("/events/{event_id}", response_model=EventOut, tags=["events"], responses=_NOT_FOUND)
async def read_event(
    event_id: uuid.UUID, _principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    return dict(await service.get_event(session, event_id))


@router.patch(
    "/events/{event_id}",
    response_model=EventOut,
    tags=["events"],
    responses={**_ORGANISER, 409: {"description": "the event is cancelled"}},
)
async def update_event(
    event_id: uuid.UUID, patch: EventPatch, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """Change the fields sent; each real change gets the next version and one
    `event.updated`."""
    return dict(await service.update_event(session, principal, event_id, patch))


@router.post(
    "/events/{event_id}:cancel", response_model=EventOut, tags=["events"], responses=_ORGANISER
)
async def cancel_event(
    event_id: uuid.UUID, body: CancelIn, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """Cancel the event (once); publishes `event.cancelled`."""
    return dict(await service.cancel_event(session, principal, event_id, body.reason))


# --------------------------------------------------------------------------- registrations


class ParticipantOut(BaseModel):
    name: str | None
    email: str | None
    languages: list[str]


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
    created_at: datetime
    updated_at: datetime


_REGISTRATION: dict[int | str, dict[str, Any]] = {
    403: {"description": "neither the organising hub nor the participant's hub"},
    404: {"description": "no such event or registration"},
}


async def _view(
    session: DbSession, principal: CurrentPrincipal, event_id: uuid.UUID, row: Any
) -> dict[str, Any]:
    event = await service.get_event(session, event_id)
    names = await service.organisation_names(session, [row["profile_id"]])
    return service.registration_view(row, event, principal, names)


@router.post(
    "/events/{event_id}/registrations",
    response_model=RegistrationOut,
    status_code=status.HTTP_201_CREATED,
    tags=["registrations"],
    responses={
        **_NOT_FOUND,
        409: {"description": "the event is cancelled or the profile is already registered"},
    },
)
async def register(
    event_id: uuid.UUID, body: RegistrationIn, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """Register an organisation profile the caller can see and its participant; waitlisted
    when the event is full."""
    row = await service.register(session, principal, event_id, body)
    return await _view(session, principal, event_id, row)


@router.get(
    "/events/{event_id}/registrations",
    response_model=list[RegistrationOut],
    tags=["registrations"],
    responses=_NOT_FOUND,
)
async def list_registrations(
    event_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[dict[str, Any]]:
    """The event's registrations in order; participants' contacts only for the organiser."""
    return await service.list_registrations(session, principal, event_id)


@router.post(
    "/events/{event_id}/registrations/{registration_id}:withdraw",
    response_model=RegistrationOut,
    tags=["registrations"],
    responses=_REGISTRATION,
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
    row = await service.withdraw(session, principal, event_id, registration_id)
    # Background tasks run after the response, so after the commit.
    background.add_task(repairer.wake, runtime)
    return await _view(session, principal, event_id, row)


@router.post(
    "/events/{event_id}/registrations/{registration_id}:check-in",
    response_model=RegistrationOut,
    tags=["registrations"],
    responses={**_ORGANISER, 409: {"description": "the registration holds no place"}},
)
async def check_in(
    event_id: uuid.UUID, registration_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    row = await service.check_in(session, principal, event_id, registration_id)
    return await _view(session, principal, event_id, row)


# --------------------------------------------------------------------------- requests


class RequestOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    from_registration: uuid.UUID
    to_registration: uuid.UUID
    message: str | None
    status: RequestStatus
    reason: str | None
    created_at: datetime
    updated_at: datetime


class SuggestionOut(BaseModel):
    pair_id: str
    registration_a: uuid.UUID
    registration_b: uuid.UUID
    score: float


_ANSWER: dict[int | str, dict[str, Any]] = {
    403: {"description": "neither the organising hub nor the asked participant's hub"},
    404: {"description": "no such event or request"},
    409: {"description": "the request was already answered the other way"},
}


@router.post(
    "/events/{event_id}/requests",
    response_model=RequestOut,
    status_code=status.HTTP_201_CREATED,
    tags=["requests"],
    responses={
        **_NOT_FOUND,
        403: {"description": "neither the organising hub nor the asking participant's hub"},
        409: {"description": "the event is cancelled or the pair already has a request"},
    },
)
async def create_request(
    event_id: uuid.UUID, body: RequestIn, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """A participant asks another for a 1:1 meeting, with a message."""
    return dict(await service.create_request(session, principal, event_id, body))


@router.get(
    "/events/{event_id}/requests",
    response_model=list[RequestOut],
    tags=["requests"],
    responses=_NOT_FOUND,
)
async def list_requests(
    event_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[dict[str, Any]]:
    """The event's meeting requests; messages and reasons only for the organiser and the
    two participants' hubs."""
    return await service.list_requests(session, principal, event_id)


@router.post(
    "/events/{event_id}/requests/{request_id}:accept",
    response_model=RequestOut,
    tags=["requests"],
    responses=_ANSWER,
)
async def accept_request(
    event_id: uuid.UUID,
    request_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """Accept; an existing schedule is repaired in the background to fit the meeting in."""
    row = await service.answer_request(session, principal, event_id, request_id, accept=True)
    background.add_task(repairer.wake, runtime)
    return dict(row)


@router.post(
    "/events/{event_id}/requests/{request_id}:decline",
    response_model=RequestOut,
    tags=["requests"],
    responses=_ANSWER,
)
async def decline_request(
    event_id: uuid.UUID,
    request_id: uuid.UUID,
    body: DeclineIn,
    principal: CurrentPrincipal,
    session: DbSession,
) -> dict[str, Any]:
    row = await service.answer_request(
        session, principal, event_id, request_id, accept=False, reason=body.reason
    )
    return dict(row)


@router.get(
    "/events/{event_id}/suggestions",
    response_model=list[SuggestionOut],
    tags=["requests"],
    responses=_NOT_FOUND,
)
async def list_suggestions(
    event_id: uuid.UUID, _principal: CurrentPrincipal, session: DbSession
) -> list[dict[str, Any]]:
    """The matcher's suggested meetings between participants of this event."""
    return [dict(row) for row in await service.list_suggestions(session, event_id)]


# --------------------------------------------------------------------------- schedule


class ScheduleChangesOut(BaseModel):
    new: int
    moved: int
    cancelled: int
    kept: int


class ScheduleRunOut(BaseModel):
    solver: str
    optimal: bool
    value: float
    changes: ScheduleChangesOut


@router.post(
    "/events/{event_id}/schedule",
    response_model=ScheduleRunOut,
    tags=["schedule"],
    responses={
        **_ORGANISER,
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


class SlotOut(BaseModel):
    index: int
    starts_at: datetime
    ends_at: datetime


class MeetingOut(BaseModel):
    id: uuid.UUID
    key: str
    version: int
    status: str
    slot: int
    table: str
    starts_at: datetime
    ends_at: datetime
    accepted: bool
    score: float
    registration_a: uuid.UUID
    registration_b: uuid.UUID
    organisation_a: str
    organisation_b: str
    outcome: str | None
    rating: int | None


class ScheduleOut(BaseModel):
    event_id: uuid.UUID
    title: str
    timezone: str
    scheduled_at: datetime | None
    solver: str | None
    tables: list[str]
    slots: list[SlotOut]
    meetings: list[MeetingOut]


class AgendaMeetingOut(MeetingOut):
    with_registration: uuid.UUID
    with_organisation: str


class AgendaOut(BaseModel):
    event_id: uuid.UUID
    registration_id: uuid.UUID
    organisation: str
    timezone: str
    meetings: list[AgendaMeetingOut]


_CALENDAR: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "an iCalendar file"},
    **_REGISTRATION,
}


def _calendar(ics: bytes, filename: str) -> Response:
    return Response(
        ics,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/events/{event_id}/schedule",
    response_model=ScheduleOut,
    tags=["schedule"],
    responses=_NOT_FOUND,
)
async def read_schedule(
    event_id: uuid.UUID, _principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """The slots (times in the event's zone) and the scheduled meetings."""
    return await service.schedule_view(session, event_id)


@router.get(
    "/events/{event_id}/registrations/{registration_id}/agenda",
    response_model=AgendaOut,
    tags=["schedule"],
    responses=_REGISTRATION,
)
async def read_agenda(
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    _principal: CurrentPrincipal,
    session: DbSession,
) -> dict[str, Any]:
    """One participant's meetings in time order."""
    return await service.agenda(session, event_id, registration_id)


_bearer = HTTPBearer(auto_error=False)


async def calendar_reader(
    request: Request,
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[
        str | None,
        Query(max_length=2000, description="a signed link's token, instead of a bearer header"),
    ] = None,
) -> None:
    """A bearer token, or a signed link for exactly this agenda (calendar apps subscribe by
    URL and cannot send headers); 401 otherwise."""
    if token is None:
        await current_principal(request, credentials)
        return
    settings: EventsSettings = request.app.state.runtime.settings
    try:
        calendar_links.verify(
            settings.calendar_link_secret.get_secret_value(), token, event_id, registration_id
        )
    except calendar_links.InvalidLink as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "the calendar link is invalid or expired"
        ) from error


class CalendarLinkOut(BaseModel):
    url: str
    expires_at: datetime


@router.post(
    "/events/{event_id}/registrations/{registration_id}/calendar-link",
    response_model=CalendarLinkOut,
    tags=["schedule"],
    responses=_REGISTRATION,
)
async def calendar_link(
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    request: Request,
) -> dict[str, Any]:
    """A signed, expiring URL of the participant's agenda.ics that calendar apps can
    subscribe to without a token (organiser or the participant's hub)."""
    await service.calendar_link_registration(session, principal, event_id, registration_id)
    settings: EventsSettings = runtime.settings
    token, expires_at = calendar_links.sign(
        settings.calendar_link_secret.get_secret_value(),
        event_id,
        registration_id,
        valid_for=timedelta(days=settings.calendar_link_days),
    )
    url = request.url_for("agenda_ics", event_id=event_id, registration_id=registration_id)
    return {"url": str(url.include_query_params(token=token)), "expires_at": expires_at}


@router.get(
    "/events/{event_id}/registrations/{registration_id}/agenda.ics",
    response_class=Response,
    tags=["schedule"],
    responses={**_CALENDAR, 401: {"description": "no valid bearer token or signed link"}},
    dependencies=[Depends(calendar_reader)],
)
async def agenda_ics(
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    session: DbSession,
) -> Response:
    """The participant's agenda as iCalendar (METHOD:PUBLISH, one VEVENT per meeting);
    with a bearer token or `?token=` from `POST .../calendar-link`."""
    ics = await service.agenda_ics(session, event_id, registration_id)
    return _calendar(ics, f"agenda-{registration_id}.ics")


@router.get(
    "/events/{event_id}/meetings/{meeting_id}.ics",
    response_class=Response,
    tags=["schedule"],
    responses=_CALENDAR,
)
async def meeting_ics(
    event_id: uuid.UUID, meeting_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> Response:
    """The meeting's invitation (METHOD:REQUEST), or METHOD:CANCEL once it is cancelled;
    the UID never changes and SEQUENCE is the meeting's version."""
    ics = await service.meeting_ics(session, principal, event_id, meeting_id)
    return _calendar(ics, f"meeting-{meeting_id}.ics")


@router.get(
    "/events/{event_id}/table-plan",
    response_class=HTMLResponse,
    tags=["schedule"],
    responses=_NOT_FOUND,
)
async def table_plan(
    event_id: uuid.UUID, _principal: CurrentPrincipal, session: DbSession
) -> HTMLResponse:
    """A printable grid: slots down, tables across, who meets at each table."""
    return HTMLResponse(await service.table_plan(session, event_id))


# --------------------------------------------------------------------------- after the event


@router.post(
    "/events/{event_id}/meetings/{meeting_id}/outcome",
    response_model=MeetingOut,
    tags=["outcomes"],
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


@router.get(
    "/events/{event_id}/stats", response_model=EventStats, tags=["outcomes"], responses=_ORGANISER
)
async def read_stats(
    event_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> EventStats:
    """Requests, acceptance rate, meetings scheduled and held, no-shows, follow-ups,
    agreements and the mean rating (organiser only)."""
    return await service.stats(session, principal, event_id)
