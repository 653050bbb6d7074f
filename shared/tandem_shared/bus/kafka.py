"""Kafka clients and topic administration (aiokafka)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from aiokafka.helpers import create_ssl_context
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from tandem_shared.contracts import ALL_TOPICS, dead_letter_topic
from tandem_shared.logging import get_logger
from tandem_shared.settings import ServiceSettings

log = get_logger(__name__)
TOPIC_ALREADY_EXISTS = 36


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Where the broker is and how to authenticate to it: every Kafka client of a service
    (producer, consumers, admin) connects with these."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.endswith("SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=_path(settings.kafka_ssl_cafile),
            certfile=_path(settings.kafka_ssl_certfile),
            keyfile=_path(settings.kafka_ssl_keyfile),
        )
    if settings.kafka_security_protocol.startswith("SASL"):
        assert settings.kafka_sasl_password is not None  # the settings refuse it missing
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password.get_secret_value(),
        }
    return options


def _path(path: Path | None) -> str | None:
    return None if path is None else str(path)


def create_producer(settings: ServiceSettings, *, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **client_options(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=2,
        request_timeout_ms=15000,
        max_request_size=settings.kafka_max_request_bytes,
    )


def topic_requests(settings: ServiceSettings) -> list[NewTopic]:
    """Every topic this deployment's hubs write (each hub creates only its own: another
    hub's network topics are that hub's to create), with partitions and cleanup policy,
    and beside each local topic its dead-letter topic (where the hub's consumers put what
    they cannot read, of other hubs' network topics too)."""
    requests = []
    for hub in settings.local_hubs:
        for spec in ALL_TOPICS:
            for scope in spec.scopes():
                name = settings.topic(spec.topic(hub, scope))
                requests.append(
                    NewTopic(
                        name,
                        settings.kafka_partitions,
                        settings.kafka_replication,
                        topic_configs={"cleanup.policy": spec.cleanup.value},
                    )
                )
            requests.append(
                NewTopic(
                    dead_letter_topic(settings.topic(spec.topic(hub))),
                    1,
                    settings.kafka_replication,
                    topic_configs={"cleanup.policy": "delete"},
                )
            )
    return requests


def group_prefix(settings: ServiceSettings, service: str) -> str:
    """What every consumer group of `service` in this hub is called, then its name."""
    return f"{settings.kafka_topic_prefix}tandem.{settings.hub}.{service}-"


def wait_for_broker(attempts: int = 30) -> AsyncRetrying:
    """Retry start-up calls while the broker comes up (compose and k8s start things together)."""
    return AsyncRetrying(
        retry=retry_if_exception_type((KafkaError, OSError)),
        stop=stop_after_attempt(attempts),
        wait=wait_fixed(1),
        before_sleep=lambda state: log.info(
            "kafka.waiting_for_broker", attempt=state.attempt_number
        ),
        reraise=True,
    )


async def ensure_topics(settings: ServiceSettings) -> None:
    """Create the topics that are missing; an existing topic is left as it is."""
    async for attempt in wait_for_broker():
        with attempt:
            await _create_missing_topics(settings)


async def _create_missing_topics(settings: ServiceSettings) -> list[str]:
    """Create the missing topics; the names of those created."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [request for request in topic_requests(settings) if request.name not in existing]
        if missing:
            response = await admin.create_topics(missing)
            _raise_on_create_errors(response.topic_errors)
    finally:
        await admin.close()
    return [request.name for request in missing]


class TopicGuard:
    """Keeps the topics in place. A broker that restarted without its data has none: the
    guard creates the missing ones with their partitions and cleanup policy at start-up,
    whenever a relay or consumer meets a lost topic, and every `every` seconds."""

    def __init__(self, settings: ServiceSettings, *, every: float = 5.0) -> None:
        self._settings = settings
        self._every = every
        self._lock = asyncio.Lock()
        self._checked_at = -1e9
        self.error: str | None = None
        # Bumped when topics that existed had to be created again (the broker lost them):
        # consumers then start over rather than fetch from positions the topics never had.
        self.generation = 0

    async def heal(self) -> None:
        """Create the missing topics; a burst of callers shares one check."""
        async with self._lock:
            if time.monotonic() - self._checked_at < 1.0:
                return
            try:
                created = await _create_missing_topics(self._settings)
            except Exception as error:
                self.error = repr(error)[:300]
                raise
            if created and self._checked_at > 0:
                self.generation += 1
            self._checked_at = time.monotonic()
            self.error = None
        if created:
            log.warning("kafka.topics_created", topics=created, generation=self.generation)

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            with contextlib.suppress(Exception):  # kept in `error`, shown by /readyz
                await self.heal()

    def problem(self) -> str | None:
        return None if self.error is None else f"topics cannot be checked: {self.error}"


def _raise_on_create_errors(topic_errors: list[tuple[str, int, str | None]]) -> None:
    for name, code, message in topic_errors:
        if code not in (0, TOPIC_ALREADY_EXISTS):
            raise RuntimeError(f"creating topic {name} failed: {code} {message}")


async def broker_reachable(producer: AIOKafkaProducer, within: float = 3.0) -> bool:
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), within)
    except (KafkaError, TimeoutError, OSError):
        return False
    return True
