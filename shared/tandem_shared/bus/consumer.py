"""The consumer runner: at-least-once in, exactly-once in effect.

For each record: parse the envelope (a malformed one goes to `<topic>.dlq`), then, in one
database transaction, claim the message id in the inbox and run the handler. The offset is
committed only after that transaction committed. A handler that keeps failing is retried
with exponential backoff and then dead-lettered, so the partition keeps flowing. The
embedded broker forgets offsets on restart: deduplication is by message id, never offset.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_shared import metrics
from tandem_shared.bus.outbox import decode_headers
from tandem_shared.bus.tables import BusTables
from tandem_shared.contracts import Envelope, Message, dead_letter_topic, parse_message
from tandem_shared.db import insert_ignoring_conflict, insert_many_ignoring_conflict
from tandem_shared.logging import bind_trace_id, get_logger, new_trace_id
from tandem_shared.settings import ServiceSettings

log = get_logger(__name__)

Handler = Callable[[AsyncSession, Any], Awaitable[None]]
TombstoneHandler = Callable[[AsyncSession, str, str], Awaitable[None]]
RunHandler = Callable[[AsyncSession, Sequence[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A handler that takes a run of consecutive messages at once, so it can read and write
    with a few set-based statements instead of a few per message. In a batch (see
    `Subscription.batch_size`) consecutive claimed records whose types map to the same
    `Batched` go to it together, in order; one at a time (retries, `batch_size` 1) it gets
    a run of one, so there is a single code path."""

    handle: RunHandler

    async def __call__(self, session: AsyncSession, message: Any) -> None:
        await self.handle(session, [message])


@dataclass(frozen=True)
class Subscription:
    """What one consumer group reads and how it handles each message type.

    Types without a handler are acknowledged and skipped: a topic carries several types
    and a service may care about only some of them.

    `batch_size` > 1 handles up to that many consecutive records of a partition in one
    transaction (each still claimed in the inbox): one commit instead of one per record,
    for consumers that get many small messages. If anything in the batch fails, the batch
    is rolled back and its records are handled one at a time as usual (retries, DLQ).
    Only for handlers whose effects are all in the transaction or in after-commit hooks,
    and that tolerate earlier records of the batch being visible in the same transaction.
    A handler wrapped in `Batched` gets each run of consecutive records at once.
    """

    name: str
    topics: tuple[str, ...]
    handlers: Mapping[type[Envelope], Handler]
    on_tombstone: TombstoneHandler | None = None
    batch_size: int = 1


class PoisonMessage(Exception):
    """A message that can never be handled: dead-letter it at once, no retries."""


async def claim_in_inbox(
    session: AsyncSession, tables: BusTables, *, consumer: str, message_id: str, topic: str
) -> bool:
    """Insert the inbox row; False when this consumer already handled the message."""
    values = {
        "consumer": consumer,
        "message_id": message_id,
        "topic": topic,
        "received_at": datetime.now(UTC),
    }
    return await insert_ignoring_conflict(session, tables.inbox, values)


async def claim_many_in_inbox(
    session: AsyncSession, tables: BusTables, *, consumer: str, messages: Sequence[tuple[str, str]]
) -> set[str]:
    """Claim many (message id, topic) at once; the ids this consumer had not handled yet."""
    now = datetime.now(UTC)
    rows = [
        {"consumer": consumer, "message_id": message_id, "topic": topic, "received_at": now}
        for message_id, topic in messages
    ]
    return set(
        await insert_many_ignoring_conflict(session, tables.inbox, rows, returning="message_id")
    )


class _JoinListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Marks the runner joined once the group assigned it (possibly zero) partitions."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._runner.joined = True
        log.info("consumer.assigned", group=self._runner.group_id, partitions=len(assigned))


