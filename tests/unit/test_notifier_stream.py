"""The live feed's cursor and its commit wake-up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tandem_notifier.domain.stream import FeedCursor
from tandem_notifier.live import FeedSignal, notify_after_commit
from tandem_shared.db import create_engine, create_sessionmaker

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    id: uuid.UUID
    created_at: datetime


def row(seconds: float) -> Row:
    return Row(uuid.uuid4(), T0 + timedelta(seconds=seconds))


def test_cursor_sends_each_row_once_and_rereads_a_grace_window() -> None:
    cursor = FeedCursor(floor=T0, grace=timedelta(seconds=5))
    early, late = row(1), row(20)
    assert cursor.take([early, late]) == [early, late]
    assert cursor.take([late]) == []
    assert cursor.since() == T0 + timedelta(seconds=15)
    assert cursor.sent() == {late.id}, "ids older than the window are forgotten"
    committed_late = row(17)  # created before `late`, visible only now
    assert cursor.take([committed_late, late]) == [committed_late]


def test_cursor_never_reads_before_its_floor() -> None:
    cursor = FeedCursor(floor=T0 + timedelta(seconds=3), grace=timedelta(seconds=5))
    cursor.take([row(4)])
    assert cursor.since() == T0 + timedelta(seconds=3)


@pytest.mark.parametrize("commit", [True, False])
async def test_streams_are_woken_only_after_a_commit(commit: bool) -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    signal = FeedSignal()
    waiter = signal.waiter()
    async with create_sessionmaker(engine)() as session:
        await session.begin()
        await session.execute(text("SELECT 1"))
        notify_after_commit(session, signal)
        assert not waiter.is_set(), "never before the transaction ended"
        await (session.commit() if commit else session.rollback())
    await engine.dispose()
    assert waiter.is_set() is commit
    assert not signal.waiter().is_set(), "the next wait starts fresh"
