"""A broker restart heals by itself: a service (outbox relay, a consumer group, /readyz)
on a broker of its own, restarted (SIGKILL) under it.

- Persisted (Tansu on a local S3 store): topics, messages and committed offsets survive;
  flow resumes without a step by anyone.
- In memory: the broker comes back empty; the topics are recreated with their
  configuration, the consumer starts over, and messages published after the restart flow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tandem_notifier.tables import bus
from tandem_shared.broker import (
    EmbeddedBroker,
    PersistentBroker,
    start_broker,
    start_persistent_broker,
)
from tandem_shared.bus.outbox import enqueue
from tandem_shared.contracts import PROFILES
from tandem_shared.db import transaction
from tandem_shared.runtime import Runtime, create_service_app
from tandem_shared.settings import ServiceSettings
from tests.support import eventually, read_topic, running, service_settings
from tests.support.bus import (
    effect_counts,
    effects_spec,
    profile_message,
    reset_effects,
)
from tests.support.harness import Kafka

pytestmark = pytest.mark.integration


@pytest.fixture
def persisted(tmp_path: Path) -> Iterator[PersistentBroker]:
    with start_persistent_broker(tmp_path / "broker", log_dir=tmp_path / "logs") as broker:
        yield broker


@pytest.fixture
def in_memory() -> Iterator[EmbeddedBroker]:
    with start_broker() as broker:
        yield broker


async def _publish(runtime: Runtime, number: int) -> None:
    message = profile_message(number)
    async with transaction(runtime.sessionmaker) as session:
        await enqueue(session, bus, topic=PROFILES.name, key=message.subject, message=message)
    runtime.relay.wake()


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200


async def _effects(url: str, expected: int) -> bool:
    return (await effect_counts(url))[0] >= expected


@pytest.fixture
async def service_on(clean_databases: dict[str, str], topic_prefix: str) -> AsyncIterator[Any]:
    url = clean_databases["notifier"]
    await reset_effects(url)

    def settings_for(broker: Any) -> ServiceSettings:
        kafka = Kafka(broker.bootstrap, idempotence=False)
        return service_settings(ServiceSettings, database_url=url, kafka=kafka, prefix=topic_prefix)

    yield url, settings_for


async def _restart_and_resume(broker: Any, settings: ServiceSettings, url: str) -> Runtime:
    app = create_service_app(effects_spec(settings), settings)
    async with running(app) as client:
        runtime: Runtime = app.state.runtime
        await eventually(lambda: _ready(client), timeout=60, what="ready")
        await _publish(runtime, 1)
        await eventually(lambda: _effects(url, 1), what="the message before the restart")

        broker.restart(crash=True)
        for number in range(2, 12):  # keys over every partition
            await _publish(runtime, number)
        await eventually(lambda: _effects(url, 11), timeout=90, what="messages after the restart")
        await eventually(lambda: _ready(client), timeout=60, what="ready after the restart")
        await _publish(runtime, 12)
        await eventually(lambda: _effects(url, 12), timeout=30, what="flow after the restart")
    assert await effect_counts(url) == (12, 12)
    return runtime


async def test_a_persisted_broker_restart_keeps_messages_and_flow_resumes(
    persisted: PersistentBroker, service_on: Any
) -> None:
    url, settings_for = service_on
    settings = settings_for(persisted)
    await _restart_and_resume(persisted, settings, url)
    kept = await read_topic(persisted.bootstrap, settings.topic(PROFILES.name), expect=12)
    assert len(kept) == 12, "the message from before the restart is still on the topic"


async def test_an_in_memory_broker_restart_gets_its_topics_back_and_flow_resumes(
    in_memory: EmbeddedBroker, service_on: Any
) -> None:
    url, settings_for = service_on
    settings = settings_for(in_memory)
    await _restart_and_resume(in_memory, settings, url)
    dead_letter_topics = await _topics(in_memory.bootstrap)
    assert settings.topic(PROFILES.name) + ".dlq" in dead_letter_topics


async def _topics(bootstrap: str) -> set[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()
