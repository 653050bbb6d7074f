"""The matcher's in-memory state (index, standing scores and k-th bests, learned weights)
follows its tables: a handler whose transaction rolls back (a failing outbox write, a
failure after the handler) changes none of it, and the retried message leaves it equal
to what a restart would rebuild from the tables. Runs the handlers on PostgreSQL the way
the consumer runner does (inbox claim + handler in one transaction)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_matcher import service
from tandem_matcher.encoder import CachedEncoder
from tandem_shared.bus import publisher
from tandem_shared.contracts import (
    MeetingOutcomeData,
    MeetingOutcomeRecorded,
    pair_id,
)
from tests.support import complementary_profiles
from tests.support.matcher import context, handle, snapshot, upserted

pytestmark = pytest.mark.integration


async def rebuilt(
    sessions: async_sessionmaker[AsyncSession], encoder: CachedEncoder
) -> service.MatcherContext:
    """A context as a restart builds it from the tables."""
    fresh = context(encoder)
    async with sessions() as session, session.begin():
        await service.load_index(session, fresh.index)
        await service.load_standing(session, fresh)
    return fresh


async def test_a_rolled_back_handler_changes_nothing_in_memory_and_the_retry_matches_the_tables(
    sessions: async_sessionmaker[AsyncSession],
    encoder: CachedEncoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    museum_fields, studio_fields = complementary_profiles()
    museum, studio = upserted(museum_fields), upserted(studio_fields)
    atelier = upserted({**studio_fields, "name": "Atelier Drei"})
    ids = [str(m.data.id) for m in (museum, studio, atelier)]
    ctx = context(encoder)
    for message in (museum, studio):
        await handle(sessions, ctx, service.on_profile_upserted, message)
    assert ctx.standing.score(ids[0], ids[1]) is not None
    before = snapshot(ctx, ids)

    # 1. The outbox write fails: the whole transaction rolls back.
    async def outbox_down(*_: Any, **__: Any) -> None:
        raise RuntimeError("outbox unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(publisher, "enqueue_many", outbox_down)
        with pytest.raises(RuntimeError, match="outbox unavailable"):
            await handle(sessions, ctx, service.on_profile_upserted, atelier)
    assert snapshot(ctx, ids) == before

    # 2. The retry commits: memory now holds what the tables say.
    await handle(sessions, ctx, service.on_profile_upserted, atelier)
    after = snapshot(ctx, ids)
    assert ids[2] in after["indexed"] and ctx.standing.score(ids[0], ids[2]) is not None
    assert after == snapshot(await rebuilt(sessions, encoder), ids)

    # 3. A meeting outcome (partners + learned weights) whose transaction fails after
    #    the handler: neither the relation nor the weights move; its retry moves both.
    outcome = MeetingOutcomeRecorded(
        source="/test",
        subject=str(uuid.uuid4()),
        hub="demo",
        data=MeetingOutcomeData(
            id=uuid.uuid4(),
            event_id=uuid.uuid4(),
            version=1,
            pair_id=pair_id(museum.data.id, studio.data.id),
            outcome="agreement",
        ),
    )
    with pytest.raises(RuntimeError, match="fails after the handler"):
        await handle(sessions, ctx, service.on_meeting_outcome, outcome, fail_after=True)
    assert snapshot(ctx, ids) == after
    await handle(sessions, ctx, service.on_meeting_outcome, outcome)
    learned = snapshot(ctx, ids)
    assert learned["weights"] != after["weights"]
    assert ctx.index.vectors.relation(ids[0], ids[1]) == "partners"
    assert learned == snapshot(await rebuilt(sessions, encoder), ids)
