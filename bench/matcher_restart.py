"""Matcher restart: how long loading the index takes with N profiles in the database.

In a fresh PostgreSQL database (127.0.0.1:5432, dropped at the end), N profiles with one
need and one offer each (distinct texts), then, each time with a new encoder whose
in-memory cache is empty, as a restarted process has:

- before: `load_index` alone, as the matcher started before persisted embeddings
  (every text encoded);
- first start: `load` with no stored embeddings (every text encoded, then stored);
- after: `load` again: the vectors are read back from the `embeddings` table.

    .venv/bin/python bench/matcher_restart.py            # 10000 profiles
    .venv/bin/python bench/matcher_restart.py 100000
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_matcher import service
from tandem_matcher.app import SPEC, build_context
from tandem_matcher.settings import MatcherSettings
from tandem_matcher.tables import profiles
from tandem_shared.db import create_engine
from tandem_shared.migrations import upgrade
from tandem_tools.pg import create_database, database_url, drop_database

SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TOPICS = ("3D digitisation", "translation", "co-production", "open data", "crafts", "design")
BATCH = 1000


def profile_row(number: int) -> dict[str, object]:
    topic = TOPICS[number % len(TOPICS)]
    return {
        "id": uuid.uuid4(),
        "hub": "demo",
        "version": 1,
        "name": f"Organisation {number}",
        "kind": ("heritage", "creative", "industry")[number % 3],
        "sharing": "network",
        "looking_for": ["creative"],
        "languages": ["en"],
        "country": "PL",
        "region": None,
        "website": None,
        "needs": [{"text": f"We look for a partner in {topic} for project number {number}"}],
        "offers": [{"text": f"We offer {topic} know-how, case {number} of our portfolio"}],
        "updated_at": datetime.now(UTC),
    }


async def fill(sessions: async_sessionmaker[AsyncSession], size: int) -> None:
    for start in range(0, size, BATCH):
        async with sessions() as session, session.begin():
            rows = [profile_row(n) for n in range(start, min(size, start + BATCH))]
            await session.execute(insert(profiles), rows)


async def timed(
    sessions: async_sessionmaker[AsyncSession],
    load: Callable[[AsyncSession, service.MatcherContext], Awaitable[object]],
) -> float:
    """Seconds to load the index with a fresh context (an empty in-memory cache)."""
    ctx = build_context(MatcherSettings())
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        await load(session, ctx)
    return time.perf_counter() - started


async def load_index_only(session: AsyncSession, ctx: service.MatcherContext) -> None:
    await service.load_index(session, ctx.index)
    await service.load_standing(session, ctx)


async def main(size: int) -> None:
    name = f"tandem_bench_restart_{uuid.uuid4().hex[:8]}"
    await create_database(SERVER, name, if_missing=False)
    url = database_url(SERVER, name)
    try:
        await upgrade(url, SPEC.migrations)
        engine = create_engine(url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        await fill(sessions, size)
        encoder = MatcherSettings().encoder
        print(f"{size} profiles, 2 texts each, encoder {encoder}")
        before = await timed(sessions, load_index_only)
        print(f"before (every text encoded):        {before:7.1f} s")
        first = await timed(sessions, service.load)
        print(f"first start (encoded, then stored): {first:7.1f} s")
        after = await timed(sessions, service.load)
        print(f"after (vectors read back):          {after:7.1f} s  ({before / after:.1f}x faster)")
        await engine.dispose()
    finally:
        await drop_database(SERVER, name)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
