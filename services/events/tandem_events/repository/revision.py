"""The schedule revision: optimistic concurrency for schedule runs.

A solver run reads an event's problem at some revision, solves outside any transaction,
and stores its result only if the revision is unchanged. So every write to what the
scheduler reads (the event, registrations holding a place, answered requests, suggestions,
meetings) bumps the revision, inside the repository function that writes: a write that
forgot would let a stale schedule be stored. `tests/integration/test_events_revision.py`
checks each of them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.events import EventStatus
from tandem_events.tables import events


def next_revision() -> dict[str, Any]:
    """The bump as values of an UPDATE of the event row itself."""
    return {"schedule_revision": events.c.schedule_revision + 1}


async def touch_schedule(session: AsyncSession, event_ids: Iterable[uuid.UUID]) -> None:
    """Record that what the scheduler reads for these events changed (the next revision)."""
    ids = set(event_ids)
    if ids:
        await session.execute(update(events).where(events.c.id.in_(ids)).values(**next_revision()))


async def request_repair(session: AsyncSession, event_id: uuid.UUID, reason: str) -> None:
    """Mark the event's schedule for repair (done after the commit), only if it is active
    and has a schedule: an unscheduled event stays unscheduled."""
    await session.execute(
        update(events)
        .where(
            events.c.id == event_id,
            events.c.status == EventStatus.ACTIVE,
            events.c.scheduled_at.is_not(None),
        )
        .values(repair_pending=reason)
    )
