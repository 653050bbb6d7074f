"""Events: the organiser's announcements, and the event row's scheduling bookkeeping."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.events import Event, EventQuery, EventStatus
from tandem_events.repository.common import maybe, record, records
from tandem_events.repository.revision import next_revision
from tandem_events.tables import events


async def get_event(
    session: AsyncSession, event_id: uuid.UUID, *, for_update: bool = False
) -> Event | None:
    query = select(events).where(events.c.id == event_id)
    if for_update:
        # Serialises registrations (capacity) and scheduling runs of one event.
        query = query.with_for_update()
    return maybe(Event, (await session.execute(query)).first())


async def insert_event(session: AsyncSession, values: dict[str, Any]) -> Event:
    query = insert(events).values(**values).returning(events)
    return record(Event, (await session.execute(query)).one())


async def update_event(
    session: AsyncSession, event_id: uuid.UUID, changes: dict[str, Any], *, now: datetime
) -> Event:
    """Apply changed fields as the next version. The scheduler reads the event (its
    sessions, tables, status), so the schedule revision moves on with every change."""
    return await _next_version(session, event_id, {**changes, "updated_at": now})


async def cancel_event(
    session: AsyncSession, event_id: uuid.UUID, reason: str | None, *, now: datetime
) -> Event:
    values = {"status": EventStatus.CANCELLED, "cancel_reason": reason, "updated_at": now}
    return await _next_version(session, event_id, values)


async def _next_version(
    session: AsyncSession, event_id: uuid.UUID, values: dict[str, Any]
) -> Event:
    query = (
        update(events)
        .where(events.c.id == event_id)
        .values(**values, version=events.c.version + 1, **next_revision())
        .returning(events)
    )
    return record(Event, (await session.execute(query)).one())


async def list_events(session: AsyncSession, filters: EventQuery) -> tuple[list[Event], int]:
    condition = and_(true(), *_conditions(filters))
    total = (
        await session.execute(select(func.count()).select_from(events).where(condition))
    ).scalar_one()
    query = (
        select(events)
        .where(condition)
        .order_by(events.c.starts_at, events.c.id)
        .offset((filters.page - 1) * filters.per_page)
        .limit(filters.per_page)
    )
    return records(Event, await session.execute(query)), total


def _conditions(filters: EventQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.kind is not None:
        conditions.append(events.c.kind == filters.kind)
    if filters.hub is not None:
        conditions.append(events.c.hub == filters.hub)
    if filters.status is not None:
        conditions.append(events.c.status == filters.status)
    if filters.sector is not None:
        # A JSON array is stored as text on every backend (json, not jsonb, on PostgreSQL):
        # match the quoted element, which no other sector's name contains.
        conditions.append(
            cast(events.c.sectors, String).contains(
                json.dumps(filters.sector.value), autoescape=True
            )
        )
    if filters.starts_after is not None:
        conditions.append(events.c.starts_at >= filters.starts_after)
    if filters.starts_before is not None:
        conditions.append(events.c.starts_at < filters.starts_before)
    return conditions
