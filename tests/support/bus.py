"""A tiny test consumer whose effect is NOT naturally idempotent (it appends a row), so any
duplicate that slipped past the inbox would show up as a second row."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_notifier.app import SPEC as NOTIFIER
from tandem_notifier.tables import bus
from tandem_notifier.tables import metadata as notifier_metadata
from tandem_shared.bus.consumer import ConsumerRunner, Handler, Subscription
from tandem_shared.bus.kafka import create_producer, ensure_topics
from tandem_shared.contracts import PROFILES, OrgKind, ProfileData, ProfileUpserted
from tandem_shared.db import create_engine, create_sessionmaker
from tandem_shared.runtime import ServiceSpec
from tandem_shared.settings import ServiceSettings

effects_metadata = MetaData()
effects = Table(
    "test_effects",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False),
)


async def reset_effects(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(effects_metadata.create_all)
        await connection.execute(effects.delete())
    await engine.dispose()


async def effect_counts(url: str) -> tuple[int, int]:
    """(rows, distinct message ids) in the effects table."""
    engine = create_engine(url)
    async with engine.connect() as connection:
        total, distinct = (
            await connection.execute(
                select(func.count(), func.count(effects.c.message_id.distinct()))
            )
        ).one()
    await engine.dispose()
    return int(total), int(distinct)


def profile_message(number: int) -> ProfileUpserted:
    profile_id = uuid.uuid4()
    data = ProfileData(
        id=profile_id,
        hub="demo",
        version=1,
        name=f"Organisation {number}",
        kind=OrgKind.CREATIVE,
        country="PL",
        updated_at=datetime.now(UTC),
    )
    return ProfileUpserted(source="/tests", subject=str(profile_id), hub="demo", data=data)


def append_effect(delay: float = 0.0) -> Handler:
    async def handler(session: AsyncSession, message: Any) -> None:
        if delay:
            await asyncio.sleep(delay)
        await session.execute(effects.insert().values(message_id=str(message.id)))

    return handler


def bus_settings(bootstrap: str, idempotence: bool, prefix: str) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap=bootstrap,
        kafka_idempotence=idempotence,
        kafka_topic_prefix=prefix,
        consumer_max_attempts=3,
        consumer_backoff_seconds=0.01,
    )


def effect_runner(
    settings: ServiceSettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    handler: Handler,
    batch_size: int = 1,
) -> ConsumerRunner:
    subscription = Subscription(
        name="effects",
        topics=(PROFILES.name,),
        handlers={ProfileUpserted: handler},
        batch_size=batch_size,
    )
    return ConsumerRunner(
        service="tests",
        subscription=subscription,
        settings=settings,
        sessionmaker=sessionmaker,
        tables=bus,
        producer=producer,
    )


def effects_spec(settings: ServiceSettings, routers: Sequence[APIRouter] = ()) -> ServiceSpec:
    """A service with the notifier's schema whose one consumer appends an effect row per
    profile message (the tests' stand-in for a real service)."""
    return ServiceSpec(
        name="probe",
        settings_factory=lambda: settings,
        metadata=notifier_metadata,
        tables=bus,
        migrations=NOTIFIER.migrations,
        routers=routers,
        subscriptions=lambda _runtime: [
            Subscription("effects", (PROFILES.name,), {ProfileUpserted: append_effect()})
        ],
    )


@asynccontextmanager
async def bus_parts(
    url: str, kafka: Any, prefix: str, *, engine_url: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """What the bus tests use: settings with a topic prefix (topics created), an engine
    (on `engine_url`, e.g. through a proxy, else `url`), a started producer; the effects
    table empty."""
    await reset_effects(url)
    settings = bus_settings(kafka.bootstrap, kafka.idempotence, prefix)
    await ensure_topics(settings)
    engine = create_engine(engine_url or url)
    producer = create_producer(settings, client_id="tests")
    await producer.start()
    try:
        yield {
            "url": url,
            "settings": settings,
            "engine": engine,
            "producer": producer,
            "sessionmaker": create_sessionmaker(engine),
            "prefix": prefix,
            "kafka": kafka,
            "topic": settings.topic(PROFILES.name),
            "bootstrap": kafka.bootstrap,
        }
    finally:
        await producer.stop()
        await engine.dispose()


@asynccontextmanager
async def running_consumer(runner: ConsumerRunner) -> AsyncIterator[ConsumerRunner]:
    """`runner` consuming in a task for the block's duration."""
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
