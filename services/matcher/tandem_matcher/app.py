"""The matcher service: multilingual, reciprocal, explainable partner matching."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from tandem_matcher import api, consumers, service
from tandem_matcher.encoder import build_encoder
from tandem_matcher.index import ProfileIndex
from tandem_matcher.settings import MatcherSettings
from tandem_matcher.tables import bus, metadata
from tandem_shared.db import transaction
from tandem_shared.logging import get_logger
from tandem_shared.runtime import Runtime, ServiceSpec, create_service_app, supervise

log = get_logger(__name__)
# How often an idle replica replays the other replicas' journal, and how long the journal
# keeps a row (a replica away longer rebuilds its state from the tables at start anyway).
KEEP_UP_SECONDS = 2.0
JOURNAL_KEEP_SECONDS = 24 * 3600.0


def build_context(settings: MatcherSettings) -> service.MatcherContext:
    """The matcher's context from its settings (encoder, structure, threshold, top-k,
    configured weights, learning rate), index empty; the service and the CLI share it."""
    index = ProfileIndex(
        build_encoder(settings.encoder, settings.encoder_threads), settings.structure()
    )
    return service.MatcherContext(
        index=index,
        threshold=settings.threshold,
        top_k=settings.top_k,
        material_change=settings.material_change,
        hub=settings.hub,
        weights=settings.weights.weights(),
        learning_rate=settings.learning_rate,
    )


async def _build_index(runtime: Runtime) -> None:
    ctx = build_context(runtime.settings)
    async with transaction(runtime.sessionmaker) as session:
        loaded, standing = await service.load(session, ctx)
    runtime.state["matcher"] = ctx
    log.info("matcher.index_loaded", profiles=loaded, standing_matches=standing)
    keep_up = partial(
        service.keep_up,
        runtime.sessionmaker,
        ctx,
        every_seconds=KEEP_UP_SECONDS,
        keep_seconds=JOURNAL_KEEP_SECONDS,
    )
    runtime.tasks.append(asyncio.create_task(supervise("matcher-journal", keep_up)))


SPEC = ServiceSpec(
    name="matcher",
    settings_factory=MatcherSettings,
    metadata=metadata,
    tables=bus,
    migrations=Path(__file__).parent / "migrations",
    routers=[api.router],
    subscriptions=consumers.subscriptions,
    on_startup=_build_index,
    description="Scores organisation pairs and publishes explainable match suggestions.",
)


def create_app(settings: MatcherSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings)
