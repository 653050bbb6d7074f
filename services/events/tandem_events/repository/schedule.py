"""Meetings (the stored schedule) and the event row's record of schedule runs and
pending repairs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_events.domain.meetings import Meeting, MeetingStatus, Placed
from tandem_events.domain.plan import meeting_id
from tandem_events.repository.common import record, records
from tandem_events.repository.revision import touch_schedule
from tandem_events.tables import events, meetings
from tandem_shared.db import dialect_name


async def event_meetings(
    session: AsyncSession, event_id: uuid.UUID, *, status: MeetingStatus | None = None
) -> list[Meeting]:
    """The event's meetings (of any status, unless `status`) by slot and table."""
    query = select(meetings).where(meetings.c.event_id == event_id)
    if status is not None:
        query = query.where(meetings.c.status == status)
    query = query.order_by(meetings.c.slot, meetings.c.table_label, meetings.c.key)
    return records(Meeting, await session.execute(query))


async def place_meetings(
    session: AsyncSession,
    event_id: uuid.UUID,
    placed: Sequence[Placed],
    stored: Mapping[str, Meeting],
    *,
    now: datetime,
) -> list[Meeting]:
    """Store the placements as scheduled meetings: a key met before (`stored`, by key)
    keeps its row and id and gets its next version, a new key gets a new meeting."""
    written = [
        await _place(session, event_id, placement, stored.get(placement.key), now)
        for placement in placed
    ]
    await touch_schedule(session, [event_id] if written else [])
    return written


async def _place(
    session: AsyncSession,
    event_id: uuid.UUID,
    placement: Placed,
    existing: Meeting | None,
    now: datetime,
) -> Meeting:
    values = {**asdict(placement), "status": MeetingStatus.SCHEDULED, "updated_at": now}
    if existing is None:
        query = insert(meetings).values(
            **values,
            id=meeting_id(event_id, placement.key),
            event_id=event_id,
            version=1,
            outcome=None,
            rating=None,
            outcome_version=0,
            created_at=now,
        )
        return record(Meeting, (await session.execute(query.returning(meetings))).one())
    moved = (
        update(meetings)
        .where(meetings.c.id == existing.id)
        .values(**values, version=meetings.c.version + 1)
        .returning(meetings)
    )
    return record(Meeting, (await session.execute(moved)).one())


async def cancel_meetings(
    session: AsyncSession, event_id: uuid.UUID, cancelled: Sequence[Meeting], *, now: datetime
) -> list[Meeting]:
    """Cancel the meetings (each as its next version), in the order given."""
    if not cancelled:
        return []
    query = (
        update(meetings)
        .where(meetings.c.id.in_([meeting.id for meeting in cancelled]))
        .values(status=MeetingStatus.CANCELLED, version=meetings.c.version + 1, updated_at=now)
        .returning(meetings)
    )
    by_id = {row.id: row for row in records(Meeting, await session.execute(query))}
    await touch_schedule(session, [event_id])
    return [by_id[meeting.id] for meeting in cancelled]


async def record_schedule_run(
    session: AsyncSession, event_id: uuid.UUID, solver: str, *, now: datetime
) -> None:
    """The stored schedule now answers the current problem: no repair is pending. (Not a
    change the scheduler reads: the meetings' writes bumped the revision if they changed.)"""
    await session.execute(
        update(events)
        .where(events.c.id == event_id)
        .values(scheduled_at=now, schedule_solver=solver, repair_pending=None)
    )


async def clear_repair(session: AsyncSession, event_id: uuid.UUID) -> None:
    await session.execute(update(events).where(events.c.id == event_id).values(repair_pending=None))


async def pending_repairs(session: AsyncSession) -> list[uuid.UUID]:
    query = select(events.c.id).where(events.c.repair_pending.is_not(None)).order_by(events.c.id)
    return list((await session.execute(query)).scalars())


@asynccontextmanager
async def repair_lease(
    sessionmaker: async_sessionmaker[AsyncSession], event_id: uuid.UUID
) -> AsyncIterator[bool]:
    """Hold the event's repair lease while the block runs: True if this replica got it,
    False if another replica is repairing the event now. A PostgreSQL advisory lock held
    by a transaction of its own (idle while the solver runs), so a replica that dies
    releases it with its connection. SQLite (one process) always gets it."""
    async with sessionmaker() as session:
        if dialect_name(session) != "postgresql":
            yield True
            return
        lease = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))")
        key = f"tandem-events-repair:{event_id}"
        held = bool((await session.execute(lease, {"key": key})).scalar_one())
        try:
            yield held
        finally:
            await session.rollback()  # ends the transaction: the lease is released
