"""wait_event must never swallow a cancellation, even one racing with the wake-up."""

from __future__ import annotations

import asyncio

import pytest

from tandem_shared.aio import wait_event

pytestmark = pytest.mark.unit


async def test_returns_false_after_the_timeout_and_true_once_set() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 10) is True


async def test_cancellation_racing_with_the_wake_up_still_cancels() -> None:
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_event(event, 10))
    await asyncio.sleep(0)  # the task is now waiting on the event
    event.set()
    waiter.cancel()  # same tick: asyncio.wait_for on 3.11 would return True instead
    with pytest.raises(asyncio.CancelledError):
        await waiter
