"""Provenance against the real broker: a consumer believes a message only from its own
hub's topic. A message whose hub does not own the topic it came on, or that would move a
known profile to another hub, is dead-lettered with the reason, in the consumer's own hub
(never on a topic another hub owns), and the messages behind it still flow."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tandem_notifier.tables import bus, directory
from tandem_shared.bus.consumer import ConsumerRunner
from tandem_shared.bus.kafka import ensure_topics
from tandem_shared.contracts import PROFILES, ProfileUpserted, Scope, Sharing, dead_letter_topic
from tandem_shared.directory import directory_subscription
from tandem_shared.settings import ServiceSettings
from tests.support import eventually, produce, read_topic, topic_sizes
from tests.support.bus import (
    append_effect,
    effect_counts,
    effect_runner,
    profile_message,
    running_consumer,
)

pytestmark = pytest.mark.integration


def from_hub(message: ProfileUpserted, hub: str, data_hub: str | None = None) -> ProfileUpserted:
    """`message` as hub `hub` would send it (its data saying `data_hub`, default `hub`)."""
    data = message.data.model_copy(update={"hub": data_hub or hub, "sharing": Sharing.NETWORK})
    return message.model_copy(update={"hub": hub, "data": data})


def record(message: ProfileUpserted) -> tuple[bytes, bytes]:
    return (message.subject.encode(), message.model_dump_json().encode())


async def south_topics(env: dict[str, Any]) -> None:
    """South joins the broker: it creates its own topics (the consumer's hub is demo)."""
    south = env["settings"].model_copy(update={"hub": "south"})
    assert isinstance(south, ServiceSettings)
    await ensure_topics(south)


async def test_a_message_from_a_hub_that_does_not_own_the_topic_is_dead_lettered(
    bus_env: dict[str, Any],
) -> None:
    env, prefix, bootstrap = bus_env, bus_env["prefix"], bus_env["bootstrap"]
    await south_topics(env)
    demo_local = prefix + PROFILES.topic("demo")
    south_network = prefix + PROFILES.topic("south", Scope.NETWORK)
    forged_on_demo = from_hub(profile_message(1), "south")  # south writing demo's topic
    forged_data = from_hub(profile_message(2), "south", data_hub="north")  # north's profile
    good_south = from_hub(profile_message(3), "south")
    good_demo = profile_message(4)
    await produce(bootstrap, demo_local, [record(forged_on_demo), record(good_demo)])
    await produce(bootstrap, south_network, [record(forged_data), record(good_south)])

    runner = effect_runner(env["settings"], env["sessionmaker"], env["producer"], append_effect())
    async with running_consumer(runner):
        await eventually(lambda: _effects(env, 2), what="both good messages handled")
        dead = await read_topic(bootstrap, dead_letter_topic(demo_local), expect=2)

    by_id = {uuid.UUID(dict(r.headers)["dlq_message_id"].decode()): r for r in dead}
    assert set(by_id) == {forged_on_demo.id, forged_data.id}
    forged_headers = dict(by_id[forged_on_demo.id].headers)
    assert forged_headers["dlq_reason"] == b"wrong hub"
    assert forged_headers["dlq_error"].decode() == (
        "envelope hub 'south' does not own this topic (hub 'demo' writes it)"
    )
    data_headers = dict(by_id[forged_data.id].headers)
    assert data_headers["dlq_original_topic"].decode() == south_network
    assert data_headers["dlq_error"].decode() == (
        "data hub 'north' does not own this topic (hub 'south' writes it)"
    )
    # Demo never writes a topic south owns, not even a dead-letter copy.
    sizes = await topic_sizes(bootstrap, prefix)
    assert dead_letter_topic(south_network) not in sizes  # network topics have none
    written = {topic for topic, size in sizes.items() if size}
    assert written == {demo_local, dead_letter_topic(demo_local), south_network}


async def test_a_known_profile_never_moves_to_another_hub(bus_env: dict[str, Any]) -> None:
    env, prefix, bootstrap = bus_env, bus_env["prefix"], bus_env["bootstrap"]
    await south_topics(env)
    demo_profile = profile_message(1)
    # South reuses demo's profile id on its own network topic: well-formed for its topic.
    hijack = from_hub(demo_profile, "south")
    hijack = hijack.model_copy(update={"id": uuid.uuid4()})
    hijack = hijack.model_copy(
        update={"data": hijack.data.model_copy(update={"version": 99, "name": "Taken over"})}
    )
    await produce(bootstrap, prefix + PROFILES.topic("demo"), [record(demo_profile)])
    runner = ConsumerRunner(
        service="tests",
        subscription=directory_subscription(directory),
        settings=env["settings"],
        sessionmaker=env["sessionmaker"],
        tables=bus,
        producer=env["producer"],
    )
    async with running_consumer(runner):
        await eventually(lambda: _directory_name(env, demo_profile), what="demo's profile")
        await produce(bootstrap, prefix + PROFILES.topic("south", Scope.NETWORK), [record(hijack)])
        dead = await read_topic(
            bootstrap, dead_letter_topic(prefix + PROFILES.topic("demo")), expect=1
        )
    headers = dict(dead[0].headers)
    assert headers["dlq_reason"] == b"rejected by handler"
    assert f"{demo_profile.data.id} belongs to hub 'demo'" in headers["dlq_error"].decode()
    assert await _directory_name(env, demo_profile) == ("demo", demo_profile.data.name)


async def _effects(env: dict[str, Any], expected: int) -> bool:
    total, _ = await effect_counts(env["url"])
    return bool(total == expected)


async def _directory_name(env: dict[str, Any], message: ProfileUpserted) -> tuple[str, str] | None:
    async with env["sessionmaker"]() as session:
        row = (
            await session.execute(directory.select().where(directory.c.id == message.data.id))
        ).first()
    return None if row is None else (row.hub, row.name)
