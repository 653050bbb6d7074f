"""The hubs' feeds: notifications, withdrawals and each reader's own read marks."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Join,
    Result,
    String,
    and_,
    func,
    literal,
    not_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier.domain.policy import Channel
from tandem_notifier.repository.sql import dialect_insert
from tandem_notifier.tables import notification_reads, notifications
from tandem_shared.db import among, insert_ignoring_conflict, insert_many_ignoring_conflict


@dataclass(frozen=True)
class FeedEntry:
    """A notification of a hub's feed as one reader sees it: `read_at` is their own mark
    (None: unread for them)."""

    id: uuid.UUID
    hub: str
    channel: Channel
    kind: str
    subject: str
    title: str
    body: str
    data: dict[str, Any]
    source_message_id: str
    created_at: datetime
    withdrawn_at: datetime | None
    read_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> Self:
        return cls(**{**row, "channel": Channel(row["channel"])})


def _entries(result: Result[Any]) -> list[FeedEntry]:
    return [FeedEntry.of(row) for row in result.mappings()]


async def insert_notifications(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[Any]:
    """Insert the feed entries; the ids of those that were new (a (message, hub, channel)
    already notified is skipped)."""
    return await insert_many_ignoring_conflict(session, notifications, rows, returning="id")


async def alerted_since(
    session: AsyncSession, hubs: Sequence[str], kinds: Sequence[str], since: datetime
) -> Counter[tuple[str, str]]:
    """Per (hub, profile id): the match alerts of those kinds in the hub's feed since
    `since`, withdrawn or not (the alert policy's daily count)."""
    rows = await session.execute(
        select(notifications.c.hub, notifications.c.data).where(
            notifications.c.channel == Channel.FEED,
            notifications.c.hub.in_(list(hubs)),
            notifications.c.kind.in_(list(kinds)),
            notifications.c.created_at >= since,
        )
    )
    counts: Counter[tuple[str, str]] = Counter()
    for hub, data in rows:
        counts.update((hub, str(data.get(side))) for side in ("profile_a", "profile_b"))
    return counts


def _live_alerts(kinds: Sequence[str]) -> list[ColumnElement[bool]]:
    return [
        notifications.c.channel == Channel.FEED,
        notifications.c.kind.in_(list(kinds)),
        notifications.c.withdrawn_at.is_(None),
    ]


async def withdraw_in_hubs(
    session: AsyncSession, sides: Sequence[tuple[str, str]], kinds: Sequence[str], at: datetime
) -> set[tuple[str, str]]:
    """Mark withdrawn the live feed alerts of these kinds about these (hub, subject)s; the
    (hub, subject)s that had one."""
    if not sides:
        return set()
    result = await session.execute(
        update(notifications)
        .where(
            tuple_(notifications.c.hub, notifications.c.subject).in_(list(sides)),
            *_live_alerts(kinds),
        )
        .values(withdrawn_at=at)
        .returning(notifications.c.hub, notifications.c.subject)
    )
    return {(row.hub, row.subject) for row in result}


async def withdraw_alerts(
    session: AsyncSession,
    subject: str,
    kinds: Sequence[str],
    at: datetime,
) -> int:
    """Mark the live feed alerts of these kinds about `subject` (an event) withdrawn in
    every hub; how many were."""
    result = await session.execute(
        update(notifications)
        .where(notifications.c.subject == subject, *_live_alerts(kinds))
        .values(withdrawn_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _with_reads_of(hub: str, reader: str) -> Join:
    """The hub's notifications, each with the reader's own read mark, if any (at most one:
    the reads' primary key is (notification_id, subject)). The planner either probes that
    key per notification (a feed page) or hashes the reader's reads, found through
    ix_notification_reads_reader (counts, read-all): the redundant hub condition is what
    lets it use that index."""
    return notifications.outerjoin(
        notification_reads,
        and_(
            notification_reads.c.notification_id == notifications.c.id,
            notification_reads.c.hub == hub,
            notification_reads.c.subject == reader,
        ),
    )


def _in_feed(hub: str) -> list[ColumnElement[bool]]:
    return [notifications.c.hub == hub, notifications.c.channel == Channel.FEED]


# A feed row as the reader sees it: the notification and their own `read_at`.
_FEED_ROW = (notifications, notification_reads.c.read_at)


async def page(
    session: AsyncSession,
    hub: str,
    reader: str,
    *,
    unread_only: bool,
    offset: int,
    limit: int,
) -> tuple[list[FeedEntry], int]:
    """A page of the hub's feed, newest first, as `reader` sees it, and the total."""
    joined = _with_reads_of(hub, reader)
    conditions = _in_feed(hub)
    if unread_only:
        conditions.append(notification_reads.c.notification_id.is_(None))
    total = (
        await session.execute(select(func.count()).select_from(joined).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(*_FEED_ROW)
        .select_from(joined)
        .where(*conditions)
        .order_by(notifications.c.created_at.desc(), notifications.c.id)
        .offset(offset)
        .limit(limit)
    )
    return _entries(rows), int(total)


async def entries_since(
    session: AsyncSession,
    hub: str,
    reader: str,
    *,
    since: datetime,
    exclude: set[uuid.UUID],
    limit: int,
) -> list[FeedEntry]:
    """The hub's feed rows created at or after `since`, oldest first, minus `exclude`, as
    `reader` sees them."""
    conditions = [*_in_feed(hub), notifications.c.created_at >= since]
    if exclude:
        conditions.append(not_(among(session, notifications.c.id, exclude)))
    rows = await session.execute(
        select(*_FEED_ROW)
        .select_from(_with_reads_of(hub, reader))
        .where(*conditions)
        .order_by(notifications.c.created_at, notifications.c.id)
        .limit(limit)
    )
    return _entries(rows)


async def entry_time(
    session: AsyncSession, hub: str, notification_id: uuid.UUID
) -> datetime | None:
    created_at: datetime | None = (
        await session.execute(
            select(notifications.c.created_at).where(
                notifications.c.id == notification_id, *_in_feed(hub)
            )
        )
    ).scalar_one_or_none()
    return created_at


async def mark_read(
    session: AsyncSession, hub: str, reader: str, notification_id: uuid.UUID, at: datetime
) -> bool:
    """Record `reader`'s read of one notification of the hub's feed (a repeat keeps the
    first time); False when the hub's feed has no such notification."""
    if await entry_time(session, hub, notification_id) is None:
        return False
    await insert_ignoring_conflict(
        session,
        notification_reads,
        {"notification_id": notification_id, "hub": hub, "subject": reader, "read_at": at},
    )
    return True


async def mark_all_read(
    session: AsyncSession, hub: str, reader: str, at: datetime, *, before: datetime | None
) -> int:
    """Mark every notification of the hub's feed (created at or before `before`, if given)
    read for `reader`, in one INSERT … SELECT; how many were newly marked."""
    conditions = _in_feed(hub)
    if before is not None:
        conditions.append(notifications.c.created_at <= before)
    unread = (
        select(
            notifications.c.id,
            literal(hub, String),
            literal(reader, String),
            literal(at, DateTime(timezone=True)),
        )
        .select_from(_with_reads_of(hub, reader))
        .where(*conditions, notification_reads.c.notification_id.is_(None))
    )
    statement = (
        dialect_insert(session, notification_reads)
        .from_select(["notification_id", "hub", "subject", "read_at"], unread)
        # A concurrent mark of the same notification wins; its time is kept.
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]
