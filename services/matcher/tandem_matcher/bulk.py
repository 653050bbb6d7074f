"""Bulk rescoring: every profile's top-k again, after a model or weight change.

The projection in the matcher's tables is encoded once (texts batched through the cached
encoder), every profile's top-k comes from blocked matrix products (domain/bulk.py), and
each profile's result is written exactly as an upsert would write it: the service's own
functions decide suggest / update / withdraw and enqueue match.suggested / match.updated /
match.withdrawn in the outbox, in one transaction per block (a crash loses at most the
block in flight; rerunning is safe: unchanged pairs produce nothing)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_matcher import repository, service
from tandem_matcher.domain.bulk import BulkScorer, Ranked
from tandem_matcher.domain.scoring import ProfileVectors, VectorIndex
from tandem_matcher.index import ProfileIndex, texts_of
from tandem_matcher.tables import matches
from tandem_shared.contracts import pair_id
from tandem_shared.db import transaction

ENCODE_CHUNK = 512


@dataclass(frozen=True)
class Summary:
    profiles: int
    changed: int  # pairs suggested, updated or withdrawn (one outbox message each)


def encode_profiles(
    rows: Sequence[dict[str, Any]], index: ProfileIndex, encode_chunk: int = ENCODE_CHUNK
) -> list[ProfileVectors]:
    """The projected profiles, encoded; the texts go to the encoder in large batches first
    (the cache then serves each profile), which is far faster than a call per profile."""
    texts = list(
        dict.fromkeys(
            t for row in rows for t in (*texts_of(row["needs"]), *texts_of(row["offers"]))
        )
    )
    for start in range(0, len(texts), encode_chunk):
        index.encoder.encode(texts[start : start + encode_chunk])
    return [index.vectors_for(row) for row in rows]


async def apply_ranked(session: AsyncSession, ctx: service.MatcherContext, ranked: Ranked) -> None:
    """Write one profile's new top-k the way `service.on_profile_upserted` does after it
    scored the profile: suggest or update its top-k, review its other standing matches.
    The scores and explanations come from the scoring module itself, over the top-k and
    the standing partners only."""
    profile = ranked.profile
    existing = {
        m["pair_id"]: m for m in await repository.matches_of(session, uuid.UUID(profile.id))
    }
    involved = {c.id: c for c in ranked.candidates}
    for match in existing.values():
        other = str(
            match["profile_b"] if str(match["profile_a"]) == profile.id else match["profile_a"]
        )
        vectors = ctx.index.get(other)
        if vectors is not None:
            involved.setdefault(other, vectors)
    small = VectorIndex(ctx.index.vectors.dim)
    for candidate in involved.values():
        small.put(candidate)
    table = small.score(profile, ctx.weights)
    for candidate in ranked.candidates:
        result = table.for_id(candidate.id)
        if result is None:  # cannot happen: the blocked pass saw it visible
            continue
        key = pair_id(profile.id, candidate.id)
        await service._suggest_or_update(session, ctx, profile, result, existing.pop(key, None))
    for match in existing.values():
        await service._review_existing(session, ctx, profile, table, match)


async def _changed_since(session: AsyncSession, since: datetime) -> int:
    query = select(func.count()).select_from(matches).where(matches.c.updated_at >= since)
    return int((await session.execute(query)).scalar_one())


async def rescore_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: service.MatcherContext,
    *,
    batch: int,
    progress: Callable[[int], object] = lambda done: None,
) -> Summary:
    """Recompute and write every profile's top-k; `progress(n)` after each block of n."""
    started = datetime.now(UTC)
    async with transaction(sessionmaker) as session:  # read, then encode outside it
        rows = [dict(row) for row in await repository.all_profiles(session)]
    profiles = await asyncio.to_thread(encode_profiles, rows, ctx.index)
    for vectors in profiles:
        ctx.index.put(vectors)
    scorer = BulkScorer(profiles, ctx.index.vectors.dim)
    blocks = scorer.top_k(ctx.top_k, weights=ctx.weights, min_score=ctx.threshold, batch=batch)
    for block in blocks:
        await _write_block(sessionmaker, ctx, block)
        progress(len(block))
    async with transaction(sessionmaker) as session:
        changed = await _changed_since(session, started)
    return Summary(profiles=len(profiles), changed=changed)


async def _write_block(
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: service.MatcherContext,
    block: Sequence[Ranked],
) -> None:
    async with transaction(sessionmaker) as session:
        for ranked in block:
            await apply_ranked(session, ctx, ranked)
