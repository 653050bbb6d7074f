"""Database access for the notifier. Never commits: the edge owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Join,
    String,
    and_,
    delete,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier.tables import (
    deliveries,
    directory,
    events,
    notification_reads,
    notifications,
    preferences,
    profile_subsectors,
    subscriptions,
    webhooks,
)
from tandem_shared.db import (
    among,
    dialect_name,
    insert_ignoring_conflict,
    insert_many_ignoring_conflict,
    upsert_if_newer,
)


async def profile_names(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(directory.c.id, directory.c.name).where(among(session, directory.c.id, ids))
    )
    return {row.id: row.name for row in rows}


async def insert_notifications(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[Any]:
    """Insert the feed entries; the ids of those that were new (a (message, hub, channel)
    already notified is skipped)."""
    return await insert_many_ignoring_conflict(session, notifications, rows, returning="id")


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
            notifications.c.channel == "feed",
            notifications.c.kind.in_(list(kinds)),
            notifications.c.withdrawn_at.is_(None),
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
    conditions = [
        notifications.c.channel == "feed",
        notifications.c.subject == subject,
        notifications.c.kind.in_(list(kinds)),
        notifications.c.withdrawn_at.is_(None),
    ]
    result = await session.execute(update(notifications).where(*conditions).values(withdrawn_at=at))
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
    return [notifications.c.hub == hub, notifications.c.channel == "feed"]


# A feed row as the reader sees it: the notification and their own `read_at`.
_FEED_ROW = (notifications, notification_reads.c.read_at)


async def feed(
    session: AsyncSession,
    hub: str,
    reader: str,
    *,
    unread_only: bool,
    offset: int,
    limit: int,
) -> tuple[list[RowMapping], int]:
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
    return list(rows.mappings().all()), int(total)


async def feed_since(
    session: AsyncSession,
    hub: str,
    reader: str,
    *,
    since: datetime,
    exclude: set[uuid.UUID],
    limit: int,
) -> list[RowMapping]:
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
    return list(rows.mappings().all())


async def feed_entry_time(
    session: AsyncSession, hub: str, notification_id: uuid.UUID
) -> datetime | None:
    return (
        await session.execute(
            select(notifications.c.created_at).where(
                notifications.c.id == notification_id, *_in_feed(hub)
            )
        )
    ).scalar_one_or_none()


async def mark_read(
    session: AsyncSession, hub: str, reader: str, notification_id: uuid.UUID, at: datetime
) -> bool:
    """Record `reader`'s read of one notification of the hub's feed (a repeat keeps the
    first time); False when the hub's feed has no such notification."""
    if await feed_entry_time(session, hub, notification_id) is None:
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
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    statement = (
        dialect.insert(notification_reads)
        .from_select(["notification_id", "hub", "subject", "read_at"], unread)
        # A concurrent mark of the same notification wins; its time is kept.
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


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


# --------------------------------------------------------------------------- events


async def event_of(session: AsyncSession, event_id: uuid.UUID) -> dict[str, Any] | None:
    """The stored EventData (JSON) of the event, if any was seen."""
    data = await session.execute(select(events.c.data).where(events.c.id == event_id))
    stored: dict[str, Any] | None = data.scalar_one_or_none()
    return stored


async def project_event(
    session: AsyncSession,
    event_id: uuid.UUID,
    version: int,
    at: datetime,
    *,
    data: dict[str, Any] | None = None,
    cancelled: bool = False,
) -> bool:
    """Store a newer version of the event (a cancellation keeps the data it had); False
    for a stale or repeated version."""
    values: dict[str, Any] = {"version": version, "cancelled": cancelled, "updated_at": at}
    if data is not None:
        values["data"] = data
    return await upsert_if_newer(session, events, key={"id": event_id}, values=values)


# --------------------------------------------------------------------------- recipients


async def project_subsectors(
    session: AsyncSession, profile_id: uuid.UUID, subsectors: list[str], version: int, at: datetime
) -> None:
    await upsert_if_newer(
        session,
        profile_subsectors,
        key={"id": profile_id},
        values={"subsectors": subsectors, "version": version, "updated_at": at},
    )


async def forget_subsectors(session: AsyncSession, profile_id: uuid.UUID) -> None:
    await session.execute(delete(profile_subsectors).where(profile_subsectors.c.id == profile_id))


async def profile_facts(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, RowMapping]:
    rows = await session.execute(
        select(
            directory.c.id,
            directory.c.hub,
            directory.c.kind,
            directory.c.name,
            profile_subsectors.c.subsectors,
        )
        .select_from(
            directory.outerjoin(profile_subsectors, profile_subsectors.c.id == directory.c.id)
        )
        .where(among(session, directory.c.id, ids))
    )
    return {row.id: row for row in rows.mappings()}


async def match_subscriptions(
    session: AsyncSession, hubs: Sequence[str], profile_ids: Sequence[uuid.UUID]
) -> list[RowMapping]:
    """Every subscription that could cover a match between these hubs and profiles (the
    domain decides which do)."""
    rows = await session.execute(
        select(subscriptions).where(
            or_(
                and_(subscriptions.c.scope == "hub", among(session, subscriptions.c.target, hubs)),
                and_(subscriptions.c.scope == "sector", among(session, subscriptions.c.hub, hubs)),
                and_(
                    subscriptions.c.scope == "profile",
                    among(session, subscriptions.c.target, (str(p) for p in profile_ids)),
                ),
                subscriptions.c.scope == "network",
            )
        )
    )
    return list(rows.mappings().all())


async def sector_subscriptions(session: AsyncSession) -> list[RowMapping]:
    rows = await session.execute(select(subscriptions).where(subscriptions.c.scope == "sector"))
    return list(rows.mappings().all())


async def preferences_for(
    session: AsyncSession, staff: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], RowMapping]:
    if not staff:
        return {}
    rows = await session.execute(
        select(preferences).where(tuple_(preferences.c.hub, preferences.c.subject).in_(staff))
    )
    return {(row["hub"], row["subject"]): row for row in rows.mappings()}


