"""The notifier service: partner alerts and meeting changes for hub staff."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from tandem_notifier import api, consumers
from tandem_notifier.delivery import DeliveryWorker, DigestTask
from tandem_notifier.live import delivery_signal
from tandem_notifier.settings import NotifierSettings
from tandem_notifier.tables import bus, metadata
from tandem_shared.runtime import Runtime, ServiceSpec, create_service_app, supervise


async def _start_delivery(runtime: Runtime) -> None:
    """Start the delivery worker and the digest task next to the relay and consumers,
    supervised the same way (a crash is logged and the task restarts with backoff)."""
    signal = delivery_signal(runtime)
    worker = DeliveryWorker(runtime.sessionmaker, runtime.settings, signal)
    digests = DigestTask(runtime.sessionmaker, runtime.settings, signal)
    runtime.tasks.append(asyncio.create_task(supervise("delivery-worker", worker.run)))
    runtime.tasks.append(asyncio.create_task(supervise("digest", digests.run)))


SPEC = ServiceSpec(
    name="notifier",
    settings_factory=NotifierSettings,
    metadata=metadata,
    tables=bus,
    migrations=Path(__file__).parent / "migrations",
    routers=[api.router],
    subscriptions=consumers.subscriptions,
    on_startup=_start_delivery,
    description="Notifies hub staff of new matches and meeting changes.",
)


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings)
