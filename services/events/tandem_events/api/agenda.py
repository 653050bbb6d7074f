"""Routes of a participant's agenda and the calendars: the agenda as JSON, a signed link
to subscribe to it, the agenda and each meeting as iCalendar."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from tandem_events import calendar_links
from tandem_events.api.common import REGISTRATION, MeetingOut, Responses
from tandem_events.service import agenda as service
from tandem_events.service.registrations import calendar_link_registration
from tandem_events.settings import EventsSettings
from tandem_shared.auth import CurrentPrincipal, Principal, current_principal
from tandem_shared.runtime import DbSession, RuntimeDep

router = APIRouter(tags=["schedule"])


class AgendaMeetingOut(MeetingOut):
    with_registration: uuid.UUID
    with_organisation: str


class AgendaOut(BaseModel):
    event_id: uuid.UUID
    registration_id: uuid.UUID
    organisation: str
    timezone: str
    meetings: list[AgendaMeetingOut]


class CalendarLinkOut(BaseModel):
    url: str
    expires_at: datetime


CALENDAR: Responses = {
    200: {"content": {"text/calendar": {}}, "description": "an iCalendar file"},
    **REGISTRATION,
}


def _calendar(ics: bytes, filename: str) -> Response:
    return Response(
        ics,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/events/{event_id}/registrations/{registration_id}/agenda",
    response_model=AgendaOut,
    responses=REGISTRATION,
)
async def read_agenda(
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
) -> dict[str, Any]:
    """One participant's meetings in time order (organiser or the participant's hub)."""
    return await service.agenda(session, principal, event_id, registration_id)


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
) -> Principal | None:
    """A bearer token's principal, or None for a signed link for exactly this agenda
    (calendar apps subscribe by URL and cannot send headers); 401 otherwise
    (`calendar_links.InvalidLink`)."""
    if token is None:
        return await current_principal(request, credentials)
    settings: EventsSettings = request.app.state.runtime.settings
    calendar_links.verify(
        settings.calendar_link_secret.get_secret_value(), token, event_id, registration_id
    )
    return None


@router.post(
    "/events/{event_id}/registrations/{registration_id}/calendar-link",
    response_model=CalendarLinkOut,
    responses=REGISTRATION,
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
    await calendar_link_registration(session, principal, event_id, registration_id)
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
    responses={**CALENDAR, 401: {"description": "no valid bearer token or signed link"}},
)
async def agenda_ics(
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    reader: Annotated[Principal | None, Depends(calendar_reader)],
    session: DbSession,
) -> Response:
    """The participant's agenda as iCalendar (METHOD:PUBLISH, one VEVENT per meeting);
    with a bearer token or `?token=` from `POST .../calendar-link`."""
    ics = await service.agenda_ics(session, reader, event_id, registration_id)
    return _calendar(ics, f"agenda-{registration_id}.ics")


@router.get(
    "/events/{event_id}/meetings/{meeting_id}.ics",
    response_class=Response,
    responses=CALENDAR,
)
async def meeting_ics(
    event_id: uuid.UUID,
    meeting_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> Response:
    """The meeting's invitation (METHOD:REQUEST), or METHOD:CANCEL once it is cancelled;
    the UID never changes and SEQUENCE is the meeting's version. Its ORGANIZER is the
    hub's events mailbox (`TANDEM_EVENTS_INVITE_ORGANIZER`)."""
    settings: EventsSettings = runtime.settings
    organizer = settings.invite_organizer
    ics = await service.meeting_ics(session, principal, event_id, meeting_id, organizer=organizer)
    return _calendar(ics, f"meeting-{meeting_id}.ics")
