"""The bus's delivery guarantees, against real PostgreSQL and the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from tandem_notifier.tables import bus
from tandem_shared import metrics
from tandem_shared.bus.consumer import Batched, PoisonMessage
from tandem_shared.bus.outbox import OutboxRelay, enqueue
from tandem_shared.contracts import ALL_TOPICS, PROFILES, dead_letter_topic
from tandem_shared.db import transaction
from tests.support import eventually, produce, read_topic
from tests.support.bus import (
    append_effect,
    effect_counts,
    effect_runner,
    profile_message,
    running_consumer,
)

pytestmark = pytest.mark.integration


class RelayDied(Exception):
    """Stands for the relay process dying after publishing, before marking rows sent."""


@contextlib.asynccontextmanager
async def consuming(env: dict[str, Any], handler: Any, batch_size: int = 1) -> AsyncIterator[Any]:
    runner = effect_runner(
        env["settings"], env["sessionmaker"], env["producer"], handler, batch_size
    )
    async with running_consumer(runner):
        yield runner


def consumed(outcome: str, topic: str) -> float:
    return float(metrics.CONSUMED.labels("tests", topic, outcome)._value.get())


async def test_relay_killed_after_publish_republishes_and_consumer_drops_duplicate(
    bus_env: dict[str, Any],
) -> None:
    env = bus_env
    messages = [profile_message(i) for i in range(3)]
    async with transaction(env["sessionmaker"]) as session:
        for message in messages:
            await enqueue(session, bus, topic=PROFILES.name, key=message.subject, message=message)

    async def die(_rows: Sequence[Any]) -> None:
        raise RelayDied

    def relay(**hooks: Any) -> OutboxRelay:
        return OutboxRelay(
            service="tests",
            engine=env["engine"],
            sessionmaker=env["sessionmaker"],
            tables=bus,
            producer=env["producer"],
            topic_prefix=env["prefix"],
            **hooks,
        )

    with pytest.raises(RelayDied):
        await relay(on_published=die).publish_pending()
    assert await relay().publish_pending() == 3  # nothing was marked sent: all go out again

    topic = env["prefix"] + PROFILES.name
    records = await read_topic(env["kafka"].bootstrap, topic, expect=6)
    assert len(records) == 6, "each message should be on the topic twice"
    duplicates_before = consumed("duplicate", topic)
    async with consuming(env, append_effect()):
        await eventually(
            lambda: _effects_and_duplicates(env, topic, duplicates_before),
            what="3 effects and 3 dropped duplicates",
        )
    assert await effect_counts(env["url"]) == (3, 3)


async def _effects_and_duplicates(env: dict[str, Any], topic: str, before: float) -> bool:
    total, _ = await effect_counts(env["url"])
    return total == 3 and consumed("duplicate", topic) - before == 3


async def test_malformed_and_failing_messages_go_to_dlq_and_partition_keeps_flowing(
    bus_env: dict[str, Any],
) -> None:
    env = bus_env
    topic = env["prefix"] + PROFILES.name
    poison, good = profile_message(0), profile_message(1)
    key = b"same-key"  # one partition: the good one is behind both bad ones
    await produce(
        env["kafka"].bootstrap,
        topic,
        [
            (key, b"{not json"),
            (key, poison.model_dump_json().encode()),
            (key, good.model_dump_json().encode()),
        ],
    )

    async def fails_on_poison(session: Any, message: Any) -> None:
        if message.id == poison.id:
            raise RuntimeError("this handler cannot cope")
        await append_effect()(session, message)

    async with consuming(env, fails_on_poison):
        await eventually(lambda: _has_effects(env, 1), what="the good message handled")
    dead = await read_topic(env["kafka"].bootstrap, dead_letter_topic(topic), expect=2)
    reasons = [dict(record.headers)["dlq_reason"].decode() for record in dead]
    assert reasons == ["invalid message", "handler failed 3 times"]
    assert dead[0].value == b"{not json"
    assert dict(dead[1].headers)["dlq_original_topic"].decode() == topic
    assert "this handler cannot cope" in dict(dead[1].headers)["dlq_error"].decode()
    assert await effect_counts(env["url"]) == (1, 1)


async def test_a_batch_shares_one_transaction_and_a_bad_record_falls_back_to_one_by_one(
    bus_env: dict[str, Any],
) -> None:
    env = bus_env
    topic = env["prefix"] + PROFILES.name
    first, poison, second, third = (profile_message(i) for i in range(4))
    key = b"same-key"  # one partition, so the runner sees them as one batch

    async def fails_on_poison(session: Any, message: Any) -> None:
        if message.id == poison.id:
            raise PoisonMessage("never valid")
        await append_effect()(session, message)

    async with consuming(env, fails_on_poison, batch_size=10):
        # A batch with a repeat, a malformed and a poison record: it falls back to one
        # record at a time, each good one handled once, the bad ones dead-lettered.
        await produce(
            env["kafka"].bootstrap,
            topic,
            [(key, m.model_dump_json().encode()) for m in (first, first)]
            + [(key, b"{not json"), (key, poison.model_dump_json().encode())],
        )
        dead = await read_topic(env["kafka"].bootstrap, dead_letter_topic(topic), expect=2)
        assert [dict(record.headers)["dlq_reason"].decode() for record in dead] == [
            "invalid message",
            "rejected by handler",
        ]
        await eventually(lambda: _has_effects(env, 1), what="the first message")
    # A clean batch, produced while no consumer runs so that one poll fetches both
    # (records sent one by one to a running consumer may arrive in two polls).
    await produce(
        env["kafka"].bootstrap,
        topic,
        [(key, m.model_dump_json().encode()) for m in (second, third)],
    )
    async with consuming(env, fails_on_poison, batch_size=10):
        await eventually(lambda: _has_effects(env, 3), what="the three good messages")
    assert await effect_counts(env["url"]) == (3, 3)  # the repeated first one: once

    async with env["engine"].connect() as connection:
        rows = await connection.execute(
            text("SELECT message_id, xmin::text FROM inbox WHERE message_id = ANY(:ids)"),
            {"ids": [str(m.id) for m in (first, second, third)]},
        )
        transaction_of = {row[0]: row[1] for row in rows}
    assert transaction_of[str(second.id)] == transaction_of[str(third.id)]
    assert transaction_of[str(first.id)] != transaction_of[str(second.id)]


async def test_a_batched_handler_gets_runs_without_repeats(bus_env: dict[str, Any]) -> None:
    """Records of one poll reach a `Batched` handler together, minus those handled before
    and repeats inside the poll; each has its effect exactly once."""
    env = bus_env
    topic = env["prefix"] + PROFILES.name
    first, *rest = (profile_message(i) for i in range(5))
    runs: list[list[str]] = []

    async def append_run(session: Any, messages: Sequence[Any]) -> None:
        runs.append([str(m.id) for m in messages])
        for message in messages:
            await append_effect()(session, message)

    def records(*messages: Any) -> list[tuple[bytes, bytes]]:
        return [(b"same-key", m.model_dump_json().encode()) for m in messages]

    async with consuming(env, Batched(append_run), batch_size=10):
        await produce(env["kafka"].bootstrap, topic, records(first))
        await eventually(lambda: _has_effects(env, 1), what="the first message")
    # Produced while nobody consumes, so the next poll takes them all at once.
    await produce(env["kafka"].bootstrap, topic, records(first, rest[0], rest[0], *rest[1:]))
    async with consuming(env, Batched(append_run), batch_size=10):
        await eventually(lambda: _has_effects(env, 5), what="the four new messages")
    assert await effect_counts(env["url"]) == (5, 5)
    assert runs == [[str(first.id)], [str(m.id) for m in rest]]


async def _has_effects(env: dict[str, Any], expected: int) -> bool:
    total, _ = await effect_counts(env["url"])
    return total >= expected


def _start_worker(env: dict[str, Any]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.consumer_worker",
            env["url"],
            env["kafka"].bootstrap,
            env["prefix"],
        ],
        cwd=os.getcwd(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_consumer_killed_mid_batch_processes_every_message_exactly_once_in_effect(
    bus_env: dict[str, Any],
) -> None:
    env = bus_env
    total = 300
    messages = [profile_message(i) for i in range(total)]
    await produce(
        env["kafka"].bootstrap,
        env["prefix"] + PROFILES.name,
        [(m.subject.encode(), m.model_dump_json().encode()) for m in messages],
    )
    worker = _start_worker(env)
    try:
        await eventually(lambda: _has_effects(env, 40), timeout=60, what="the worker to get going")
        worker.send_signal(signal.SIGKILL)  # mid-batch: batches are up to 200 records
        worker.wait()
        partial, _ = await effect_counts(env["url"])
        assert partial < total, "the worker finished before it could be killed"
        worker = _start_worker(env)
        await eventually(lambda: _has_effects(env, total), timeout=90, what="all messages handled")
        await asyncio.sleep(2)  # let any redelivered duplicate try its luck
    finally:
        worker.kill()
        worker.wait()
    assert await effect_counts(env["url"]) == (total, total)


async def test_topics_are_created_with_configured_partitions_and_dead_letter_topics(
    bus_env: dict[str, Any],
) -> None:
    producer: AIOKafkaProducer = bus_env["producer"]
    metadata = await producer.client.fetch_all_metadata()
    partitions = bus_env["settings"].kafka_partitions
    for spec in ALL_TOPICS:
        topic = bus_env["prefix"] + spec.name
        assert len(metadata.partitions_for_topic(topic) or ()) == partitions, topic
        assert dead_letter_topic(topic) in metadata.topics()
