"""Events: the list, create and edit (sessions, slots, tables), registrations with each
participant's availability per slot, and meeting requests (send, accept, decline)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from tandem_console import forms, web
from tandem_console.backend import ApiError, Backend

router = APIRouter()
PER_PAGE = 20
ZONES = [*sorted(zone for zone in available_timezones() if zone.startswith("Europe/")), "UTC"]
# The registration form offers organisations from one registry page (its largest).
ORGANISATION_CHOICES = 100


@router.get("/events")
async def events(
    request: Request,
    api: web.Api,
    kind: Annotated[str | None, Query(max_length=30)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    listing = await api.get(
        "events", "/v1/events", kind=kind, status=status, page=page, per_page=PER_PAGE
    )
    return await web.render(
        request,
        "events.html",
        nav="events",
        listing=listing,
        kind=kind or "",
        status_filter=status or "",
        page=page,
        pages=max(1, -(-listing["total"] // PER_PAGE)),
    )


async def _form_page(
    request: Request,
    form: dict[str, Any],
    errors: dict[str, str],
    event: dict[str, Any] | None,
    status: int = 200,
) -> Response:
    return await web.render(
        request,
        "event_form.html",
        status=status,
        nav="events",
        form=form,
        errors=errors,
        event=event,
        session_rows=forms.session_rows(form),
        zones=ZONES,
    )


def _typed(values: dict[str, list[str]]) -> dict[str, Any]:
    """The form as typed, to show again next to the errors."""
    form: dict[str, Any] = {key: forms.first(values, key) for key in values}
    form["sectors"] = list(values.get("sectors", []))
    form["online"] = forms.first(values, "online") == "true"
    return form


@router.get("/events/new")
async def new_event(request: Request, _api: web.Api) -> Response:
    form = {"timezone": "Europe/Warsaw", "kind": "matching_event"}
    return await _form_page(request, form, {}, None)


@router.post("/events")
async def create_event(request: Request, api: web.Api, lang: web.Lang) -> Response:
    values = forms.form_values(await request.form())
    try:
        created = await api.post("events", "/v1/events", json=forms.event_payload(values))
    except ApiError as error:
        if error.status != 422:
            raise
        errors = forms.field_errors(error.fields())
        return await _form_page(request, _typed(values), errors, None, status=422)
    web.flash(request, lang.gettext("Event %(title)s created.", title=created["title"]))
    return web.redirect(f"/events/{created['id']}")


@router.get("/events/{event_id}")
async def event_page(request: Request, api: web.Api, event_id: uuid.UUID) -> Response:
    return await _event_page(request, api, event_id)


async def _event_page(
    request: Request,
    api: Backend,
    event_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    org_q: str = "",
    status: int = 200,
) -> Response:
    event, schedule, registrations, choices = await asyncio.gather(
        api.get("events", f"/v1/events/{event_id}"),
        api.get("events", f"/v1/events/{event_id}/schedule"),
        api.get("events", f"/v1/events/{event_id}/registrations"),
        api.get("registry", "/v1/profiles", q=org_q.strip(), per_page=ORGANISATION_CHOICES),
    )
    registered = {str(r["profile_id"]) for r in registrations if r["status"] != "withdrawn"}
    return await web.render(
        request,
        "event.html",
        status=status,
        nav="events",
        tab="overview",
        event=event,
        slots=schedule["slots"],
        registrations=registrations,
        organisations=[p for p in choices["items"] if str(p["id"]) not in registered],
        errors=errors or {},
        form=form or {},
        org_q=org_q,
    )


@router.get("/events/{event_id}/edit")
async def edit_event(request: Request, api: web.Api, event_id: uuid.UUID) -> Response:
    event = await api.get("events", f"/v1/events/{event_id}")
    return await _form_page(request, forms.event_form(event), {}, event)


@router.post("/events/{event_id}")
async def update_event(
    request: Request, api: web.Api, lang: web.Lang, event_id: uuid.UUID
) -> Response:
    event = await api.get("events", f"/v1/events/{event_id}")
    values = forms.form_values(await request.form())
    try:
        await api.patch("events", f"/v1/events/{event_id}", json=forms.event_payload(values))
    except ApiError as error:
        if error.status != 422:
            raise
        errors = forms.field_errors(error.fields())
        return await _form_page(request, _typed(values), errors, event, status=422)
    web.flash(request, lang.gettext("Event saved."))
    return web.redirect(f"/events/{event_id}")


@router.post("/events/{event_id}/registrations")
async def register(request: Request, api: web.Api, lang: web.Lang, event_id: uuid.UUID) -> Response:
    """Register an organisation and its participant, with the slots they can meet in."""
    values = forms.form_values(await request.form())
    availability = [int(slot) for slot in values.get("availability", []) if slot.isdigit()]
    max_meetings = forms.first(values, "max_meetings")
    body = {
        "profile_id": forms.first(values, "profile_id"),
        "participant": {
            "name": forms.first(values, "participant_name"),
            "email": forms.first(values, "participant_email"),
            "languages": forms.codes(forms.first(values, "participant_languages")),
        },
        "availability": availability if forms.first(values, "all_slots") != "true" else None,
        "max_meetings": int(max_meetings) if max_meetings.isdigit() else None,
    }
    try:
        created = await api.post("events", f"/v1/events/{event_id}/registrations", json=body)
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        errors = _registration_errors(error)
        form: dict[str, Any] = {key: forms.first(values, key) for key in values}
        form["availability"] = [str(slot) for slot in availability]
        return await _event_page(
            request, api, event_id, errors=errors, form=form, status=error.status
        )
    web.flash(request, lang.gettext("%(name)s registered.", name=created["organisation"] or ""))
    return web.redirect(f"/events/{event_id}#registrations")


def _registration_errors(error: ApiError) -> dict[str, str]:
    if error.status == 409:
        return {"profile_id": error.message}
    found: dict[str, str] = {}
    for path, reason in error.fields().items():
        parts = path.split(".")
        field = (
            f"participant_{parts[1]}" if parts[0] == "participant" and len(parts) > 1 else parts[0]
        )
        found.setdefault(field or "profile_id", reason)
    return found


@router.post("/events/{event_id}/registrations/{registration_id}/{action}")
async def registration_action(
    request: Request,
    api: web.Api,
    lang: web.Lang,
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    action: str,
) -> Response:
    """Withdraw a registration or check its participant in."""
    verbs = {
        "withdraw": lang.gettext("Registration withdrawn."),
        "check-in": lang.gettext("Checked in."),
    }
    if action not in verbs:
        raise ApiError(404, "no such action")
    await api.post("events", f"/v1/events/{event_id}/registrations/{registration_id}:{action}")
    web.flash(request, verbs[action])
    return web.redirect(f"/events/{event_id}#registrations")


# --------------------------------------------------------------------------- requests


@router.get("/events/{event_id}/requests")
async def requests_page(request: Request, api: web.Api, event_id: uuid.UUID) -> Response:
    return await _requests_page(request, api, event_id)


async def _requests_page(
    request: Request,
    api: Backend,
    event_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    event, registrations, meeting_requests, suggestions = await asyncio.gather(
        api.get("events", f"/v1/events/{event_id}"),
        api.get("events", f"/v1/events/{event_id}/registrations"),
        api.get("events", f"/v1/events/{event_id}/requests"),
        api.get("events", f"/v1/events/{event_id}/suggestions"),
    )
    names = {str(r["id"]): r["organisation"] or "?" for r in registrations}
    return await web.render(
        request,
        "event_requests.html",
        status=status,
        nav="events",
        tab="requests",
        event=event,
        participants=[r for r in registrations if r["status"] in ("registered", "checked_in")],
        requests=meeting_requests,
        suggestions=suggestions,
        names=names,
        errors=errors or {},
        form=form or {},
    )


@router.post("/events/{event_id}/requests")
async def send_request(
    request: Request,
    api: web.Api,
    lang: web.Lang,
    event_id: uuid.UUID,
    from_registration: Annotated[str, Form(max_length=40)] = "",
    to_registration: Annotated[str, Form(max_length=40)] = "",
    message: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    body = {
        "from_registration": from_registration,
        "to_registration": to_registration,
        "message": message.strip() or None,
    }
    try:
        await api.post("events", f"/v1/events/{event_id}/requests", json=body)
    except ApiError as error:
        if error.status not in (403, 409, 422):
            raise
        errors = (
            forms.field_errors(error.fields()) if error.status == 422 else {"form": error.message}
        )
        return await _requests_page(
            request, api, event_id, errors=errors, form=body, status=error.status
        )
    web.flash(request, lang.gettext("Meeting request sent."))
    return web.redirect(f"/events/{event_id}/requests")


@router.post("/events/{event_id}/requests/{request_id}/{answer}")
async def answer_request(
    request: Request,
    api: web.Api,
    lang: web.Lang,
    event_id: uuid.UUID,
    request_id: uuid.UUID,
    answer: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    path = f"/v1/events/{event_id}/requests/{request_id}"
    if answer == "accept":
        await api.post("events", f"{path}:accept")
        web.flash(request, lang.gettext("Request accepted."))
    elif answer == "decline":
        await api.post("events", f"{path}:decline", json={"reason": reason.strip() or None})
        web.flash(request, lang.gettext("Request declined."))
    else:
        raise ApiError(404, "no such answer")
    return web.redirect(f"/events/{event_id}/requests")
