"""Two matcher replicas over one database behave as one: each keeps the full index of what
its hub may match (it replays the journal of the other's changes), profiles whose halves
were handled by different replicas are matched, a candidate only the other replica saw is
not withdrawn as "no longer visible", and two writers of the same pair version never both
succeed. Runs the handlers on PostgreSQL the way the consumer runner does (inbox claim +
handler in one transaction), each replica with its own in-memory context."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_matcher import repository, service
from tandem_matcher.domain.pairs import MatchStatus
from tandem_matcher.encoder import CachedEncoder, Encoded, Encoder
from tandem_matcher.tables import bus
from tandem_shared.contracts import ProfileUpserted, pair_id
from tests.support import complementary_profiles
from tests.support.matcher import (
    context,
    handle,
    snapshot,
    upserted,
)

pytestmark = pytest.mark.integration


async def published(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    """Every match message in the outbox, oldest first."""
    async with sessions() as session:
        rows = await session.execute(select(bus.outbox.c.payload).order_by(bus.outbox.c.id))
        return [json.loads(row.payload) for row in rows if row.payload]


def pair_versions(messages: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(m["data"]["pair_id"], m["data"]["version"]) for m in messages if m.get("data")]


async def test_a_pair_whose_halves_land_on_different_replicas_is_matched_and_kept(
    sessions: async_sessionmaker[AsyncSession], encoder: CachedEncoder
) -> None:
    museum_fields, studio_fields = complementary_profiles()
    museum, studio = upserted(museum_fields), upserted(studio_fields)
    pair = pair_id(museum.data.id, studio.data.id)
    first, second = context(encoder), context(encoder)

    await handle(sessions, first, service.on_profile_upserted, museum)
    await handle(sessions, second, service.on_profile_upserted, studio)
    async with sessions() as session:
        match = await repository.get_match(session, pair)
    assert match is not None and match.status == MatchStatus.SUGGESTED

    # The museum changes on the first replica, which never handled the studio: the pair
    # must be rescored, not withdrawn as "no longer visible".
    renamed = museum.data.model_copy(update={"version": 2, "name": "Muzeum (nowa nazwa)"})
    changed = ProfileUpserted(source="/test", subject=str(renamed.id), hub="demo", data=renamed)
    await handle(sessions, first, service.on_profile_upserted, changed)
    async with sessions() as session:
        match = await repository.get_match(session, pair)
    assert match is not None and match.status == MatchStatus.SUGGESTED
    messages = await published(sessions)
    assert [m["type"] for m in messages if m["type"].endswith("withdrawn")] == []
    versions = pair_versions(messages)
    assert len(versions) == len(set(versions))

    # Both replicas now hold the same state for scoring as a single one that had seen all.
    ids = [str(museum.data.id), str(studio.data.id)]
    await handle_nothing(sessions, second)
    assert snapshot(first, ids) == snapshot(second, ids)


async def handle_nothing(sessions: async_sessionmaker[AsyncSession], ctx: Any) -> None:
    """A transaction that only catches the replica up with the journal."""
    async with sessions() as session, session.begin():
        await service.begin(session, ctx)


async def test_concurrent_handlers_on_two_replicas_still_match_the_pair(
    sessions: async_sessionmaker[AsyncSession], encoder: CachedEncoder
) -> None:
    """Both replicas handle their half at the same time: whichever scores second sees the
    other's profile, so the pair is found, as a single replica would find it."""
    museum_fields, studio_fields = complementary_profiles()
    museum, studio = upserted(museum_fields), upserted(studio_fields)
    first, second = context(encoder), context(encoder)
    await asyncio.gather(
        handle(sessions, first, service.on_profile_upserted, museum),
        handle(sessions, second, service.on_profile_upserted, studio),
    )
    async with sessions() as session:
        match = await repository.get_match(session, pair_id(museum.data.id, studio.data.id))
    assert match is not None and match.status == MatchStatus.SUGGESTED


async def test_two_writers_of_the_same_pair_version_cannot_both_succeed(
    sessions: async_sessionmaker[AsyncSession], encoder: CachedEncoder
) -> None:
    """Two transactions read the pair at version 1 and each writes version 2: the second
    to commit must fail (and roll back) instead of overwriting the first."""
    museum_fields, studio_fields = complementary_profiles()
    ctx = context(encoder)
    for message in (upserted(museum_fields), upserted(studio_fields)):
        await handle(sessions, ctx, service.on_profile_upserted, message)
    async with sessions() as session:
        (match,) = await repository.matches_with_status(session, (MatchStatus.SUGGESTED,))
    assert match.version == 1

    async with sessions() as one, sessions() as other:
        await one.begin()
        await other.begin()
        await repository.upsert_matches(one, [replace(match, version=2, score=0.9)])
        racing = asyncio.create_task(
            repository.upsert_matches(other, [replace(match, version=2, score=0.1)])
        )
        # Whether the racing write waits on the row lock or comes after the commit, it
        # must fail: the outcome does not depend on this pause.
        await asyncio.sleep(0.2)
        await one.commit()
        with pytest.raises(repository.MatchVersionConflict):
            await racing
        await other.rollback()
    async with sessions() as session:
        stored = await repository.get_match(session, match.pair_id)
    assert stored is not None and (stored.version, stored.score) == (2, 0.9)


class CountingEncoder:
    """The real encoder, counting the texts it is asked to encode."""

    def __init__(self, inner: Encoder) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.sparse_dimension, self.dense_share = inner.sparse_dimension, inner.dense_share
        self.encoded = 0

    def embed(self, texts: Sequence[str]) -> Encoded:
        self.encoded += len(texts)
        return self.inner.embed(texts)


async def test_a_restart_and_a_replica_catching_up_read_stored_vectors_instead_of_encoding(
    sessions: async_sessionmaker[AsyncSession], encoder: CachedEncoder
) -> None:
    museum_fields, studio_fields = complementary_profiles()
    museum, studio = upserted(museum_fields), upserted(studio_fields)
    first = context(encoder)
    for message in (museum, studio):
        await handle(sessions, first, service.on_profile_upserted, message)
    async with sessions() as session:
        stored = await repository.stored_embeddings(session, encoder.name)
    assert len(stored) == 4  # a need and an offer each

    # A replica with a cold cache replays the journal: no text is encoded again.
    counting = CountingEncoder(encoder.inner)
    replica = context(CachedEncoder(counting))
    await handle_nothing(sessions, replica)
    # A restart loads every profile from the tables: no text is encoded again either.
    restarted = context(CachedEncoder(counting))
    async with sessions() as session, session.begin():
        await service.load(session, restarted)
    assert counting.encoded == 0
    ids = [str(museum.data.id), str(studio.data.id)]
    for ctx in (replica, restarted):
        assert snapshot(ctx, ids) == snapshot(first, ids)
        for profile_id in ids:
            mine, theirs = ctx.index.get(profile_id), first.index.get(profile_id)
            assert mine is not None and theirs is not None
            assert (mine.needs == theirs.needs).all() and (mine.offers == theirs.offers).all()
