"""The consumer runner: at-least-once in, exactly-once in effect.

For each record: parse the envelope (a malformed one goes to `<topic>.dlq`), then, in one
database transaction, claim the message id in the inbox and run the handler. The offset is
committed only after that transaction committed. The embedded broker may forget offsets:
deduplication is by message id, never offset.

Nothing a record holds can stall its partition, and no outage dead-letters a good message
(see `faults`): a failure is classified, an outage holds the partition back (paused, then
sought back to the failed record) with capped backoff for as long as it lasts, and only a
refusal, or a failure that repeats while the database and broker are healthy, is
dead-lettered, in a copy that always fits the producer's limit (see `dead_letters`).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_shared import metrics
from tandem_shared.bus import dead_letters, provenance
from tandem_shared.bus.faults import Fault, PoisonMessage, backoff, classify
from tandem_shared.bus.flow import ConsumerFlow
from tandem_shared.bus.kafka import TopicGuard, broker_reachable, client_options, group_prefix
from tandem_shared.bus.outbox import decode_headers
from tandem_shared.bus.records import (
    exception_line,
    partition_label,
    position_of,
    validation_summary,
)
from tandem_shared.bus.subscription import (
    Batched,
    Handler,
    Subscription,
    claim_in_inbox,
    claim_many_in_inbox,
)
from tandem_shared.bus.tables import BusTables
from tandem_shared.contracts import Message, parse_message
from tandem_shared.logging import bind_trace_id, get_logger, new_trace_id
from tandem_shared.settings import ServiceSettings

log = get_logger(__name__)
# aiokafka retries a commit to a topic the broker no longer has for ever.
COMMIT_TIMEOUT = 15.0
__all__ = [
    "Batched",
    "ConsumerRunner",
    "Handler",
    "PoisonMessage",
    "Retry",
    "Subscription",
    "claim_in_inbox",
]


class _StartOver(Exception):
    """Drop this consumer instance and start a new one."""


class _JoinListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Marks the runner joined once the group assigned it (possibly zero) partitions, and
    forgets the hold-backs of partitions it loses."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for partition in revoked:
            self._runner.forget(partition)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._runner.flow.joined = True
        log.info("consumer.assigned", group=self._runner.group_id, partitions=len(assigned))


@dataclass(frozen=True)
class Retry:
    """The record is not settled: try it again after `delay` seconds. `outage` is True when
    the database or broker is failing (the service is then not ready)."""

    delay: float
    reason: str
    outage: bool


@dataclass
class _Failures:
    """What went wrong with one record so far."""

    total: int = 0  # every failure: the backoff grows with it
    repeated: int = 0  # unexplained failures while the infrastructure was healthy
    suspect: int = 0  # outage-like failures while the infrastructure was healthy
    verdict: tuple[str, str] | None = None  # (reason, error) once it is to be dead-lettered


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
        topics: TopicGuard | None = None,
    ) -> None:
        self._service = service
        self._sub = subscription
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._tables = tables
        self._producer = producer
        # Recreates missing topics (a broker that lost them); the runtime passes it.
        self._topics = topics
        self._consumer: AIOKafkaConsumer | None = None
        self._failures: dict[tuple[str, int, int], _Failures] = {}
        self._resume_at: dict[TopicPartition, float] = {}
        self.flow = ConsumerFlow(service, self.group_id)

    @property
    def group_id(self) -> str:
        """Per hub: on a shared network cluster two hubs' matchers are two groups, never
        one group splitting the partitions between hubs (and its ACLs name its hub)."""
        return f"{group_prefix(self._settings, self._service)}{self._sub.name}"

    @property
    def joined(self) -> bool:
        return self.flow.joined

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            **client_options(self._settings),
            group_id=self.group_id,
            client_id=f"{self._service}-{self._sub.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=max(500, self._settings.kafka_session_timeout_ms // 3),
            max_poll_interval_ms=300000,
            # Each hop's long-poll wait adds to end-to-end latency; keep it short.
            fetch_max_wait_ms=100,
            # A record larger than this still arrives alone; this bounds a fetch's memory.
            max_partition_fetch_bytes=self._settings.kafka_max_request_bytes,
            # The subscription is a pattern: a hub that joins the network creates its
            # network topics, and every consumer finds them at its next metadata refresh.
            metadata_max_age_ms=provenance.NEW_TOPICS_FOUND_WITHIN_MS,
        )

    async def run(self) -> None:
        """Consume forever. When the broker lost the topics (they had to be recreated) or
        a commit hangs, start over with a new consumer: it rejoins the group and asks for
        the committed offsets again, instead of fetching from positions the new topics
        never had."""
        while True:
            try:
                await self._consume()
            except _StartOver as reason:
                log.warning("consumer.starting_over", group=self.group_id, reason=str(reason))

    async def _consume(self) -> None:
        self.flow.restart()
        self._resume_at.clear()
        generation = await self._heal() if self._topics is not None else 0
        self._consumer = self._new_consumer()
        topics = provenance.pattern(self._sub.topics, self._settings)
        self._consumer.subscribe(pattern=topics, listener=_JoinListener(self))
        try:
            # Inside the try: a consumer cancelled while it starts must be stopped too, or
            # its heartbeat task lives on after the service stopped.
            await self._consumer.start()
            while True:
                if self._topics is not None and self._topics.generation != generation:
                    raise _StartOver("the broker lost its topics; they were recreated")
                self._resume_due()
                batch = await self._consumer.getmany(timeout_ms=500, max_records=200)
                self.flow.polled()
                for partition, records in batch.items():
                    await self._process_partition(partition, records)
        finally:
            self.flow.joined = False
            with contextlib.suppress(Exception):
                await self._consumer.stop()

    def forget(self, partition: TopicPartition) -> None:
        """A revoked partition: whoever gets it next starts from its committed offset."""
        self._resume_at.pop(partition, None)
        self.flow.release(partition_label(partition))
        where = (partition.topic, partition.partition)
        for position in [position for position in self._failures if position[:2] == where]:
            del self._failures[position]

    def _resume_due(self) -> None:
        assert self._consumer is not None
        now = asyncio.get_running_loop().time()
        for partition, when in list(self._resume_at.items()):
            if when <= now:
                del self._resume_at[partition]
                if partition in self._consumer.assignment():
                    self._consumer.resume(partition)

    async def _process_partition(
        self, partition: TopicPartition, records: list[ConsumerRecord[Any, Any]]
    ) -> None:
        if partition in self._resume_at:
            return  # fetched before it was paused: it is sought back, they come again
        settled = await self._settle_in_order(partition, records)
        if settled is not None:
            # Committed only after every earlier record's transaction committed (or it was
            # dead-lettered); a crash before this redelivers them and the inbox makes them
            # no-ops.
            await self._commit(partition, settled.offset + 1)
        await self._observe_lag(partition)

    async def _settle_in_order(
        self, partition: TopicPartition, records: list[ConsumerRecord[Any, Any]]
    ) -> ConsumerRecord[Any, Any] | None:
        """Settle records in order up to the first that must be retried (its partition is
        then held back and sought back to it); the last settled record, if any."""
        size = max(1, self._sub.batch_size)
        last = None
        for start in range(0, len(records), size):
            chunk = records[start : start + size]
            if len(chunk) > 1 and await self.process_batch(chunk):
                last = chunk[-1]
                continue
            for record in chunk:
                retry = await self.process(record)
                if retry is not None:
                    self._hold_back(partition, record, retry)
                    return last
                last = record
        self.flow.release(partition_label(partition))
        return last

    def _hold_back(
        self, partition: TopicPartition, record: ConsumerRecord[Any, Any], retry: Retry
    ) -> None:
        """Pause the partition and seek it back to `record`, to try again after the delay.
        Polling goes on meanwhile, so the group keeps this member while it waits."""
        assert self._consumer is not None
        self._consumer.pause(partition)
        self._consumer.seek(partition, record.offset)
        self._resume_at[partition] = asyncio.get_running_loop().time() + retry.delay
        if retry.outage:
            self.flow.hold(partition_label(partition), retry.reason)
        log.warning(
            "consumer.retry_later",
            group=self.group_id,
            partition=partition_label(partition),
            offset=record.offset,
            delay=round(retry.delay, 2),
            reason=retry.reason,
        )

    async def _commit(self, partition: TopicPartition, offset: int) -> None:
        """A failed commit is not fatal: the group rejoins by itself and the records come
        again, as no-ops for the inbox. aiokafka retries a commit to a topic the broker
        lost for ever: after COMMIT_TIMEOUT the topics are checked and the consumer starts
        over."""
        assert self._consumer is not None
        try:
            async with asyncio.timeout(COMMIT_TIMEOUT):
                await self._consumer.commit({partition: offset})
        except (KafkaError, TimeoutError) as error:
            self.flow.commit_failed(exception_line(error) or "timed out")
            log.warning("consumer.commit_failed", group=self.group_id, error=repr(error))
            if isinstance(error, TimeoutError | UnknownTopicOrPartitionError):
                await self._heal_quietly()
                raise _StartOver(f"offset commit failed: {error!r}") from error
            return
        self.flow.committed()

    async def _heal(self) -> int:
        """Recreate missing topics; the topic generation seen."""
        assert self._topics is not None
        await self._topics.heal()
        return self._topics.generation

    async def _heal_quietly(self) -> None:
        if self._topics is None:
            return
        try:
            await self._topics.heal()
        except Exception as error:
            log.warning("consumer.heal_failed", group=self.group_id, error=repr(error))

    async def _observe_lag(self, partition: TopicPartition) -> None:
        assert self._consumer is not None
        end = self._consumer.last_stable_offset(partition) or self._consumer.highwater(partition)
        if end is None:
            return
        try:
            position = await self._consumer.position(partition)
        except Exception:
            return  # no longer assigned: the next rebalance says where it stands
        lag = max(0, end - position)
        self.flow.lag[partition_label(partition)] = lag
        metrics.CONSUMER_LAG.labels(self._service, partition.topic, str(partition.partition)).set(
            lag
        )

    async def process(self, record: ConsumerRecord[Any, Any]) -> Retry | None:
        """Settle one record (handled, skipped, a duplicate, or dead-lettered) and return
        None, or return a `Retry` when it must be tried again later. Never raises (but
        for cancellation), whatever the record holds."""
        try:
            return await self._process(record)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            try:
                return await self._failed(record, error)
            except asyncio.CancelledError:
                raise
            except Exception as unexpected:  # a bug in the classification: never stall
                log.exception("consumer.failure_handling_failed", error=repr(unexpected))
                return Retry(self._settings.consumer_max_backoff_seconds, repr(unexpected), True)

    async def _process(self, record: ConsumerRecord[Any, Any]) -> Retry | None:
        verdict = self._failures_of(record).verdict
        if verdict is not None:  # decided before, dead-lettering failed: try that again
            return await self._dead_letter_settled(record, *verdict)
        bind_trace_id(decode_headers(record.headers).get("trace_id") or new_trace_id())
        if record.value is None:
            self._settled(record, await self._handle_tombstone(record))
            return None
        try:
            message = parse_message(record.value)
        except Exception as error:  # not only ValidationError: any bytes may come
            reason = (
                validation_summary(error) if isinstance(error, ValidationError) else repr(error)
            )
            return await self._dead_letter_settled(record, "invalid message", reason[:2000])
        if message.trace_id:
            bind_trace_id(message.trace_id)
        refusal = provenance.refusal(record.topic, message, self._settings)
        if refusal is not None:
            return await self._dead_letter_settled(record, "wrong hub", refusal)
        handler = self._handler_for(message)
        if handler is None:
            self._settled(record, "skipped")
            return None
        self._settled(record, await self._handle_once(record, message, handler))
        return None

    async def _failed(self, record: ConsumerRecord[Any, Any], error: Exception) -> Retry | None:
        """Classify a failure: an outage retries without limit, a refusal is dead-lettered
        at once, anything else is retried and dead-lettered once it repeats while the
        database and broker are healthy."""
        failures = self._failures_of(record)
        failures.total += 1
        fault = classify(error)
        log.warning(
            "consumer.handler_failed",
            group=self.group_id,
            offset=record.offset,
            fault=fault.value,
            attempt=failures.total,
            error=repr(error),
        )
        if fault is Fault.POISON:
            return await self._dead_letter_settled(
                record, "rejected by handler", exception_line(error)
            )
        outage = await self._infrastructure_problem()
        if outage is not None:
            return Retry(self._backoff(failures), outage, outage=True)
        return await self._retry_or_dead_letter(record, failures, fault, error)

    async def _retry_or_dead_letter(
        self, record: ConsumerRecord[Any, Any], failures: _Failures, fault: Fault, error: Exception
    ) -> Retry | None:
        if fault is Fault.TRANSIENT:
            failures.suspect += 1
            tries, limit = failures.suspect, self._settings.consumer_max_transient_attempts
        else:
            failures.repeated += 1
            tries, limit = failures.repeated, self._settings.consumer_max_attempts
        if tries < limit:
            return Retry(self._backoff(failures), f"handler failed: {error!r}", outage=False)
        return await self._dead_letter_settled(
            record, f"handler failed {tries} times", exception_line(error)
        )

    def _backoff(self, failures: _Failures) -> float:
        return backoff(
            failures.total,
            base=self._settings.consumer_backoff_seconds,
            cap=self._settings.consumer_max_backoff_seconds,
        )

    async def _infrastructure_problem(self) -> str | None:
        """Why the database or the broker is failing right now, or None if both answer."""
        try:
            async with asyncio.timeout(5), self._sessionmaker() as session:
                await session.execute(text("SELECT 1"))
        except Exception as error:
            return f"database unavailable: {exception_line(error)[:300]}"
        if not await broker_reachable(self._producer):
            return "broker unreachable"
        return None

    def _failures_of(self, record: ConsumerRecord[Any, Any]) -> _Failures:
        return self._failures.setdefault(position_of(record), _Failures())

    def _settled(self, record: ConsumerRecord[Any, Any], outcome: str) -> None:
        self._failures.pop(position_of(record), None)
        self._count(record, outcome)

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
            except Exception:
                return None
            if provenance.refusal(record.topic, message, self._settings) is not None:
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

    async def _handle_once(
        self, record: ConsumerRecord[Any, Any], message: Message, handler: Handler
    ) -> str:
        async with self._sessionmaker() as session, session.begin():
            return await self._handle_in(session, record, message, handler)

    async def _handle_tombstone(self, record: ConsumerRecord[Any, Any]) -> str:
        if self._sub.on_tombstone is None or record.key is None:
            return "skipped"
        key = record.key.decode("utf-8", "replace")
        async with self._sessionmaker() as session, session.begin():
            await self._sub.on_tombstone(session, self._logical_topic(record.topic), key)
        return "handled"

    def _logical_topic(self, physical: str) -> str:
        return physical.removeprefix(self._settings.kafka_topic_prefix)

    async def _dead_letter_settled(
        self, record: ConsumerRecord[Any, Any], reason: str, error: str
    ) -> Retry | None:
        """Dead-letter the record and settle it; if the copy cannot be written (the broker
        is failing), a Retry that goes straight to dead-lettering next time."""
        failures = self._failures_of(record)
        failures.verdict = (reason, error)
        try:
            await self.dead_letter(record, reason=reason, error=error)
        except Exception as failure:
            failures.total += 1
            await self._heal_quietly()
            why = f"dead-lettering failed: {exception_line(failure)[:300]}"
            return Retry(self._backoff(failures), why, outage=True)
        self._settled(record, "dead_lettered")
        return None

    async def dead_letter(
        self, record: ConsumerRecord[Any, Any], *, reason: str, error: str
    ) -> None:
        """Write the record's dead-letter copy: headers, digest, and as much of the value
        as fits the producer's request limit (see `dead_letters.build`)."""
        copy = dead_letters.build(
            dead_letters.FailedRecord(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.value,
                headers=list(record.headers or ()),
            ),
            reason=reason,
            error=error,
            consumer=self.group_id,
            max_request_size=self._settings.kafka_max_request_bytes,
        )
        target = provenance.dead_letter_topic(record.topic, self._settings)
        await self._producer.send_and_wait(
            target, value=copy.value, key=copy.key, headers=copy.headers
        )
        metrics.DLQ_MESSAGES.labels(self._service, record.topic).inc()
        log.error(
            "consumer.dead_lettered",
            topic=record.topic,
            offset=record.offset,
            reason=reason,
            truncated=dict(copy.headers).get(dead_letters.TRUNCATED, b"").decode() or None,
        )

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
