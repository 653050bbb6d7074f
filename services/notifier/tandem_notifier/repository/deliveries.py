"""The delivery log, a durable work queue for email and webhooks, and each hub's webhook."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import Result, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier.domain.policy import Channel, Status
from tandem_notifier.repository.sql import dialect_insert
from tandem_notifier.tables import deliveries, webhooks
from tandem_shared.db import (
    among,
    dialect_name,
    insert_ignoring_conflict,
    insert_many_ignoring_conflict,
)


@dataclass(frozen=True)
class Delivery:
    """One message to one recipient on one channel: `recipient` is the staff member's
    subject for email, "*" (the hub itself) for a webhook."""

    id: uuid.UUID
    source_message_id: str
    hub: str
    recipient: str
    channel: Channel
    kind: str
    subject: str
    transactional: bool
    address: str | None
    language: str
    payload: dict[str, Any]
    status: Status
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    digest_id: uuid.UUID | None  # the digest delivery that carried this held-back one
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> Self:
        return cls(**{**row, "channel": Channel(row["channel"]), "status": Status(row["status"])})

    @property
    def told(self) -> bool:
        """Whether it reached the recipient: sent, or held and then carried by a digest."""
        return self.status is Status.SENT or (
            self.status is Status.DIGESTED and self.digest_id is not None
        )

    @property
    def unsent(self) -> bool:
        """Whether it can still be stopped: waiting, or held for a digest not built yet."""
        return self.status is Status.PENDING or (
            self.status is Status.DIGESTED and self.digest_id is None
        )


@dataclass(frozen=True)
class Webhook:
    hub: str
    url: str
    secret: str
    enabled: bool
    updated_at: datetime


def _deliveries(result: Result[Any]) -> list[Delivery]:
    return [Delivery.of(row) for row in result.mappings()]


async def insert_delivery(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert unless this (message, recipient, channel) already has a delivery."""
    return await insert_ignoring_conflict(session, deliveries, values)


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[Status]:
    """Insert the deliveries that are new (one per (message, recipient, channel)); the
    statuses of those inserted."""
    inserted = await insert_many_ignoring_conflict(session, deliveries, rows, returning="status")
    return [Status(status) for status in inserted]


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
            deliveries.c.channel == Channel.EMAIL,
            deliveries.c.transactional.is_(False),
            deliveries.c.kind != "digest",
            deliveries.c.status.in_((Status.PENDING, Status.SENT, Status.FAILED)),
            deliveries.c.created_at >= since,
        )
    )
    return int(count.scalar_one())


async def email_deliveries_of(
    session: AsyncSession, subjects: Sequence[str], kinds: Sequence[str]
) -> list[Delivery]:
    """The emails of these kinds about these subjects (pairs, events)."""
    rows = await session.execute(
        select(deliveries).where(
            among(session, deliveries.c.subject, subjects),
            deliveries.c.channel == Channel.EMAIL,
            deliveries.c.kind.in_(list(kinds)),
        )
    )
    return _deliveries(rows)


async def suppress(session: AsyncSession, ids: Sequence[uuid.UUID], reason: str) -> None:
    if ids:
        await session.execute(
            update(deliveries)
            .where(among(session, deliveries.c.id, ids))
            .values(status=Status.SUPPRESSED, last_error=reason)
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
            deliveries.c.channel == Channel.EMAIL,
            deliveries.c.transactional.is_(False),
            or_(
                deliveries.c.status == Status.PENDING,
                and_(deliveries.c.status == Status.DIGESTED, deliveries.c.digest_id.is_(None)),
            ),
        )
        .values(status=Status.SUPPRESSED, last_error=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def claim_due(
    session: AsyncSession, now: datetime, *, limit: int, lease_until: datetime
) -> list[Delivery]:
    """Take up to `limit` due pending deliveries: count the attempt and lease them until
    `lease_until`, so a worker that dies mid-send leaves them due again after the lease.
    SKIP LOCKED lets several workers claim side by side (PostgreSQL; SQLite has one writer)."""
    due = await session.execute(
        select(deliveries.c.id)
        .where(deliveries.c.status == Status.PENDING, deliveries.c.next_attempt_at <= now)
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(due.scalars().all())
    if not ids:
        return []
    claimed = await session.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(ids))
        .values(attempts=deliveries.c.attempts + 1, next_attempt_at=lease_until)
        .returning(deliveries)
    )
    # In the order they fell due, as they were claimed (RETURNING keeps no order).
    by_id = {delivery.id: delivery for delivery in _deliveries(claimed)}
    return [by_id[delivery_id] for delivery_id in ids]


async def settle(
    session: AsyncSession, delivery_id: uuid.UUID, attempts: int, values: dict[str, Any]
) -> None:
    """Record a send's outcome, unless a later claim (after the lease ran out) owns it."""
    await session.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.attempts == attempts,
            deliveries.c.status == Status.PENDING,
        )
        .values(**values)
    )


async def page(
    session: AsyncSession,
    *,
    hub: str | None,
    status: Status | None,
    channel: Channel | None,
    offset: int,
    limit: int,
) -> tuple[list[Delivery], int]:
    """A page of the delivery log (of one hub, or all), newest first, and the total."""
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
    return _deliveries(rows), int(total.scalar_one())


async def held_for_digest(session: AsyncSession) -> list[Delivery]:
    """Held-back email deliveries no digest carried yet, by recipient, oldest first."""
    rows = await session.execute(
        select(deliveries)
        .where(
            deliveries.c.status == Status.DIGESTED,
            deliveries.c.channel == Channel.EMAIL,
            deliveries.c.digest_id.is_(None),
        )
        .order_by(deliveries.c.hub, deliveries.c.recipient, deliveries.c.created_at)
    )
    return _deliveries(rows)


async def attach_to_digest(
    session: AsyncSession, ids: Sequence[uuid.UUID], digest_id: uuid.UUID
) -> None:
    await session.execute(
        update(deliveries).where(deliveries.c.id.in_(list(ids))).values(digest_id=digest_id)
    )


# --------------------------------------------------------------------------- webhooks


async def webhook_of(session: AsyncSession, hub: str) -> Webhook | None:
    rows = await session.execute(select(webhooks).where(webhooks.c.hub == hub))
    row = rows.mappings().one_or_none()
    return None if row is None else Webhook(**row)


async def enabled_webhook_hubs(session: AsyncSession, hubs: Sequence[str]) -> set[str]:
    rows = await session.execute(
        select(webhooks.c.hub).where(
            among(session, webhooks.c.hub, hubs), webhooks.c.enabled.is_(True)
        )
    )
    return set(rows.scalars().all())


async def put_webhook(session: AsyncSession, hub: str, values: dict[str, Any]) -> Webhook:
    """Insert or overwrite the hub's webhook; the webhook as stored."""
    statement = dialect_insert(session, webhooks).values(hub=hub, **values)
    upsert = statement.on_conflict_do_update(index_elements=["hub"], set_=values)
    row = (await session.execute(upsert.returning(webhooks))).mappings().one()
    return Webhook(**row)
