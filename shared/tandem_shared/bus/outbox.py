"""Transactional outbox: the domain change and its outgoing message in one transaction.

`enqueue` adds the message to the caller's session (the edge commits both or neither);
`OutboxRelay` publishes unsent rows in id order and marks them sent. On PostgreSQL the
relay is woken by LISTEN/NOTIFY and one relay at a time holds an advisory lock (so rows
keep their order with several replicas); elsewhere it polls.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tandem_shared import metrics
from tandem_shared.aio import wait_event
from tandem_shared.bus.faults import backoff
from tandem_shared.bus.flow import RelayFlow
from tandem_shared.bus.tables import BusTables
from tandem_shared.contracts import Envelope
from tandem_shared.db import asyncpg_dsn, dialect_name, is_postgres
from tandem_shared.logging import current_trace_id, get_logger

NOTIFY_CHANNEL = "tandem_outbox"
# How often the relay refreshes its backlog gauges (pending rows, oldest unsent age).
BACKLOG_EVERY = timedelta(seconds=2)
# How often a relay whose LISTEN connection failed or dropped tries to listen again.
LISTEN_RETRY_SECONDS = 5.0
log = get_logger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def kafka_headers(message: Envelope, trace_id: str | None) -> dict[str, str]:
    headers = {
        "ce_id": str(message.id),
        "ce_type": getattr(message, "type", ""),
        "ce_source": message.source,
    }
    if trace_id:
        headers["trace_id"] = trace_id
    return headers


async def enqueue(
    session: AsyncSession, tables: BusTables, *, topic: str, key: str, message: Envelope
) -> None:
    """Stage `message` for publication in the caller's transaction."""
    trace_id = message.trace_id or current_trace_id()
    if trace_id and not message.trace_id:
        message = message.model_copy(update={"trace_id": trace_id})
    await _insert(
        session,
        tables,
        topic=topic,
        key=key,
        payload=message.model_dump_json(),
        headers=kafka_headers(message, trace_id),
        message_id=message.id,
        trace_id=trace_id,
    )


async def enqueue_many(
    session: AsyncSession,
    tables: BusTables,
    *,
    topic: str,
    messages: Sequence[tuple[str, Envelope]],
) -> None:
    """Stage many (key, message) pairs in one multi-row INSERT and one NOTIFY, in order:
    the same as calling `enqueue` for each, for bulk writers (imports)."""
    if not messages:
        return
    now = _utcnow()
    rows = []
    for key, message in messages:
        trace_id = message.trace_id or current_trace_id()
        if trace_id and not message.trace_id:
            message = message.model_copy(update={"trace_id": trace_id})
        rows.append(
            {
                "message_id": message.id,
                "topic": topic,
                "key": key,
                "payload": message.model_dump_json(),
                "headers": kafka_headers(message, trace_id),
                "trace_id": trace_id,
                "created_at": now,
            }
        )
    await session.execute(tables.outbox.insert(), rows)
    await _notify(session)


async def enqueue_tombstone(
    session: AsyncSession, tables: BusTables, *, topic: str, key: str
) -> None:
    """Stage a tombstone (null value) so a compacted topic forgets `key`."""
    trace_id = current_trace_id()
    headers = {"trace_id": trace_id} if trace_id else {}
    await _insert(
        session,
        tables,
        topic=topic,
        key=key,
        payload=None,
        headers=headers,
        message_id=uuid.uuid4(),
        trace_id=trace_id,
    )


async def _insert(
    session: AsyncSession,
    tables: BusTables,
    *,
    topic: str,
    key: str,
    payload: str | None,
    headers: dict[str, str],
    message_id: uuid.UUID,
    trace_id: str | None,
) -> None:
    await session.execute(
        tables.outbox.insert().values(
            message_id=message_id,
            topic=topic,
            key=key,
            payload=payload,
            headers=headers,
            trace_id=trace_id,
            created_at=_utcnow(),
        )
    )
    await _notify(session)


async def _notify(session: AsyncSession) -> None:
    if dialect_name(session) == "postgresql":
        # Delivered at commit, and only if the transaction commits.
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


PublishedHook = Callable[[Sequence[Row[Any]]], Awaitable[None]]


