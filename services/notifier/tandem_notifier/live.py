"""Wakes live feed streams (and the delivery worker) when new rows were committed (in
process, asyncio).

The consumer path calls `notify_after_commit(session, signal)`; the wake-up fires only once
the transaction committed, so a rolled-back notification is never streamed. Streams also
poll on a timer, so rows written by another process still arrive.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_shared.aio import wait_event
from tandem_shared.runtime import Runtime

_STATE_KEY = "feed_signal"
_DELIVERY_KEY = "delivery_signal"


class FeedSignal:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def waiter(self) -> asyncio.Event:
        """Take this before reading the feed, then `wait` on it: no wake-up is lost."""
        return self._event

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    @staticmethod
    async def wait(waiter: asyncio.Event, seconds: float) -> None:
        await wait_event(waiter, seconds)


def feed_signal(runtime: Runtime) -> FeedSignal:
    signal: FeedSignal = runtime.state.setdefault(_STATE_KEY, FeedSignal())
    return signal


def delivery_signal(runtime: Runtime) -> FeedSignal:
    """Wakes the delivery worker when deliveries were queued in this process."""
    signal: FeedSignal = runtime.state.setdefault(_DELIVERY_KEY, FeedSignal())
    return signal


def notify_after_commit(session: AsyncSession, signal: FeedSignal) -> None:
    def committed(_session: Any) -> None:
        signal.notify()

    event.listen(session.sync_session, "after_commit", committed, once=True)
