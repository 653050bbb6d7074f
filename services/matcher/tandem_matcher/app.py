"""The matcher service: multilingual, reciprocal, explainable partner matching."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from tandem_matcher import api, consumers, service
from tandem_matcher.encoder import build_encoder
from tandem_matcher.index import ProfileIndex
from tandem_matcher.settings import MatcherSettings
from tandem_matcher.tables import bus, metadata
from tandem_shared.db import transaction
from tandem_shared.logging import get_logger
from tandem_shared.runtime import Runtime, ServiceSpec, create_service_app

log = get_logger(__name__)


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
        loaded = await service.load_index(session, ctx.index)
        standing = await service.load_standing(session, ctx)
    runtime.state["matcher"] = ctx
    log.info("matcher.index_loaded", profiles=loaded, standing_matches=standing)


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
