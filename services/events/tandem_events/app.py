"""The events service: events, registrations, meeting requests and schedules."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from tandem_events import api, consumers, repairer
from tandem_events.settings import EventsSettings
from tandem_events.tables import bus, metadata
from tandem_shared.runtime import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="events",
    settings_factory=EventsSettings,
    metadata=metadata,
    tables=bus,
    migrations=Path(__file__).parent / "migrations",
    routers=[api.router],
    subscriptions=consumers.subscriptions,
    on_startup=repairer.start,
    description="Events, registrations, meeting requests and 1:1 meeting schedules.",
)


def create_app(settings: EventsSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings)
