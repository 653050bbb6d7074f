"""Small asyncio helpers shared by the runtime and the services."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` passed; True if it was set.

    Built on asyncio.timeout, not asyncio.wait_for: on Python 3.11 wait_for can swallow a
    cancellation that races with the event being set, and a task stopped at that moment
    would run on (a service hung on shutdown that way)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