class OutboxRelay:
    """Publishes outbox rows in order. At least once: a crash after publishing and before
    marking rows sent publishes them again; consumers drop the duplicate by message id."""

    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: BusTables,
        producer: AIOKafkaProducer,
        poll_seconds: float = 1.0,
        batch_size: int = 200,
        retention: timedelta = timedelta(days=7),
        topic_prefix: str = "",
        on_published: PublishedHook | None = None,
        heal: Callable[[], Awaitable[None]] | None = None,
        max_backoff: float = 15.0,
    ) -> None:
        self._service = service
        self._engine = engine
        self._sessionmaker = sessionmaker
        self._tables = tables
        self._producer = producer
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._retention = retention
        # Rows hold logical topic names; a prefix isolates test runs on a shared broker.
        self._topic_prefix = topic_prefix
        # Test seam: runs after publishing and before marking sent (where a crash hurts most).
        self._on_published = on_published
        # Recreates missing topics (a broker that lost them); the runtime passes it.
        self._heal = heal
        self._max_backoff = max_backoff
        self.flow = RelayFlow(service)
        self._wake = asyncio.Event()
        self._next_listen = 0.0
        self._lock_key = zlib.crc32(f"tandem-outbox-{service}".encode())
        self._last_purge = _utcnow()
        self._last_observed: datetime | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        listener = await self._listen()
        failures = 0
        try:
            while True:
                if listener is None or listener.is_closed():
                    listener = await self._listen()  # the database came back
                try:
                    published = await self.publish_pending()
                    await self._purge_if_due()
                except Exception as error:
                    failures += 1
                    await self._failed(error, failures)
                    continue
                failures = 0
                if published >= self._batch_size:
                    continue  # more are waiting
                await self._sleep_until_woken()
        finally:
            if listener is not None:
                await listener.close()

    async def _failed(self, error: Exception, failures: int) -> None:
        """Nothing was marked sent: the rows go out once the database and broker answer.
        A broker that lost its topics gets them back (with their configuration) first."""
        self.flow.failed(repr(error)[:300])
        log.warning("outbox.publish_failed", error=repr(error), attempt=failures)
        if self._heal is not None:
            try:
                await self._heal()
            except Exception as heal_error:
                log.warning("outbox.heal_failed", error=repr(heal_error))
        await asyncio.sleep(backoff(failures, base=0.2, cap=self._max_backoff))

    async def _sleep_until_woken(self) -> None:
        await wait_event(self._wake, self._poll_seconds)
        self._wake.clear()

    async def _listen(self) -> asyncpg.Connection | None:
        if not is_postgres(self._engine.url):
            return None
        now = time.monotonic()
        if now < self._next_listen:
            return None  # LISTEN failed a moment ago: poll meanwhile
        self._next_listen = now + LISTEN_RETRY_SECONDS
        try:
            connection = await asyncpg.connect(asyncpg_dsn(self._engine.url))
            await connection.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            return connection
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("outbox.listen_failed", error=str(error))
            return None

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        async with self._sessionmaker() as session, session.begin():
            if not await self._hold_relay_lock(session):
                return 0
            rows = (
                await session.execute(
                    select(self._tables.outbox)
                    .where(self._tables.outbox.c.sent_at.is_(None))
                    .order_by(self._tables.outbox.c.id)
                    .limit(self._batch_size)
                )
            ).all()
            await self._observe_backlog_if_due(session)
            if not rows:
                self.flow.published()
                return 0
            await self._publish(rows)
            if self._on_published is not None:
                await self._on_published(rows)
            await session.execute(
                update(self._tables.outbox)
                .where(self._tables.outbox.c.id.in_([row.id for row in rows]))
                .values(sent_at=_utcnow())
            )
        self.flow.published()
        return len(rows)

    async def _hold_relay_lock(self, session: AsyncSession) -> bool:
        if dialect_name(session) != "postgresql":
            return True
        result = await session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self._lock_key}
        )
        return bool(result.scalar())

    async def _publish(self, rows: Sequence[Row[Any]]) -> None:
        # Sent in id order; the producer keeps per-partition order, so per-key order holds.
        futures = [
            await self._producer.send(
                self._topic_prefix + row.topic,
                value=row.payload.encode() if row.payload is not None else None,
                key=row.key.encode() if row.key is not None else None,
                headers=[
                    (name, str(value).encode()) for name, value in (row.headers or {}).items()
                ],
            )
            for row in rows
        ]
        await asyncio.gather(*futures)
        for row in rows:
            metrics.OUTBOX_PUBLISHED.labels(self._service, row.topic).inc()
        log.debug("outbox.published", count=len(rows))

    async def _observe_backlog_if_due(self, session: AsyncSession) -> None:
        """Refresh the backlog gauges at most every BACKLOG_EVERY. The relay is woken by
        every committed enqueue, and counting the unsent rows walks the index past every
        row sent since the last vacuum: per wake-up, that count was most of a busy
        database's work."""
        now = _utcnow()
        if self._last_observed is not None and now - self._last_observed < BACKLOG_EVERY:
            return
        self._last_observed = now
        await self._observe_backlog(session)

    async def _observe_backlog(self, session: AsyncSession) -> None:
        outbox = self._tables.outbox
        pending, oldest = (
            await session.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(
                    outbox.c.sent_at.is_(None)
                )
            )
        ).one()
        metrics.OUTBOX_PENDING.labels(self._service).set(pending)
        age = 0.0
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            age = (_utcnow() - oldest).total_seconds()
        metrics.OUTBOX_OLDEST_AGE.labels(self._service).set(age)

    async def _purge_if_due(self) -> None:
        if _utcnow() - self._last_purge < timedelta(hours=1):
            return
        self._last_purge = _utcnow()
        outbox = self._tables.outbox
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                delete(outbox).where(outbox.c.sent_at < _utcnow() - self._retention)
            )


def decode_headers(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """Kafka headers as text; a null header value (the protocol allows it) is ''."""
    return {name: (value or b"").decode("utf-8", "replace") for name, value in headers or ()}