async def preferences_in_hubs(session: AsyncSession, hubs: Sequence[str]) -> list[RowMapping]:
    """The stored preferences of every known staff member of these hubs."""
    rows = await session.execute(select(preferences).where(preferences.c.hub.in_(hubs)))
    return list(rows.mappings().all())


# --------------------------------------------------------------------------- deliveries


async def insert_delivery(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert unless this (message, recipient, channel) already has a delivery."""
    return await insert_ignoring_conflict(session, deliveries, values)


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Insert the deliveries that are new (one per (message, recipient, channel)); the
    statuses of those inserted."""
    return await insert_many_ignoring_conflict(session, deliveries, rows, returning="status")


async def lock_recipient(session: AsyncSession, hub: str, recipient: str) -> None:
    """Serialise, until the transaction ends, whoever counts and queues this recipient's
    capped emails (PostgreSQL; SQLite has a single writer anyway)."""
    if dialect_name(session) == "postgresql":
        key = f"notifier-cap:{hub}:{recipient}"
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def count_alerts_since(
    session: AsyncSession, hub: str, recipient: str, since: datetime
) -> int:
    """Non-transactional emails queued or sent to the recipient since `since` (what the
    daily cap counts; held-back and suppressed ones never went out)."""
    count = await session.execute(
        select(func.count())
        .select_from(deliveries)
        .where(
            deliveries.c.hub == hub,
            deliveries.c.recipient == recipient,
            deliveries.c.channel == "email",
            deliveries.c.transactional.is_(False),
            deliveries.c.kind != "digest",
            deliveries.c.status.in_(("pending", "sent", "failed")),
            deliveries.c.created_at >= since,
        )
    )
    return int(count.scalar_one())


async def email_deliveries_of(
    session: AsyncSession, subjects: Sequence[str], kinds: Sequence[str]
) -> list[RowMapping]:
    """The emails of these kinds about these subjects (pairs, events)."""
    rows = await session.execute(
        select(deliveries).where(
            among(session, deliveries.c.subject, subjects),
            deliveries.c.channel == "email",
            deliveries.c.kind.in_(list(kinds)),
        )
    )
    return list(rows.mappings().all())


async def suppress(session: AsyncSession, ids: Sequence[uuid.UUID], reason: str) -> None:
    if ids:
        await session.execute(
            update(deliveries)
            .where(among(session, deliveries.c.id, ids))
            .values(status="suppressed", last_error=reason)
        )


async def suppress_queued_alerts(
    session: AsyncSession, hub: str, recipient: str, reason: str
) -> int:
    """Suppress the recipient's non-transactional emails not sent yet: pending ones (quiet
    hours, retries, a queued digest) and those held for a digest no digest carried yet."""
    result = await session.execute(
        update(deliveries)
        .where(
            deliveries.c.hub == hub,
            deliveries.c.recipient == recipient,
            deliveries.c.channel == "email",
            deliveries.c.transactional.is_(False),
            or_(
                deliveries.c.status == "pending",
                and_(deliveries.c.status == "digested", deliveries.c.digest_id.is_(None)),
            ),
        )
        .values(status="suppressed", last_error=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def claim_due(
    session: AsyncSession, now: datetime, *, limit: int, lease_until: datetime
) -> list[RowMapping]:
    """Take up to `limit` due pending deliveries: count the attempt and lease them until
    `lease_until`, so a worker that dies mid-send leaves them due again after the lease.
    SKIP LOCKED lets several workers claim side by side (PostgreSQL; SQLite has one writer)."""
    due = await session.execute(
        select(deliveries.c.id)
        .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(due.scalars().all())
    if not ids:
        return []
    await session.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(ids))
        .values(attempts=deliveries.c.attempts + 1, next_attempt_at=lease_until)
    )
    rows = await session.execute(select(deliveries).where(deliveries.c.id.in_(ids)))
    return list(rows.mappings().all())


async def settle(
    session: AsyncSession, delivery_id: uuid.UUID, attempts: int, values: dict[str, Any]
) -> None:
    """Record a send's outcome, unless a later claim (after the lease ran out) owns it."""
    await session.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.attempts == attempts,
            deliveries.c.status == "pending",
        )
        .values(**values)
    )