class ConsumerRunner:
    def __init__(
        self,
        *,
        service: str,
        subscription: Subscription,
        settings: ServiceSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: BusTables,
        producer: AIOKafkaProducer,
    ) -> None:
        self._service = service
        self._sub = subscription
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._tables = tables
        self._producer = producer
        self._consumer: AIOKafkaConsumer | None = None
        # Readiness: a service is not ready to react to messages before its groups joined.
        self.joined = False

    @property
    def group_id(self) -> str:
        return f"{self._settings.kafka_topic_prefix}tandem-{self._service}-{self._sub.name}"

    async def run(self) -> None:
        self.joined = False
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=self.group_id,
            client_id=f"{self._service}-{self._sub.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
            max_poll_interval_ms=300000,
            # Each hop's long-poll wait adds to end-to-end latency; keep it short.
            fetch_max_wait_ms=100,
        )
        self._consumer.subscribe(
            [self._settings.topic(name) for name in self._sub.topics], listener=_JoinListener(self)
        )
        await self._consumer.start()
        try:
            while True:
                batch = await self._consumer.getmany(timeout_ms=500, max_records=200)
                for partition, records in batch.items():
                    await self._process_partition(partition, records)
        finally:
            await self._consumer.stop()

    async def _process_partition(
        self, partition: TopicPartition, records: list[ConsumerRecord[Any, Any]]
    ) -> None:
        assert self._consumer is not None
        size = max(1, self._sub.batch_size)
        for start in range(0, len(records), size):
            chunk = records[start : start + size]
            if len(chunk) == 1 or not await self.process_batch(chunk):
                for record in chunk:
                    await self.process(record)
        # Committed only after every record's transaction committed (or it was dead-lettered);
        # a crash before this line redelivers the batch and the inbox turns it into no-ops.
        await self._consumer.commit({partition: records[-1].offset + 1})
        await self._observe_lag(partition)

    async def _observe_lag(self, partition: TopicPartition) -> None:
        assert self._consumer is not None
        end = self._consumer.last_stable_offset(partition) or self._consumer.highwater(partition)
        if end is None:
            return
        position = await self._consumer.position(partition)
        metrics.CONSUMER_LAG.labels(self._service, partition.topic, str(partition.partition)).set(
            max(0, end - position)
        )

    async def process(self, record: ConsumerRecord[Any, Any]) -> None:
        """Handle one record; never raises for a bad record (it is dead-lettered)."""
        headers = decode_headers(record.headers)
        bind_trace_id(headers.get("trace_id") or new_trace_id())
        if record.value is None:
            await self._handle_tombstone(record)
            return
        try:
            message = parse_message(record.value)
        except ValidationError as error:
            await self.dead_letter(record, reason="invalid message", error=_short(error))
            return
        if message.trace_id:
            bind_trace_id(message.trace_id)
        handler = self._handler_for(message)
        if handler is None:
            self._count(record, "skipped")
            return
        await self._handle_with_retries(record, message, handler)

    async def process_batch(self, records: list[ConsumerRecord[Any, Any]]) -> bool:
        """Handle the records in one transaction; False (and nothing done) if any of them
        is a tombstone, does not parse or fails: the caller then handles them one by one."""
        parsed = self._parse_batch(records)
        if parsed is None:
            return False
        try:
            async with self._sessionmaker() as session, session.begin():
                outcomes = await self._handle_batch_in(session, parsed)
        except Exception as error:
            log.info("consumer.batch_failed", size=len(records), error=repr(error))
            return False
        for record, outcome in zip(records, outcomes, strict=True):
            self._count(record, outcome)
        return True

    def _parse_batch(self, records: list[ConsumerRecord[Any, Any]]) -> list[_Parsed] | None:
        parsed: list[_Parsed] = []
        for record in records:
            if record.value is None:
                return None
            try:
                message = parse_message(record.value)
            except ValidationError:
                return None
            parsed.append(_Parsed(record, message, self._handler_for(message)))
        return parsed

    async def _handle_batch_in(self, session: AsyncSession, parsed: list[_Parsed]) -> list[str]:
        """Claim every handled record in one statement, then run the handlers over the
        claimed ones in order (runs of a `Batched` handler at once); each record's outcome."""
        unclaimed = await claim_many_in_inbox(
            session,
            self._tables,
            consumer=self.group_id,
            messages=[(str(p.message.id), p.record.topic) for p in parsed if p.handler],
        )
        outcomes: list[str] = []
        runs: list[tuple[Handler, list[_Parsed]]] = []
        for item in parsed:
            message_id = str(item.message.id)
            if item.handler is None:
                outcomes.append("skipped")
            elif message_id not in unclaimed:
                outcomes.append("duplicate")  # handled before, or twice in this batch
            else:
                unclaimed.discard(message_id)
                outcomes.append("handled")
                if runs and isinstance(item.handler, Batched) and runs[-1][0] is item.handler:
                    runs[-1][1].append(item)
                else:
                    runs.append((item.handler, [item]))
        for handler, run in runs:
            # A run's log lines carry its first message's trace id.
            bind_trace_id(_trace_id(run[0]))
            if isinstance(handler, Batched):
                await handler.handle(session, [item.message for item in run])
            else:
                await handler(session, run[0].message)
        return outcomes

    async def _handle_in(
        self,
        session: AsyncSession,
        record: ConsumerRecord[Any, Any],
        message: Message,
        handler: Handler | None,
    ) -> str:
        if handler is None:
            return "skipped"
        claimed = await claim_in_inbox(
            session,
            self._tables,
            consumer=self.group_id,
            message_id=str(message.id),
            topic=record.topic,
        )
        if not claimed:
            return "duplicate"
        await handler(session, message)
        return "handled"

    def _handler_for(self, message: Message) -> Handler | None:
        for message_type, handler in self._sub.handlers.items():
            if isinstance(message, message_type):
                return handler
        return None

    async def _handle_with_retries(
        self, record: ConsumerRecord[Any, Any], message: Message, handler: Handler
    ) -> None:
        attempts = self._settings.consumer_max_attempts
        for attempt in range(1, attempts + 1):
            try:
                outcome = await self._handle_once(record, message, handler)
                self._count(record, outcome)
                return
            except PoisonMessage as error:
                await self.dead_letter(record, reason="rejected by handler", error=str(error))
                return
            except Exception as error:
                log.warning(
                    "consumer.handler_failed",
                    attempt=attempt,
                    type=message.type,
                    message_id=str(message.id),
                    error=repr(error),
                )
                if attempt == attempts:
                    await self.dead_letter(
                        record,
                        reason=f"handler failed {attempts} times",
                        error=_format_exception(error),
                    )
                    return
                await asyncio.sleep(self._settings.consumer_backoff_seconds * 2 ** (attempt - 1))

    async def _handle_once(
        self, record: ConsumerRecord[Any, Any], message: Message, handler: Handler
    ) -> str:
        async with self._sessionmaker() as session, session.begin():
            return await self._handle_in(session, record, message, handler)

    async def _handle_tombstone(self, record: ConsumerRecord[Any, Any]) -> None:
        if self._sub.on_tombstone is None or record.key is None:
            self._count(record, "skipped")
            return
        key = record.key.decode("utf-8", "replace")
        async with self._sessionmaker() as session, session.begin():
            await self._sub.on_tombstone(session, self._logical_topic(record.topic), key)
        self._count(record, "handled")

    def _logical_topic(self, physical: str) -> str:
        return physical.removeprefix(self._settings.kafka_topic_prefix)

    async def dead_letter(
        self, record: ConsumerRecord[Any, Any], *, reason: str, error: str
    ) -> None:
        headers = list(record.headers or ())
        headers += [
            ("dlq_reason", reason.encode()),
            ("dlq_error", error[:4000].encode()),
            ("dlq_consumer", self.group_id.encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
        ]
        await self._producer.send_and_wait(
            dead_letter_topic(record.topic), value=record.value, key=record.key, headers=headers
        )
        metrics.DLQ_MESSAGES.labels(self._service, record.topic).inc()
        self._count(record, "dead_lettered")
        log.error("consumer.dead_lettered", topic=record.topic, offset=record.offset, reason=reason)

    def _count(self, record: ConsumerRecord[Any, Any], outcome: str) -> None:
        metrics.CONSUMED.labels(self._service, record.topic, outcome).inc()


@dataclass(frozen=True)
class _Parsed:
    record: ConsumerRecord[Any, Any]
    message: Message
    handler: Handler | None


def _trace_id(parsed: _Parsed) -> str:
    return (
        parsed.message.trace_id
        or decode_headers(parsed.record.headers).get("trace_id")
        or new_trace_id()
    )


def _short(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in error.errors()[:10]
    )


def _format_exception(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).strip()
