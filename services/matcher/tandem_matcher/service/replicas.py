"""Matcher replicas: N processes over one database with the results of one.

Each replica keeps the full in-memory state (index, standing scores, weights) of what its
hub may match, while the consumer group splits the messages between replicas so each
update is scored once. A use case that changes the state works on `begin(session, ctx)`:

- it waits for the index lock (held until its transaction ends), so replicas change the
  state one transaction at a time, in the order a single replica would;
- it replays the journal rows other replicas committed since this replica last looked
  (their profiles, registrations, events, relations, weights, standing scores), so it
  scores against everything, and never withdraws a pair because its other half reached
  another replica;
- its own changes are written to the journal in the same transaction (`before_commit`).

Profiles, registrations and weights are re-read from their tables when replayed; the
journal row only says which changed. Encoding a new profile happens before the lock."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from tandem_matcher import repository
from tandem_matcher.domain.pairs import Relation
from tandem_matcher.domain.scoring import EventState, Weights
from tandem_matcher.domain.topk import replay
from tandem_matcher.service import embeddings
from tandem_matcher.service.context import MatcherContext, now


async def begin(session: AsyncSession, ctx: MatcherContext) -> MatcherContext:
    """Lock, catch up with the other replicas, and return the transaction's view, whose
    changes reach the journal when the transaction commits."""
    await repository.lock_index(session)
    await catch_up(session, ctx)
    view = ctx.begin(session)

    def write_journal(sync_session: Session) -> None:
        entries = view.journal_entries()
        if entries:
            view.written = repository.append_journal(sync_session.connection(), entries, now())

    event.listen(session.sync_session, "before_commit", write_journal, once=True)
    return view


async def catch_up(session: AsyncSession, ctx: MatcherContext) -> int:
    """Apply the journal rows committed since `ctx.seen` to the shared state (`ctx` is
    the shared context, not a view); how many. Replaying a row twice changes nothing."""
    assert ctx.parent is None, "catch up the shared context, not a transaction's view"
    # One catch-up at a time per process: two interleaved ones could apply an older row
    # after a newer one.
    async with ctx.catching_up:
        rows = await repository.journal_since(session, ctx.seen)
        for seq, entries in rows:
            for entry in entries:
                await _apply(session, ctx, entry)
            ctx.seen = max(ctx.seen, seq)
    return len(rows)


async def _apply(session: AsyncSession, ctx: MatcherContext, entry: dict[str, Any]) -> None:
    kind, vectors = entry["kind"], ctx.index.vectors
    if kind == "profile":
        await _reload_profile(session, ctx, entry["id"])
    elif kind == "registration":
        event_id, profile_id = entry["event_id"], entry["profile_id"]
        if await repository.registered(session, uuid.UUID(event_id), uuid.UUID(profile_id)):
            vectors.register(event_id, profile_id)
        else:
            vectors.unregister(event_id, profile_id)
    elif kind == "event":
        ends_at = datetime.fromisoformat(entry["ends_at"]) if entry["ends_at"] else None
        vectors.set_event(entry["id"], EventState(ends_at, entry["cancelled"]))
    elif kind == "relation":
        vectors.set_relation(entry["a"], entry["b"], Relation(entry["relation"]))
    elif kind == "weights":
        learned = await repository.learned(session)
        ctx.weights = Weights(**{**ctx.configured_weights.as_dict(), **learned})
    elif kind == "standing":
        replay(ctx.standing, entry["changes"])
    else:
        raise ValueError(f"unknown journal entry: {kind!r}")


async def _reload_profile(session: AsyncSession, ctx: MatcherContext, profile_id: str) -> None:
    row = await repository.get_profile(session, uuid.UUID(profile_id))
    if row is None:
        ctx.index.remove(profile_id)
    else:
        # Its replica stored the texts' vectors: read them rather than encode again.
        texts = [item["text"] for item in (*row.needs, *row.offers)]
        await embeddings.preload(session, ctx.index, texts)
        ctx.index.put(await asyncio.to_thread(ctx.index.vectors_for, row.columns()))


async def keep_up(
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: MatcherContext,
    *,
    every_seconds: float,
    keep_seconds: float,
) -> None:
    """Catch up now and then without the lock (committed rows are always a prefix of the
    journal, as writers hold the lock), so an idle replica's state stays fresh and its
    next write has little to replay; drop journal rows older than `keep_seconds` (a
    replica away that long rebuilds from the tables at start)."""
    while True:
        await asyncio.sleep(every_seconds)
        async with sessionmaker() as session, session.begin():
            await catch_up(session, ctx)
            await repository.prune_journal(session, now() - timedelta(seconds=keep_seconds))
