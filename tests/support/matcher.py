"""The matcher's context under test: built on real PostgreSQL, fed profile messages one
handler transaction at a time, and compared by snapshot."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_matcher import service
from tandem_matcher.encoder import CachedEncoder
from tandem_matcher.index import ProfileIndex
from tandem_matcher.settings import MatcherSettings
from tandem_matcher.tables import bus
from tandem_shared.bus.consumer import claim_in_inbox
from tandem_shared.contracts import (
    Envelope,
    ProfileData,
    ProfileUpserted,
)
from tests.support import complementary_profiles

Handler = Callable[[AsyncSession, Any, service.MatcherContext], Awaitable[None]]
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def context(encoder: CachedEncoder) -> service.MatcherContext:
    settings = MatcherSettings(learning_rate=0.2, encoder=encoder.name)
    return service.MatcherContext(
        index=ProfileIndex(encoder, settings.structure()),
        threshold=settings.threshold,
        top_k=settings.top_k,
        material_change=settings.material_change,
        hub="test",
        weights=settings.weights.weights(),
        learning_rate=settings.learning_rate,
    )


async def handle(
    sessions: async_sessionmaker[AsyncSession],
    ctx: service.MatcherContext,
    handler: Handler,
    message: Envelope,
    *,
    fail_after: bool = False,
) -> None:
    """What the consumer runner does with one record; `fail_after` fails the transaction
    after the handler returned (as a failing commit would)."""
    async with sessions() as session, session.begin():
        assert await claim_in_inbox(
            session, bus, consumer="test", message_id=str(message.id), topic="t"
        )
        await handler(session, message, ctx)
        if fail_after:
            raise RuntimeError("the transaction fails after the handler")


def upserted(fields: dict[str, Any]) -> ProfileUpserted:
    data = ProfileData(
        **{**fields, "id": uuid.uuid4(), "hub": "demo", "version": 1, "updated_at": NOW}
    )
    return ProfileUpserted(source="/test", subject=str(data.id), hub="demo", data=data)


def snapshot(ctx: service.MatcherContext, ids: list[str]) -> dict[str, Any]:
    """Everything in memory that scoring depends on, for these profiles."""
    vectors = ctx.index.vectors
    return {
        "indexed": sorted(i for i in ids if ctx.index.get(i) is not None),
        "standing": {
            (a, b): ctx.standing.score(a, b)
            for a in ids
            for b in ids
            if ctx.standing.score(a, b) is not None
        },
        "kth": {i: ctx.standing.kth(i) for i in ids},
        "relations": {(a, b): vectors.relation(a, b) for a in ids for b in ids if a != b},
        "weights": ctx.weights,
    }


def demo_upserted(
    fields: dict[str, Any], *, sharing: str = "hub", version: int = 1
) -> ProfileUpserted:
    values = {"id": uuid.uuid4(), **fields}
    values.update(sharing=sharing, hub="demo", version=version, updated_at=NOW)
    data = ProfileData(**values)
    return ProfileUpserted(source="/test", subject=str(data.id), hub="demo", data=data)


def two_profiles(sharing: str = "hub") -> tuple[ProfileUpserted, ProfileUpserted]:
    museum, studio = complementary_profiles()
    return (
        demo_upserted({**museum, "id": uuid.uuid4()}, sharing=sharing),
        demo_upserted({**studio, "id": uuid.uuid4()}, sharing=sharing),
    )
