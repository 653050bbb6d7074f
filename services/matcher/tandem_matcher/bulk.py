"""Bulk rescoring: every profile's top-k again, after a model or weight change.

The projection in the matcher's tables is encoded once (texts batched through the cached
encoder) and loaded like the service loads it at start (profiles, events, registrations,
relations, standing scores, learned weights). Profiles are then scored in blocks
(`VectorIndex.score_block`: one matrix-matrix product per direction per block, the same
component code as an upsert's `VectorIndex.score`), and each profile's table goes through
`service.apply_scores`, the very tail of the profile-upsert handler: it decides suggest /
update / withdraw and enqueues match.suggested / match.updated / match.withdrawn in the
outbox, in one transaction per block (a crash loses at most the block in flight; rerunning
is safe: unchanged pairs produce nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_matcher import repository, service
from tandem_matcher.domain.bulk import blocks
from tandem_matcher.domain.scoring import ProfileVectors
from tandem_matcher.encoder import Encoder
from tandem_matcher.index import texts_of
from tandem_matcher.repository import ProfileRow
from tandem_shared.db import transaction

ENCODE_CHUNK = 512


@dataclass(frozen=True)
class Summary:
    profiles: int
    changed: int  # pairs suggested, updated or withdrawn (one outbox message each)


def encode_texts(
    rows: Sequence[ProfileRow], encoder: Encoder, encode_chunk: int = ENCODE_CHUNK
) -> int:
    """Encode every distinct text of the rows in large batches, so the (cached) encoder
    then serves each profile from its cache: far faster than a call per profile."""
    texts = list(
        dict.fromkeys(t for row in rows for t in (*texts_of(row.needs), *texts_of(row.offers)))
    )
    for start in range(0, len(texts), encode_chunk):
        encoder.embed(texts[start : start + encode_chunk])
    return len(texts)


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
        rows = await repository.all_profiles(session)
    await asyncio.to_thread(encode_texts, rows, ctx.index.encoder)
    async with transaction(sessionmaker) as session:
        await service.load(session, ctx)
    profiles = [p for row in rows if (p := ctx.index.get(str(row.id))) is not None]
    for block in blocks(profiles, batch):
        await _write_block(sessionmaker, ctx, block)
        progress(len(block))
    async with transaction(sessionmaker) as session:
        changed = await repository.changed_since(session, started)
    return Summary(profiles=len(profiles), changed=changed)


async def _write_block(
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: service.MatcherContext,
    block: Sequence[ProfileVectors],
) -> None:
    async with transaction(sessionmaker) as session:
        view = await service.begin(session, ctx)
        tables = service.score_block(view, block)
        for profile, table in zip(block, tables, strict=True):
            await service.apply_scores(session, view, profile, table)
