"""Dead letters an operator can act on, and republishing what a broker lost, through the
`tandem-notifier` command line (a subprocess) against the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tandem_notifier.tables import bus
from tandem_shared.bus.consumer import ConsumerRunner, PoisonMessage, Subscription
from tandem_shared.bus.outbox import OutboxRelay, enqueue
from tandem_shared.contracts import PROFILES, ProfileUpserted, dead_letter_topic
from tandem_shared.db import transaction
from tests.support import eventually, produce, read_topic
from tests.support.bus import (
    append_effect,
    effect_counts,
    profile_message,
    running_consumer,
)

pytestmark = pytest.mark.integration


async def cli(env: dict[str, Any], *arguments: str) -> str:
    """`tandem-notifier ARGUMENTS` on the test database and topics; its output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from tandem_notifier.cli import main; main()",
        *arguments,
        env={
            **os.environ,
            "TANDEM_NOTIFIER_DATABASE_URL": env["url"],
            "TANDEM_KAFKA_BOOTSTRAP": env["kafka"].bootstrap,
            "TANDEM_KAFKA_IDEMPOTENCE": "false",
            "TANDEM_KAFKA_TOPIC_PREFIX": env["prefix"],
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == 0, text
    return text


@contextlib.asynccontextmanager
async def notifier_group(env: dict[str, Any], handler: Any) -> AsyncIterator[ConsumerRunner]:
    """A consumer group named as the notifier's are, so `tandem-notifier dlq` owns it."""
    runner = ConsumerRunner(
        service="notifier",
        subscription=Subscription("effects", (PROFILES.name,), {ProfileUpserted: handler}),
        settings=env["settings"],
        sessionmaker=env["sessionmaker"],
        tables=bus,
        producer=env["producer"],
    )
    async with running_consumer(runner):
        yield runner


async def test_dead_letters_are_listed_once_shown_and_replayed_through_the_inbox(
    bus_env: dict[str, Any],
) -> None:
    env = bus_env
    topic = env["settings"].topic(PROFILES.name)
    poison = profile_message(0)
    fixed = {"yet": False}

    async def refuses_until_fixed(session: Any, message: Any) -> None:
        if not fixed["yet"]:
            raise PoisonMessage("no hub 'demo' configured")
        await append_effect()(session, message)

    await produce(env["kafka"].bootstrap, topic, [(b"k", poison.model_dump_json().encode())])
    async with notifier_group(env, refuses_until_fixed) as runner:
        dead = await read_topic(env["kafka"].bootstrap, dead_letter_topic(topic), expect=1)
        # A consumer killed after writing the copy and before committing writes it again.
        original = (await read_topic(env["kafka"].bootstrap, topic, expect=1))[0]
        await runner.dead_letter(original, reason="rejected by handler", error="again")
        await read_topic(env["kafka"].bootstrap, dead_letter_topic(topic), expect=2)

        listed = await cli(env, "dlq", "list")
        lines = [line for line in listed.splitlines() if "rejected by handler" in line]
        assert len(lines) == 1, listed
        letter_id = lines[0].split()[0]
        assert "pending  2x" in lines[0]
        assert "1 dead-lettered messages, 1 pending" in listed

        shown = await cli(env, "dlq", "show", letter_id)
        assert f"message_id:{' ' * 10}{poison.id}" in shown
        assert "no hub 'demo' configured" in shown
        assert dead[0].value.decode() in shown

        fixed["yet"] = True
        assert "1 dead-lettered messages replayed" in await cli(
            env, "dlq", "replay", "--id", letter_id
        )
        await eventually(lambda: _effects(env, 1), what="the replayed message handled")
        # Replayed again: the inbox makes it a no-op.
        await cli(env, "dlq", "replay", "--id", letter_id)
        await asyncio.sleep(2)
        assert "1 dead-lettered messages, 0 pending" in await cli(env, "dlq", "list")
    assert await effect_counts(env["url"]) == (1, 1)


async def _effects(env: dict[str, Any], expected: int) -> bool:
    return (await effect_counts(env["url"]))[0] >= expected


async def test_republish_sends_again_what_was_sent_since_a_time_and_consumers_drop_repeats(
    bus_env: dict[str, Any],
) -> None:
    env = bus_env
    topic = env["settings"].topic(PROFILES.name)
    before, after = profile_message(1), profile_message(2)
    async with transaction(env["sessionmaker"]) as session:
        await enqueue(session, bus, topic=PROFILES.name, key=before.subject, message=before)
    relay = OutboxRelay(
        service="notifier",
        engine=env["engine"],
        sessionmaker=env["sessionmaker"],
        tables=bus,
        producer=env["producer"],
        topic_prefix=env["prefix"],
    )
    assert await relay.publish_pending() == 1
    since = datetime.now(UTC)
    await asyncio.sleep(0.05)
    async with transaction(env["sessionmaker"]) as session:
        await enqueue(session, bus, topic=PROFILES.name, key=after.subject, message=after)
    assert await relay.publish_pending() == 1

    output = await cli(env, "outbox", "republish", "--since", since.isoformat())
    assert "1 messages since" in output
    assert await relay.publish_pending() == 1  # only the one written since
    records = await read_topic(env["kafka"].bootstrap, topic, expect=3)
    assert [record.key for record in records].count(after.subject.encode()) == 2

    async with notifier_group(env, append_effect()):
        await eventually(lambda: _effects(env, 2), what="both messages handled")
        await asyncio.sleep(2)
    assert await effect_counts(env["url"]) == (2, 2)
    async with env["engine"].connect() as connection:
        unsent = await connection.execute(
            select(bus.outbox.c.id).where(bus.outbox.c.sent_at.is_(None))
        )
        assert unsent.all() == []
    assert since - timedelta(hours=1) < datetime.now(UTC)
