"""No record stalls a partition and no outage dead-letters a good message: against real
PostgreSQL (behind a TCP proxy that the test cuts) and the real broker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from tandem_shared import metrics
from tandem_shared.bus import dead_letters
from tandem_shared.bus.consumer import ConsumerRunner, PoisonMessage
from tandem_shared.bus.kafka import create_producer, ensure_topics
from tandem_shared.contracts import PROFILES, dead_letter_topic
from tandem_shared.db import create_engine, create_sessionmaker
from tandem_tools.tcp_proxy import TcpProxy
from tests.support import eventually, examples, produce, read_topic
from tests.support.bus import (
    append_effect,
    bus_parts,
    bus_settings,
    effect_counts,
    effect_runner,
    profile_message,
    reset_effects,
    running_consumer,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_proxy(clean_databases: dict[str, str]) -> Iterator[TcpProxy]:
    url = make_url(clean_databases["notifier"])
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield proxy
    proxy.stop()


@pytest.fixture
async def env(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str, pg_proxy: TcpProxy
) -> AsyncIterator[dict[str, Any]]:
    """The bus parts, with every database connection going through `pg_proxy`."""
    direct = clean_databases["notifier"]
    proxied = make_url(direct).set(port=pg_proxy.port).render_as_string(hide_password=False)
    async with bus_parts(direct, kafka, topic_prefix, engine_url=proxied) as parts:
        yield parts


async def _effects(env: dict[str, Any], expected: int) -> bool:
    return (await effect_counts(env["url"]))[0] >= expected


async def test_a_good_message_waits_out_a_database_outage_and_is_handled_after_it(
    env: dict[str, Any], pg_proxy: TcpProxy
) -> None:
    runner = effect_runner(env["settings"], env["sessionmaker"], env["producer"], append_effect())
    first, during = profile_message(1), profile_message(2)
    dlq = dead_letter_topic(env["topic"])
    async with running_consumer(runner):
        await produce(env["bootstrap"], env["topic"], [(b"k", first.model_dump_json().encode())])
        await eventually(lambda: _effects(env, 1), what="the first message")
        pg_proxy.cut()
        await produce(env["bootstrap"], env["topic"], [(b"k", during.model_dump_json().encode())])
        # Far longer than the retries (3 attempts, 10 ms backoff) of a failing handler.
        await asyncio.sleep(6)
        dead = await read_topic(env["bootstrap"], dlq, expect=1, timeout=3)
        assert dead == [], "a good message was dead-lettered during the outage"
        assert await effect_counts(env["url"]) == (1, 1)
        problem = runner.flow.problem()
        assert problem is not None and "database unavailable" in problem
        pg_proxy.restore()
        await eventually(lambda: _effects(env, 2), what="the message held back by the outage")
        await eventually(lambda: _async(runner.flow.problem() is None), what="ready again")
    assert await effect_counts(env["url"]) == (2, 2)
    assert await read_topic(env["bootstrap"], dlq, expect=1, timeout=3) == []


async def _async(value: Any) -> Any:
    return value


async def test_a_poison_record_over_a_megabyte_is_dead_lettered_and_the_partition_flows_on(
    env: dict[str, Any],
) -> None:
    """The DLQ copy of a record larger than the producer's request limit used to fail with
    MessageSizeTooLargeError, escape `process()`, and block the partition for good."""
    poison = profile_message(0)
    raw = poison.model_dump_json().encode()
    oversize = raw[:-1] + b', "padding": "' + b"x" * 1_500_000 + b'"}'
    good = profile_message(1)

    async def refuses_poison(session: Any, message: Any) -> None:
        if message.id == poison.id:
            raise PoisonMessage("never valid")
        await append_effect()(session, message)

    big = AIOKafkaProducer(
        bootstrap_servers=env["bootstrap"], enable_idempotence=False, max_request_size=4 << 20
    )
    await big.start()
    try:
        await big.send_and_wait(env["topic"], oversize, key=b"k", headers=[("ce_id", b"p")])
        await big.send_and_wait(env["topic"], good.model_dump_json().encode(), key=b"k")
    finally:
        await big.stop()
    runner = effect_runner(env["settings"], env["sessionmaker"], env["producer"], refuses_poison)
    async with running_consumer(runner):
        await eventually(lambda: _effects(env, 1), what="the good message behind the big one")
    dead = await read_topic(env["bootstrap"], dead_letter_topic(env["topic"]), expect=1)
    assert len(dead) == 1
    letter = dead_letters.read(dead[0])
    assert letter.reason == "rejected by handler"
    assert letter.message_id == "p"
    assert letter.digest == dead_letters.digest(oversize)
    assert letter.value is not None and oversize.startswith(letter.value)
    assert "value cut from" in letter.truncated
    assert await effect_counts(env["url"]) == (1, 1)


def _record(
    topic: str, offset: int, key: Any, value: Any, headers: Any
) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value or b""),
        headers=headers,
    )


def _mutated(draw: Any) -> bytes:
    """A real message with one field replaced by something else."""
    body = json.loads(profile_message(draw(st.integers(0, 99))).model_dump_json())
    path = draw(st.sampled_from([("id",), ("type",), ("data",), ("data", "version"), ("hub",)]))
    replacement = draw(st.one_of(st.none(), st.integers(), st.text(max_size=20), st.just([])))
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = replacement
    return json.dumps(body).encode()


@st.composite
def record_parts(draw: Any) -> tuple[Any, Any, Any]:
    big = st.builds(lambda n: b"\x00\xff{" * n, st.sampled_from([400_000, 600_000, 1_000_000]))
    value = draw(
        st.one_of(
            st.none(),
            st.binary(max_size=200),
            st.text(max_size=200).map(str.encode),
            st.builds(lambda i: profile_message(i).model_dump_json().encode(), st.integers()),
            st.builds(lambda _: _mutated(draw), st.none()),
            big,
        )
    )
    key = draw(st.one_of(st.none(), st.binary(max_size=30), big))
    header_value = st.one_of(st.none(), st.binary(max_size=30), st.just(b"h" * 300_000))
    headers = draw(st.lists(st.tuples(st.text(max_size=20), header_value), max_size=4))
    return key, value, tuple(headers)


def test_process_never_raises_and_settles_any_record(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> None:
    """Whatever a record holds (any bytes, size, headers) and whatever the handler does with
    it (handle, refuse, fail every time), `process()` never raises and settles it: at once,
    or, for a failing handler, within `consumer_max_attempts` tries; every dead-letter copy
    is on the DLQ topic."""
    loop = asyncio.new_event_loop()
    settings = bus_settings(kafka.bootstrap, kafka.idempotence, topic_prefix)
    topic = settings.topic(PROFILES.name)
    behaviour = {"now": "ok"}

    async def handler(session: Any, message: Any) -> None:
        if behaviour["now"] == "poison":
            raise PoisonMessage("refused")
        if behaviour["now"] == "bug":
            raise RuntimeError("a bug in the handler")
        await append_effect()(session, message)

    async def start() -> tuple[ConsumerRunner, AIOKafkaProducer, Any]:
        await reset_effects(clean_databases["notifier"])
        await ensure_topics(settings)
        engine = create_engine(clean_databases["notifier"])
        producer = create_producer(settings, client_id="tests")
        await producer.start()
        runner = effect_runner(settings, create_sessionmaker(engine), producer, handler)
        return runner, producer, engine

    runner, producer, engine = loop.run_until_complete(start())
    offsets = iter(range(10**9))
    dead_lettered = {"count": 0}

    @hyp_settings(
        max_examples=examples(60, 300), deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(parts=record_parts(), now=st.sampled_from(["ok", "ok", "poison", "bug"]))
    def check(parts: tuple[Any, Any, Any], now: str) -> None:
        behaviour["now"] = now
        record = _record(topic, next(offsets), *parts)
        before = _consumed("dead_lettered", topic)
        for _attempt in range(settings.consumer_max_attempts):
            retry = loop.run_until_complete(runner.process(record))
            if retry is None:
                break
            assert not retry.outage, retry.reason
        else:
            raise AssertionError(f"not settled after {settings.consumer_max_attempts} tries")
        dead_lettered["count"] += int(_consumed("dead_lettered", topic) - before)

    try:
        check()
        dead = loop.run_until_complete(
            read_topic(kafka.bootstrap, dead_letter_topic(topic), expect=dead_lettered["count"])
        )
        assert len(dead) == dead_lettered["count"] > 0
    finally:
        loop.run_until_complete(producer.stop())
        loop.run_until_complete(engine.dispose())
        loop.close()


def _consumed(outcome: str, topic: str) -> float:
    return float(metrics.CONSUMED.labels("tests", topic, outcome)._value.get())
