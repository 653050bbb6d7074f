"""Database access for the notifier. Never commits: the edge owns the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from tandem_shared.db import insert_ignoring_conflict

from tandem_notifier.tables import directory, notifications


async def profile_names(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(directory.c.id, directory.c.name).where(directory.c.id.in_(ids))
    )
    return {row.id: row.name for row in rows}


async def insert_notification(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert unless this (message, hub, channel) was already notified."""
    return await insert_ignoring_conflict(session, notifications, values)


async def feed(
    session: AsyncSession, hub: str, *, unread_only: bool, offset: int, limit: int
) -> tuple[list[RowMapping], int]:
    conditions = [notifications.c.hub == hub, notifications.c.channel == "feed"]
    if unread_only:
        conditions.append(notifications.c.read_at.is_(None))
    total = (
        await session.execute(select(func.count()).select_from(notifications).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(notifications)
        .where(*conditions)
        .order_by(notifications.c.created_at.desc(), notifications.c.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows.mappings().all()), int(total)


async def mark_read(
    session: AsyncSession, hub: str, notification_id: uuid.UUID, at: datetime
) -> bool:
    result = await session.execute(
        update(notifications)
        .where(notifications.c.id == notification_id, notifications.c.hub == hub)
        .values(read_at=func.coalesce(notifications.c.read_at, at))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
