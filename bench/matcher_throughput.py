"""Matcher consumer throughput: profile.upserted messages through the matcher's real
handler on PostgreSQL, one transaction per message exactly as the consumer runner does it
(inbox claim + `service.on_profile_upserted`, which projects, encodes, scores, writes the
matches and their outbox rows).

The pool's texts come from the same small vocabulary as bench/notify_latency.py, so many
profiles fit each other and every new profile suggests and displaces pairs: the write
path is what this measures. It prints messages/s per chunk of the pool load and per
message: wall time, encoder time, scoring time (`VectorIndex.score`), SQL statements, and
the ratio of the whole handler to the scoring alone (the "instant" floor, same process).

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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.notify_latency import pool_profile
from tandem_matcher import service
from tandem_matcher.app import SPEC
from tandem_matcher.encoder import build_encoder
from tandem_matcher.index import ProfileIndex
from tandem_matcher.settings import MatcherSettings
from tandem_matcher.tables import bus, matches
from tandem_shared.bus.consumer import claim_in_inbox
from tandem_shared.contracts import ProfileData, ProfileUpserted
from tandem_shared.db import create_engine
from tandem_shared.migrations import upgrade
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
    sessionmaker: async_sessionmaker[AsyncSession], ctx: service.MatcherContext, msg: Any
) -> None:
    """What `ConsumerRunner._handle_once` does for one record."""
    async with sessionmaker() as session, session.begin():
        await claim_in_inbox(
            session, bus, consumer="bench", message_id=str(msg.id), topic="tandem.profiles.v1"
        )
        await service.on_profile_upserted(session, msg, ctx)


async def run(args: argparse.Namespace) -> None:
    server = os.environ.get(
        "TANDEM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"bench_{uuid.uuid4().hex[:8]}_matcher"
    await create_database(server, name)
    url = database_url(server, name)
    try:
        await upgrade(url, SPEC.migrations)
        engine = create_engine(url)
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(engine.sync_engine, "before_cursor_execute", count)
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
            source="/bench",
            weights=settings.weights.weights(),
        )
        encode, score = Stage(), Stage()
        index.vectors_for = encode.timed(index.vectors_for)  # type: ignore[method-assign]
        index.vectors.score = score.timed(index.vectors.score)  # type: ignore[method-assign]
        rng = random.Random(7)
        messages = [message(n, rng) for n in range(args.pool)]
        index.encoder.encode([t for m in messages for t in _texts(m)])  # warm the cache
        print(
            f"matcher handler on PostgreSQL, pool {args.pool}, chunks of {args.chunk} "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
        per_message: list[float] = []
        for start in range(0, args.pool, args.chunk):
            chunk = messages[start : start + args.chunk]
            statements = 0
            began = time.perf_counter()
            for msg in chunk:
                one = time.perf_counter()
                await handle(sessionmaker, ctx, msg)
                per_message.append(time.perf_counter() - one)
            elapsed = time.perf_counter() - began
            encoded, scored = encode.take(), score.take()
            print(
                f"  profiles {start + 1:>5}-{start + len(chunk):<5} {len(chunk) / elapsed:7.1f}/s"
                f"  per message {elapsed / len(chunk) * 1000:6.1f} ms"
                f" (encode {encoded / len(chunk) * 1000:5.2f}, score"
                f" {scored / len(chunk) * 1000:5.2f}, SQL statements"
                f" {statements / len(chunk):5.1f})"
                f"  handler/score {elapsed / max(scored, 1e-9):5.0f}x"
            )
        async with sessionmaker() as session:
            outbox = await session.scalar(select(func.count()).select_from(bus.outbox))
            pairs = await session.scalar(select(func.count()).select_from(matches))
        ordered = sorted(per_message)
        print(
            f"per message: median {statistics.median(ordered) * 1000:.1f} ms, "
            f"p99 {ordered[round(0.99 * (len(ordered) - 1))] * 1000:.1f} ms; "
            f"{pairs} pairs stored, {outbox} match messages staged "
            f"({(outbox or 0) / args.pool:.1f} per profile)"
        )
        await engine.dispose()
    finally:
        await drop_database(server, name)


def _texts(msg: ProfileUpserted) -> list[str]:
    return [item.text for item in (*msg.data.needs, *msg.data.offers)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=250)
    asyncio.run(run(parser.parse_args()))
