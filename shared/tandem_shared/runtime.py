"""The service runtime: what every Tandem service does at start and stop, in one place.

`create_service_app(spec)` builds the FastAPI app whose lifespan builds the settings,
configures logging, migrates the database, creates the topics, starts the producer, the
outbox relay and the consumers (each supervised: a crash is logged and restarted with
backoff, never fatal), and serves /healthz, /readyz and /metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tandem_shared import db
from tandem_shared.bus.consumer import ConsumerRunner, Subscription
from tandem_shared.bus.kafka import (
    broker_reachable,
    create_producer,
    ensure_topics,
    wait_for_broker,
)
from tandem_shared.bus.outbox import OutboxRelay
from tandem_shared.bus.tables import BusTables
from tandem_shared.http import install_http_basics
from tandem_shared.identity.jwks import http_fetch
from tandem_shared.identity.tokens import TokenVerifier
from tandem_shared.logging import configure_logging, get_logger
from tandem_shared.migrations import upgrade
from tandem_shared.settings import ServiceSettings

log = get_logger(__name__)


@dataclass
class Runtime:
    """Everything a running service holds; reachable as `request.app.state.runtime`."""

    name: str
    settings: Any
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    tables: BusTables
    producer: AIOKafkaProducer
    relay: OutboxRelay
    # Checks bearer tokens against the trusted issuers; its client fetches their JWKS.
    verifier: TokenVerifier
    jwks_client: httpx.AsyncClient
    state: dict[str, Any] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    consumers: list[ConsumerRunner] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    settings_factory: Callable[[], ServiceSettings]
    metadata: MetaData
    tables: BusTables
    migrations: Path
    routers: Sequence[APIRouter] = ()
    subscriptions: Callable[[Runtime], Sequence[Subscription]] = lambda _runtime: ()
    on_startup: Callable[[Runtime], Awaitable[None]] | None = None
    on_shutdown: Callable[[Runtime], Awaitable[None]] | None = None
    description: str = ""


async def supervise(
    name: str, work: Callable[[], Awaitable[None]], *, max_backoff: float = 30.0
) -> None:
    """Run `work` forever: an exception is logged and `work` restarts after a backoff."""
    backoff = 0.5
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.error("task.crashed", task=name, error=repr(error), retry_in=backoff)
            await asyncio.sleep(backoff)
            backoff = min(max_backoff, backoff * 2)


async def _start_producer(producer: AIOKafkaProducer) -> None:
    async for attempt in wait_for_broker():
        with attempt:
            await producer.start()


async def start_runtime(spec: ServiceSpec, settings: ServiceSettings) -> Runtime:
    configure_logging(service=spec.name, json=settings.json_logs, level=settings.log_level)
    if settings.auto_migrate:
        await upgrade(settings.database_url, spec.migrations)
    engine = db.create_engine(settings.database_url)
    sessionmaker = db.create_sessionmaker(engine)
    await ensure_topics(settings)
    producer = create_producer(settings, client_id=f"tandem-{spec.name}")
    await _start_producer(producer)
    relay = OutboxRelay(
        service=spec.name,
        engine=engine,
        sessionmaker=sessionmaker,
        tables=spec.tables,
        producer=producer,
        poll_seconds=settings.outbox_poll_seconds,
        topic_prefix=settings.kafka_topic_prefix,
    )
    jwks_client = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
    runtime = Runtime(
        name=spec.name,
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        tables=spec.tables,
        producer=producer,
        relay=relay,
        verifier=TokenVerifier.for_issuers(settings.trusted_issuers, http_fetch(jwks_client)),
        jwks_client=jwks_client,
    )
    if spec.on_startup is not None:
        await spec.on_startup(runtime)
    runtime.tasks.append(asyncio.create_task(supervise("outbox-relay", relay.run)))
    for subscription in spec.subscriptions(runtime):
        runner = ConsumerRunner(
            service=spec.name,
            subscription=subscription,
            settings=settings,
            sessionmaker=sessionmaker,
            tables=spec.tables,
            producer=producer,
        )
        runtime.consumers.append(runner)
        runtime.tasks.append(
            asyncio.create_task(supervise(f"consumer-{subscription.name}", runner.run))
        )
    log.info(
        "service.started", database=engine.url.get_backend_name(), kafka=settings.kafka_bootstrap
    )
    return runtime


async def stop_runtime(spec: ServiceSpec, runtime: Runtime) -> None:
    for task in runtime.tasks:
        task.cancel()
    # Bounded: a task that ignores its cancellation must not hang the shutdown.
    _, stuck = await asyncio.wait(runtime.tasks, timeout=10) if runtime.tasks else ((), ())
    for task in stuck:
        log.error("task.did_not_stop", task=task.get_name())
    if spec.on_shutdown is not None:
        await spec.on_shutdown(runtime)
    await runtime.producer.stop()
    await runtime.jwks_client.aclose()
    await runtime.engine.dispose()
    log.info("service.stopped")


def create_service_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(spec, settings or spec.settings_factory())
        app.state.runtime = runtime
        try:
            yield
        finally:
            await stop_runtime(spec, runtime)

    app = FastAPI(
        title=f"Tandem {spec.name}",
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
    )
    install_http_basics(app, service=spec.name, ready_check=_ready_check)
    for router in spec.routers:
        app.include_router(router)
    return app


async def _ready_check(app: FastAPI) -> dict[str, bool]:
    runtime: Runtime = app.state.runtime
    try:
        await asyncio.wait_for(db.ping(runtime.engine), 3)
        database = True
    except Exception:
        database = False
    return {
        "database": database,
        "broker": await broker_reachable(runtime.producer),
        "consumers": all(runner.joined for runner in runtime.consumers),
    }


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    # The edge owns the transaction: commit when the route returns, roll back if it raised.
    async with db.transaction(get_runtime(request).sessionmaker) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a failed commit
# can never follow a success response.
DbSession = Annotated[AsyncSession, Depends(_session, scope="function")]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
