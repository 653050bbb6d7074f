"""The service runtime: what every Tandem service does at start and stop, in one place.

`create_service_app(spec)` builds the FastAPI app whose lifespan builds the settings,
configures logging, migrates the database, creates the topics, starts the producer, the
outbox relay and the consumers (each supervised: a crash is logged and restarted with
backoff, never fatal), and serves /healthz, /readyz and /metrics. Start-up waits out an
outage of the database or broker (see `Startup`) instead of exiting, and /readyz reports
real flow (see `bus.flow`), not only that connections can be made.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
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
from tandem_shared.api_docs import create_documented_app
from tandem_shared.bus.consumer import ConsumerRunner, Subscription
from tandem_shared.bus.faults import Fault, backoff, classify
from tandem_shared.bus.kafka import TopicGuard, broker_reachable, create_producer
from tandem_shared.bus.outbox import OutboxRelay
from tandem_shared.bus.tables import BusTables
from tandem_shared.http import DEFAULT_MAX_BODY_BYTES, Readiness, install_http_basics
from tandem_shared.identity.jwks import http_fetch
from tandem_shared.identity.tokens import TokenVerifier
from tandem_shared.logging import configure_logging, get_logger
from tandem_shared.migrations import upgrade
from tandem_shared.settings import ServiceSettings

log = get_logger(__name__)
STARTUP_MAX_BACKOFF = 10.0


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
    topics: TopicGuard
    state: dict[str, Any] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    consumers: list[ConsumerRunner] = field(default_factory=list)
    startup: Startup = field(default_factory=lambda: Startup())


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
    # Paths that take larger bodies than `max_request_bytes` (bulk imports), with their limit.
    larger_bodies: Mapping[str, int] = field(default_factory=dict)


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


class Startup:
    """Where start-up stands. It waits for the database and the broker (retrying outages
    with capped backoff, for as long as they last) instead of exiting; meanwhile the
    service answers /healthz, says why it is not ready on /readyz, and refuses other
    requests with 503."""

    def __init__(self) -> None:
        self.phase = "starting"
        self.error: str | None = None
        self.done = False
        # Set when a dependency first failed: the app then serves while start-up goes on.
        self.waiting = asyncio.Event()

    def problem(self) -> str | None:
        if self.done:
            return None
        return f"starting: {self.phase}" + (f" ({self.error})" if self.error else "")


async def _step(startup: Startup, phase: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run one start-up step, retrying it while the failure is an outage."""
    startup.phase = phase
    failures = 0
    while True:
        try:
            await work()
        except Exception as error:
            if classify(error) is not Fault.TRANSIENT:
                raise
            failures += 1
            startup.error = repr(error)[:300]
            startup.waiting.set()
            delay = backoff(failures, base=0.5, cap=STARTUP_MAX_BACKOFF)
            log.warning("service.waiting", phase=phase, error=startup.error, retry_in=delay)
            await asyncio.sleep(delay)
        else:
            startup.error = None
            return


def build_runtime(spec: ServiceSpec, settings: ServiceSettings) -> Runtime:
    """The service's parts, connected to nothing yet."""
    engine = db.create_engine(settings.database_url)
    sessionmaker = db.create_sessionmaker(engine)
    producer = create_producer(settings, client_id=f"tandem-{spec.name}")
    topics = TopicGuard(settings)
    relay = OutboxRelay(
        service=spec.name,
        engine=engine,
        sessionmaker=sessionmaker,
        tables=spec.tables,
        producer=producer,
        poll_seconds=settings.outbox_poll_seconds,
        topic_prefix=settings.kafka_topic_prefix,
        heal=topics.heal,
    )
    jwks_client = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
    return Runtime(
        name=spec.name,
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        tables=spec.tables,
        producer=producer,
        relay=relay,
        verifier=TokenVerifier.for_issuers(settings.trusted_issuers, http_fetch(jwks_client)),
        jwks_client=jwks_client,
        topics=topics,
    )


async def bring_up(spec: ServiceSpec, runtime: Runtime) -> None:
    """Migrate, create the topics, start the producer, run the service's start-up hook,
    then the relay and the consumers: each step waits out an outage of what it needs."""
    settings, startup = runtime.settings, runtime.startup
    if settings.auto_migrate:
        await _step(
            startup,
            "migrating the database",
            lambda: upgrade(settings.database_url, spec.migrations),
        )
    await _step(startup, "creating topics", runtime.topics.heal)
    await _step(startup, "connecting to the broker", runtime.producer.start)
    if spec.on_startup is not None:
        hook = spec.on_startup
        await _step(startup, "running the start-up hook", lambda: hook(runtime))
    _start_flow(spec, runtime)
    startup.done = True
    log.info(
        "service.started",
        database=runtime.engine.url.get_backend_name(),
        kafka=settings.kafka_bootstrap,
    )