async def list_deliveries(
    session: AsyncSession,
    *,
    hub: str | None,
    status: str | None,
    channel: str | None,
    offset: int,
    limit: int,
) -> tuple[list[RowMapping], int]:
    conditions = []
    if hub is not None:
        conditions.append(deliveries.c.hub == hub)
    if status is not None:
        conditions.append(deliveries.c.status == status)
    if channel is not None:
        conditions.append(deliveries.c.channel == channel)
    total = await session.execute(select(func.count()).select_from(deliveries).where(*conditions))
    rows = await session.execute(
        select(deliveries)
        .where(*conditions)
        .order_by(deliveries.c.created_at.desc(), deliveries.c.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows.mappings().all()), int(total.scalar_one())


async def held_for_digest(session: AsyncSession) -> list[RowMapping]:
    """Held-back email deliveries no digest carried yet, oldest first."""
    rows = await session.execute(
        select(deliveries)
        .where(
            deliveries.c.status == "digested",
            deliveries.c.channel == "email",
            deliveries.c.digest_id.is_(None),
        )
        .order_by(deliveries.c.hub, deliveries.c.recipient, deliveries.c.created_at)
    )
    return list(rows.mappings().all())


async def attach_to_digest(
    session: AsyncSession, ids: Sequence[uuid.UUID], digest_id: uuid.UUID
) -> None:
    await session.execute(
        update(deliveries).where(deliveries.c.id.in_(list(ids))).values(digest_id=digest_id)
    )


# --------------------------------------------------------------------------- webhooks


async def webhook_of(session: AsyncSession, hub: str) -> RowMapping | None:
    rows = await session.execute(select(webhooks).where(webhooks.c.hub == hub))
    return rows.mappings().one_or_none()


async def enabled_webhook_hubs(session: AsyncSession, hubs: Sequence[str]) -> set[str]:
    rows = await session.execute(
        select(webhooks.c.hub).where(
            among(session, webhooks.c.hub, hubs), webhooks.c.enabled.is_(True)
        )
    )
    return set(rows.scalars().all())


async def put_webhook(session: AsyncSession, hub: str, values: dict[str, Any]) -> None:
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    statement = dialect.insert(webhooks).values(hub=hub, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["hub"], set_=values))
