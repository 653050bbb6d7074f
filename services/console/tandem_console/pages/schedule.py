"""An event's schedule: generate it, the grid of slots by tables, each participant's agenda
with its ICS download, the printable table plan, outcomes after the event and the
organiser's statistics drawn as charts."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from tandem_console import charts, web
from tandem_console.backend import ApiError, Backend
from tandem_console.feed import N_
from tandem_console.i18n import Language

router = APIRouter()


def grid(schedule: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per slot: the slot and, per table, the meeting held there (or None)."""
    placed = {(m["slot"], m["table"]): m for m in schedule["meetings"]}
    return [
        {
            "slot": slot,
            "cells": [placed.get((slot["index"], table)) for table in schedule["tables"]],
        }
        for slot in schedule["slots"]
    ]


async def _schedule_context(api: Backend, event_id: uuid.UUID) -> dict[str, Any]:
    event, schedule, registrations = await asyncio.gather(
        api.get("events", f"/v1/events/{event_id}"),
        api.get("events", f"/v1/events/{event_id}/schedule"),
        api.get("events", f"/v1/events/{event_id}/registrations"),
    )
    return {
        "event": event,
        "schedule": schedule,
        "rows": grid(schedule),
        "participants": [r for r in registrations if r["status"] in ("registered", "checked_in")],
    }


@router.get("/events/{event_id}/schedule")
async def schedule_page(request: Request, api: web.Api, event_id: uuid.UUID) -> Response:
    context = await _schedule_context(api, event_id)
    return await web.render(request, "event_schedule.html", nav="events", tab="schedule", **context)


@router.post("/events/{event_id}/schedule")
async def generate(request: Request, api: web.Api, lang: web.Lang, event_id: uuid.UUID) -> Response:
    """Run the events service's scheduler (accepted requests first, then suggestions)."""
    try:
        run = await api.post("events", f"/v1/events/{event_id}/schedule")
    except ApiError as error:
        if error.status != 409:
            raise
        web.flash(request, error.message, "error")
        return web.redirect(f"/events/{event_id}/schedule")
    changes = run["changes"]
    quality = lang.gettext("optimal") if run["optimal"] else lang.gettext("best found in time")
    web.flash(
        request,
        lang.gettext(
            "Schedule generated (%(quality)s): %(new)d new, %(moved)d moved, "
            "%(cancelled)d cancelled, %(kept)d kept.",
            quality=quality,
            **changes,
        ),
    )
    return web.redirect(f"/events/{event_id}/schedule")


@router.get("/events/{event_id}/table-plan")
async def table_plan(request: Request, api: web.Api, event_id: uuid.UUID) -> Response:
    """The printable plan: slots down, tables across (the browser prints it; the console
    fetches it with the session's token, so the link works where the API's needs a header)."""
    context = await _schedule_context(api, event_id)
    return await web.render(request, "table_plan.html", nav="events", **context)


def _calendar(answer: Any, fallback: str) -> Response:
    return Response(
        answer.content,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": answer.headers.get(
                "content-disposition", f'attachment; filename="{fallback}"'
            )
        },
    )


@router.get("/events/{event_id}/agenda/{registration_id}.ics")
async def agenda_ics(api: web.Api, event_id: uuid.UUID, registration_id: uuid.UUID) -> Response:
    path = f"/v1/events/{event_id}/registrations/{registration_id}/agenda.ics"
    return _calendar(await api.call("events", "GET", path), f"agenda-{registration_id}.ics")


@router.get("/events/{event_id}/agenda/{registration_id}")
async def agenda_page(
    request: Request, api: web.Api, event_id: uuid.UUID, registration_id: uuid.UUID
) -> Response:
    event, agenda = await asyncio.gather(
        api.get("events", f"/v1/events/{event_id}"),
        api.get("events", f"/v1/events/{event_id}/registrations/{registration_id}/agenda"),
    )
    return await web.render(
        request, "agenda.html", nav="events", tab="schedule", event=event, agenda=agenda
    )


@router.get("/events/{event_id}/meetings/{meeting_id}.ics")
async def meeting_ics(api: web.Api, event_id: uuid.UUID, meeting_id: uuid.UUID) -> Response:
    path = f"/v1/events/{event_id}/meetings/{meeting_id}.ics"
    return _calendar(await api.call("events", "GET", path), f"meeting-{meeting_id}.ics")


@router.post("/events/{event_id}/meetings/{meeting_id}/outcome")
async def record_outcome(
    request: Request,
    api: web.Api,
    lang: web.Lang,
    event_id: uuid.UUID,
    meeting_id: uuid.UUID,
    outcome: Annotated[str, Form(max_length=20)],
    rating: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    body = {"outcome": outcome, "rating": int(rating) if rating.isdigit() else None}
    try:
        await api.post("events", f"/v1/events/{event_id}/meetings/{meeting_id}/outcome", json=body)
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        web.flash(request, error.message, "error")
        return web.redirect(f"/events/{event_id}/schedule#outcomes")
    web.flash(request, lang.gettext("Outcome recorded."))
    return web.redirect(f"/events/{event_id}/schedule#outcomes")


STAT_ROWS = (
    ("meetings_scheduled", N_("Meetings scheduled")),
    ("meetings_held", N_("Meetings held")),
    ("no_shows", N_("No-shows")),
    ("follow_ups", N_("Follow-ups")),
    ("agreements", N_("Agreements")),
)
REQUEST_ROWS = (
    ("requests_accepted", N_("Requests accepted")),
    ("requests_declined", N_("Requests declined")),
    ("requests_pending", N_("Requests pending")),
)


def stats_charts(stats: dict[str, Any], lang: Language) -> dict[str, charts.Chart]:
    """The organiser's figures as three charts: meetings, requests, acceptance rate."""
    meetings = [
        (lang.gettext(label), float(stats[key]), lang.number(stats[key]))
        for key, label in STAT_ROWS
    ]
    requests = [
        (lang.gettext(label), float(stats[key]), lang.number(stats[key]))
        for key, label in REQUEST_ROWS
    ]
    rate = stats.get("acceptance_rate")
    acceptance = [(lang.gettext("Acceptance rate"), float(rate or 0.0), lang.percent(rate))]
    return {
        "meetings": charts.bar_chart(meetings),
        "requests": charts.bar_chart(requests),
        "acceptance": charts.bar_chart(acceptance, maximum=1.0),
    }


@router.get("/events/{event_id}/stats")
async def stats_page(
    request: Request, api: web.Api, lang: web.Lang, event_id: uuid.UUID
) -> Response:
    event, stats = await asyncio.gather(
        api.get("events", f"/v1/events/{event_id}"),
        api.get("events", f"/v1/events/{event_id}/stats"),
    )
    return await web.render(
        request,
        "event_stats.html",
        nav="events",
        tab="stats",
        event=event,
        stats=stats,
        charts=stats_charts(stats, lang),
    )
