"""Matcher (and notifier) consumer throughput: profile.upserted messages through the
matcher's real handler on PostgreSQL, one transaction per message exactly as the consumer
runner does it (inbox claim + `service.on_profile_upserted`, which projects, encodes,
scores, writes the matches and their outbox rows).

The pool's texts come from the same small vocabulary as bench/notify_latency.py, so many
profiles fit each other and every new profile suggests and displaces pairs: the write
path is what this measures. It prints messages/s per chunk of the pool load and per
message: wall time, encoder time, scoring time (`VectorIndex.score`), SQL statements, and
the ratio of the whole handler to the scoring alone (the "instant" floor, same process).
Then the match messages the matcher staged go through the notifier's handlers (its
directory loaded with the same profiles): messages/s and the profiles/s that allows.

    .venv/bin/python -m bench.matcher_throughput                 # pool 1000
    .venv/bin/python -m bench.matcher_throughput --pool 2000 --chunk 500

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) or TANDEM_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.notify_latency import pool_profile
from tandem_matcher import service
from tandem_matcher.app import SPEC
from tandem_matcher.encoder import build_encoder
from tandem_matcher.index import ProfileIndex
from tandem_matcher.settings import MatcherSettings
from tandem_matcher.tables import bus, matches
from tandem_notifier.app import SPEC as NOTIFIER_SPEC
from tandem_notifier.consumers import subscriptions as notifier_subscriptions
from tandem_notifier.tables import bus as notifier_bus
from tandem_notifier.tables import directory
from tandem_shared.bus.consumer import ConsumerRunner, claim_in_inbox
from tandem_shared.contracts import (
    Envelope,
    ProfileData,
    ProfileUpserted,
    parse_message,
)
from tandem_shared.db import create_engine
from tandem_shared.directory import project_profile
from tandem_shared.migrations import upgrade
from tandem_shared.runtime import Runtime
from tandem_shared.settings import ServiceSettings
from tandem_tools.pg import create_database, database_url, drop_database


@dataclass
class Stage:
    """Accumulated seconds spent in one stage of the handler."""

    seconds: list[float] = field(default_factory=list)

    def timed(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds.append(time.perf_counter() - started)

        return wrapper

    def take(self) -> float:
        total = sum(self.seconds)
        self.seconds.clear()
        return total


def message(number: int, rng: random.Random) -> ProfileUpserted:
    fields = pool_profile(number, rng)
    data = ProfileData(
        id=uuid.uuid4(), hub="demo", version=1, updated_at=datetime.now(UTC), **fields
    )
    return ProfileUpserted(source="/bench", subject=str(data.id), hub="demo", data=data)


async def handle(
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: service.MatcherContext,
    msg: Any,
    commits: Stage,
) -> None:
    """What `ConsumerRunner._handle_once` does for one record."""
    async with sessionmaker() as session:
        async with session.begin():
            await claim_in_inbox(
                session,
                bus,
                consumer="bench",
                message_id=str(msg.id),
                topic="tandem.demo.profiles.v1",
            )
            await service.on_profile_upserted(session, msg, ctx)
            committing = time.perf_counter()
        commits.seconds.append(time.perf_counter() - committing)


class Statements:
    """Time spent in each kind of SQL statement (first words), from the driver's view."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)
        self._started: dict[int, float] = {}

    def before(self, _conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def after(self, _conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        kind = " ".join(statement.split()[:3])[:40]
        self.seconds[kind] += time.perf_counter() - self._started.pop(id(cursor), 0.0)
        self.count[kind] += 1

    def report(self, messages: int) -> str:
        ranked = sorted(self.seconds.items(), key=lambda item: -item[1])
        return "\n".join(
            f"    {kind:<40} {self.count[kind] / messages:5.1f}/msg "
            f"{seconds / messages * 1000:6.2f} ms/msg"
            for kind, seconds in ranked
        )


@asynccontextmanager
async def database(service_name: str, migrations: Any) -> AsyncIterator[AsyncEngine]:
    server = os.environ.get(
        "TANDEM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"bench_{uuid.uuid4().hex[:8]}_{service_name}"
    await create_database(server, name)
    url = database_url(server, name)
    try:
        await upgrade(url, migrations)
        engine = create_engine(url)
        yield engine
        await engine.dispose()
    finally:
        await drop_database(server, name)


class Counted:
    """Statements issued on an engine: how many, and time per kind."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements = 0
        self.timings = Statements()
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)
        event.listen(engine.sync_engine, "before_cursor_execute", self.timings.before)
        event.listen(engine.sync_engine, "after_cursor_execute", self.timings.after)

    def _count(self, *_: Any) -> None:
        self.statements += 1


async def matcher_stage(
    args: argparse.Namespace, messages: list[ProfileUpserted]
) -> list[Envelope]:
    """Every profile through the matcher's handler; returns the match messages it staged."""
    async with database("matcher", SPEC.migrations) as engine:
        counted = Counted(engine)
        commits = Stage()
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        settings = MatcherSettings()
        index = ProfileIndex(
            build_encoder(settings.encoder, settings.encoder_threads), settings.structure()
        )
        ctx = service.MatcherContext(
            index=index,
            threshold=settings.threshold,
            top_k=settings.top_k,
            material_change=settings.material_change,
            hub="bench",
            weights=settings.weights.weights(),
        )
        encode, score = Stage(), Stage()
        index.vectors_for = encode.timed(index.vectors_for)  # type: ignore[method-assign]
        index.vectors.score = score.timed(index.vectors.score)  # type: ignore[method-assign]
        index.encoder.embed([t for m in messages for t in _texts(m)])  # warm the cache
        print(
            f"matcher handler on PostgreSQL, pool {args.pool}, chunks of {args.chunk} "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
        per_message: list[float] = []
        for start in range(0, args.pool, args.chunk):
            chunk = messages[start : start + args.chunk]
            counted.statements = 0
            began = time.perf_counter()
            for msg in chunk:
                one = time.perf_counter()
                await handle(sessionmaker, ctx, msg, commits)
                per_message.append(time.perf_counter() - one)
            elapsed = time.perf_counter() - began
            encoded, scored = encode.take(), score.take()
            print(
                f"  profiles {start + 1:>5}-{start + len(chunk):<5} {len(chunk) / elapsed:7.1f}/s"
                f"  per message {elapsed / len(chunk) * 1000:6.1f} ms"
                f" (encode {encoded / len(chunk) * 1000:5.2f}, score"
                f" {scored / len(chunk) * 1000:5.2f}, SQL statements"
                f" {counted.statements / len(chunk):5.1f})"
                f"  handler/score {elapsed / max(scored, 1e-9):5.0f}x"
            )
        async with sessionmaker() as session:
            payloads = (
                await session.execute(
                    select(bus.outbox.c.payload)
                    .where(bus.outbox.c.payload.is_not(None))
                    .order_by(bus.outbox.c.id)
                )
            ).scalars()
            staged: list[Envelope] = [parse_message(payload) for payload in payloads]
            pairs = await session.scalar(select(func.count()).select_from(matches))
        ordered = sorted(per_message)
        print(
            f"per message: median {statistics.median(ordered) * 1000:.1f} ms, "
            f"p99 {ordered[round(0.99 * (len(ordered) - 1))] * 1000:.1f} ms; "
            f"{pairs} pairs stored, {len(staged)} match messages staged "
            f"({len(staged) / args.pool:.1f} per profile)"
        )
        print(f"  COMMIT {commits.take() / args.pool * 1000:.2f} ms/msg; statements:")
        print(counted.timings.report(args.pool))
        return staged


def records(messages: list[Envelope], topic: str) -> list[ConsumerRecord[Any, Any]]:
    return [
        ConsumerRecord(
            topic,
            0,
            offset,
            0,
            0,
            msg.subject.encode(),
            msg.model_dump_json().encode(),
            None,
            0,
            0,
            [],
        )
        for offset, msg in enumerate(messages)
    ]


async def notifier_run(
    profiles: list[ProfileUpserted], staged: list[Envelope], *, batched: bool
) -> float:
    """The match messages through the notifier's real consumer runner (its `matches`
    subscription), one transaction per record or in the subscription's batches; seconds."""
    async with database("notifier", NOTIFIER_SPEC.migrations) as engine:
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        async with sessionmaker() as session, session.begin():
            for profile in profiles:
                await project_profile(session, directory, profile.data)
        runtime = Runtime.__new__(Runtime)
        runtime.state = {}
        (subscription,) = [s for s in notifier_subscriptions(runtime) if s.name == "matches"]
        runner = ConsumerRunner(
            service="notifier",
            subscription=subscription,
            settings=ServiceSettings(),
            sessionmaker=sessionmaker,
            tables=notifier_bus,
            producer=None,  # only for dead letters
        )
        counted = Counted(engine)
        incoming = records(staged, "tandem.bench.matches.v1")
        size = subscription.batch_size if batched else 1
        began = time.perf_counter()
        for start in range(0, len(incoming), size):
            chunk = incoming[start : start + size]
            if len(chunk) == 1 or not await runner.process_batch(chunk):
                for record in chunk:
                    await runner.process(record)
        elapsed = time.perf_counter() - began
        label = f"batches of {size}" if batched else "one transaction per message"
        print(
            f"notifier consumer, {label}: {len(staged)} match messages in {elapsed:.1f} s = "
            f"{len(staged) / elapsed:.1f} messages/s = {len(profiles) / elapsed:.1f} profiles/s"
            f" ({elapsed / max(len(staged), 1) * 1000:.1f} ms and "
            f"{counted.statements / max(len(staged), 1):.1f} SQL statements per message; "
            f"load average {os.getloadavg()[0]:.1f})"
        )
        return elapsed


async def notifier_stage(
    args: argparse.Namespace, profiles: list[ProfileUpserted], staged: list[Envelope]
) -> None:
    single = await notifier_run(profiles, staged, batched=False)
    batched = await notifier_run(profiles, staged, batched=True)
    print(f"notifier: batched / one-per-transaction throughput = {single / batched:.1f}x")


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(7)
    messages = [message(n, rng) for n in range(args.pool)]
    staged = await matcher_stage(args, messages)
    if args.notifier:
        await notifier_stage(args, messages, staged)


def _texts(msg: ProfileUpserted) -> list[str]:
    return [item.text for item in (*msg.data.needs, *msg.data.offers)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=250)
    parser.add_argument(
        "--no-notifier",
        dest="notifier",
        action="store_false",
        help="skip feeding the staged match messages through the notifier's handler",
    )
    asyncio.run(run(parser.parse_args()))