def _start_flow(spec: ServiceSpec, runtime: Runtime) -> None:
    runtime.tasks.append(asyncio.create_task(supervise("outbox-relay", runtime.relay.run)))
    runtime.tasks.append(asyncio.create_task(supervise("topic-guard", runtime.topics.watch)))
    for subscription in spec.subscriptions(runtime):
        runner = ConsumerRunner(
            service=spec.name,
            subscription=subscription,
            settings=runtime.settings,
            sessionmaker=runtime.sessionmaker,
            tables=spec.tables,
            producer=runtime.producer,
            topics=runtime.topics,
        )
        runtime.consumers.append(runner)
        runtime.tasks.append(
            asyncio.create_task(supervise(f"consumer-{subscription.name}", runner.run))
        )


async def start_runtime(spec: ServiceSpec, settings: ServiceSettings) -> Runtime:
    """Build the runtime and bring it up. Returns once it is up, or as soon as a dependency
    turned out to be down (start-up then goes on in the background); a failure that is not
    an outage (a broken migration, a bad setting) is raised: start-up fails loudly."""
    configure_logging(service=spec.name, json=settings.json_logs, level=settings.log_level)
    runtime = build_runtime(spec, settings)
    starting = asyncio.create_task(bring_up(spec, runtime))
    waiting = asyncio.create_task(runtime.startup.waiting.wait())
    await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if starting.done():
        starting.result()
    else:
        log.warning("service.serving_while_starting", reason=runtime.startup.problem())
        starting.add_done_callback(lambda task: _start_up_ended(runtime, task))
        runtime.tasks.append(starting)
    return runtime


def _start_up_ended(runtime: Runtime, task: asyncio.Task[None]) -> None:
    if task.cancelled() or task.exception() is None:
        return
    runtime.startup.error = f"start-up failed: {task.exception()!r}"[:500]
    log.error("service.start_up_failed", error=runtime.startup.error)


async def stop_runtime(spec: ServiceSpec, runtime: Runtime) -> None:
    for task in runtime.tasks:
        task.cancel()
    # Bounded: a task that ignores its cancellation must not hang the shutdown.
    _, stuck = await asyncio.wait(runtime.tasks, timeout=10) if runtime.tasks else ((), ())
    for task in stuck:
        log.error("task.did_not_stop", task=task.get_name())
    if spec.on_shutdown is not None and runtime.startup.done:
        await spec.on_shutdown(runtime)
    with contextlib.suppress(Exception):
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

    app = create_documented_app(
        title=f"Tandem {spec.name}",
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
    )
    install_http_basics(
        app,
        service=spec.name,
        ready_check=_ready_check,
        starting=_start_up_problem,
        max_body_bytes=_max_body_bytes,
        larger_bodies=spec.larger_bodies,
    )
    for router in spec.routers:
        app.include_router(router)
    return app


def _max_body_bytes(app: FastAPI) -> int:
    runtime: Runtime | None = getattr(app.state, "runtime", None)
    return DEFAULT_MAX_BODY_BYTES if runtime is None else int(runtime.settings.max_request_bytes)


def _start_up_problem(app: FastAPI) -> str | None:
    runtime: Runtime | None = getattr(app.state, "runtime", None)
    return "starting" if runtime is None else runtime.startup.problem()


async def _ready_check(app: FastAPI) -> Readiness:
    """Ready when the database answers, the broker answers and the relay publishes, and
    every consumer group has joined, polls, commits and holds nothing back."""
    runtime: Runtime = app.state.runtime
    reasons: dict[str, str] = {}
    try:
        await asyncio.wait_for(db.ping(runtime.engine), 3)
    except Exception as error:
        reasons["database"] = f"unreachable: {repr(error)[:300]}"
    broker = await _broker_problem(runtime)
    if broker is not None:
        reasons["broker"] = broker
    consumers = runtime.startup.problem() or _first(r.flow.problem() for r in runtime.consumers)
    if consumers is not None:
        reasons["consumers"] = consumers
    checks = {name: name not in reasons for name in ("database", "broker", "consumers")}
    details = {
        "consumers": {runner.group_id: runner.flow.details() for runner in runtime.consumers}
    }
    return Readiness(checks=checks, reasons=reasons, details=details)


async def _broker_problem(runtime: Runtime) -> str | None:
    if not runtime.startup.done:
        return runtime.startup.problem()
    if not await broker_reachable(runtime.producer):
        return "unreachable"
    return runtime.topics.problem() or runtime.relay.flow.problem()


def _first(items: Iterable[str | None]) -> str | None:
    return next((item for item in items if item is not None), None)


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
