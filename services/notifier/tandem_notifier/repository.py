"""Database access for the notifier. Never commits: the edge owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier.tables import directory, notifications, preferences, subscriptions
from tandem_shared.db import dialect_name, insert_ignoring_conflict

MATCH_ALERTS = ("match.suggested", "match.updated")


async def profile_names(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(directory.c.id, directory.c.name).where(directory.c.id.in_(ids))
    )
    return {row.id: row.name for row in rows}


async def insert_notification(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert unless this (message, hub, channel) was already notified."""
    return await insert_ignoring_conflict(session, notifications, values)


async def withdraw_pair(session: AsyncSession, hub: str, subject: str, at: datetime) -> int:
    """Mark the hub's live feed alerts about this pair withdrawn; how many were."""
    result = await session.execute(
        update(notifications)
        .where(
            notifications.c.hub == hub,
            notifications.c.channel == "feed",
            notifications.c.subject == subject,
            notifications.c.kind.in_(MATCH_ALERTS),
            notifications.c.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


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


async def feed_since(
    session: AsyncSession,
    hub: str,
    *,
    since: datetime,
    exclude: set[uuid.UUID],
    limit: int,
) -> list[RowMapping]:
    """The hub's feed rows created at or after `since`, oldest first, minus `exclude`."""
    conditions = [
        notifications.c.hub == hub,
        notifications.c.channel == "feed",
        notifications.c.created_at >= since,
    ]
    if exclude:
        conditions.append(notifications.c.id.not_in(exclude))
    rows = await session.execute(
        select(notifications)
        .where(*conditions)
        .order_by(notifications.c.created_at, notifications.c.id)
        .limit(limit)
    )
    return list(rows.mappings().all())


async def feed_entry_time(
    session: AsyncSession, hub: str, notification_id: uuid.UUID
) -> datetime | None:
    return (
        await session.execute(
            select(notifications.c.created_at).where(
                notifications.c.id == notification_id,
                notifications.c.hub == hub,
                notifications.c.channel == "feed",
            )
        )
    ).scalar_one_or_none()


async def mark_read(
    session: AsyncSession, hub: str, notification_id: uuid.UUID, at: datetime
) -> bool:
    result = await session.execute(
        update(notifications)
        .where(notifications.c.id == notification_id, notifications.c.hub == hub)
        .values(read_at=func.coalesce(notifications.c.read_at, at))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def profile_hubs(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, RowMapping]:
    rows = await session.execute(
        select(directory.c.id, directory.c.hub, directory.c.sharing).where(directory.c.id.in_(ids))
    )
    return {row.id: row for row in rows.mappings()}


async def subscriptions_of(session: AsyncSession, hub: str, subject: str) -> list[RowMapping]:
    rows = await session.execute(
        select(subscriptions.c.scope, subscriptions.c.target)
        .where(subscriptions.c.hub == hub, subscriptions.c.subject == subject)
        .order_by(subscriptions.c.scope, subscriptions.c.target)
    )
    return list(rows.mappings().all())


async def replace_subscriptions(
    session: AsyncSession, hub: str, subject: str, pairs: Sequence[tuple[str, str]], at: datetime
) -> None:
    """Replace the member's subscriptions. Inserts ignore conflicts, so two concurrent
    replaces end with the union of both sets instead of failing on the primary key."""
    await session.execute(
        delete(subscriptions).where(subscriptions.c.hub == hub, subscriptions.c.subject == subject)
    )
    for scope, target in pairs:
        await insert_ignoring_conflict(
            session,
            subscriptions,
            {"hub": hub, "subject": subject, "scope": scope, "target": target, "created_at": at},
        )


async def preferences_of(session: AsyncSession, hub: str, subject: str) -> RowMapping | None:
    rows = await session.execute(
        select(preferences).where(preferences.c.hub == hub, preferences.c.subject == subject)
    )
    return rows.mappings().one_or_none()


async def put_preferences(
    session: AsyncSession, hub: str, subject: str, values: dict[str, Any]
) -> None:
    """Insert or overwrite the member's preferences (an upsert: concurrent writes never
    collide on the primary key)."""
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    statement = dialect.insert(preferences).values(hub=hub, subject=subject, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["hub", "subject"], set_=values)
    )
