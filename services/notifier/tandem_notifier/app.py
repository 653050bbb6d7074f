"""The notifier service: partner alerts and meeting changes for hub staff."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from tandem_notifier import api, consumers
from tandem_notifier.settings import NotifierSettings
from tandem_notifier.tables import bus, metadata
from tandem_shared.runtime import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="notifier",
    settings_factory=NotifierSettings,
    metadata=metadata,
    tables=bus,
    migrations=Path(__file__).parent / "migrations",
    routers=[api.router],
    subscriptions=consumers.subscriptions,
    description="Notifies hub staff of new matches and meeting changes.",
)


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings)
