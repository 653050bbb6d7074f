"""The events service's HTTP API: thin routes that parse, call one service function and
map the result, one module per sub-domain. Refusals (`tandem_shared.errors`) are answered
by the app, after the request's transaction rolled back."""

from __future__ import annotations

from fastapi import APIRouter

from tandem_events.api import (
    agenda,
    events,
    outcomes,
    registrations,
    requests,
    schedule,
    suggestions,
)

router = APIRouter(prefix="/v1")
for module in (events, registrations, requests, suggestions, schedule, agenda, outcomes):
    router.include_router(module.router)
