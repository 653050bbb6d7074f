"""Database access for the notifier. Never commits: the edge owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier.tables import (
    deliveries,
    directory,
    events,
    notifications,
    preferences,
    profile_subsectors,
    subscriptions,
    webhooks,
)
from tandem_shared.db import dialect_name, insert_ignoring_conflict, upsert_if_newer


async def profile_names(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(directory.c.id, directory.c.name).where(directory.c.id.in_(ids))
    )
    return {row.id: row.name for row in rows}


async def insert_notification(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert unless this (message, hub, channel) was already notified."""
    return await insert_ignoring_conflict(session, notifications, values)


async def withdraw_alerts(
    session: AsyncSession,
    subject: str,
    kinds: Sequence[str],
    at: datetime,
    *,
    hub: str | None = None,
) -> int:
    """Mark the live feed alerts of these kinds about `subject` (a pair, an event) withdrawn,
    in one hub or in all; how many were."""
    conditions = [
        notifications.c.channel == "feed",
        notifications.c.subject == subject,
        notifications.c.kind.in_(list(kinds)),
        notifications.c.withdrawn_at.is_(None),
    ]
    if hub is not None:
        conditions.append(notifications.c.hub == hub)
    result = await session.execute(update(notifications).where(*conditions).values(withdrawn_at=at))
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
        .where(directory.c.id.in_(list(ids)))
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
                and_(subscriptions.c.scope == "hub", subscriptions.c.target.in_(hubs)),
                and_(subscriptions.c.scope == "sector", subscriptions.c.hub.in_(hubs)),
                and_(
                    subscriptions.c.scope == "profile",
                    subscriptions.c.target.in_([str(p) for p in profile_ids]),
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
    session: AsyncSession, subject: str, kinds: Sequence[str]
) -> list[RowMapping]:
    rows = await session.execute(
        select(deliveries).where(
            deliveries.c.subject == subject,
            deliveries.c.channel == "email",
            deliveries.c.kind.in_(list(kinds)),
        )
    )
    return list(rows.mappings().all())


async def suppress(session: AsyncSession, ids: Sequence[uuid.UUID], reason: str) -> None:
    if ids:
        await session.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(list(ids)))
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
        select(webhooks.c.hub).where(webhooks.c.hub.in_(hubs), webhooks.c.enabled.is_(True))
    )
    return set(rows.scalars().all())


async def put_webhook(session: AsyncSession, hub: str, values: dict[str, Any]) -> None:
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    statement = dialect.insert(webhooks).values(hub=hub, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["hub"], set_=values))
