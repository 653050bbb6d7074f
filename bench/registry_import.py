"""Bulk import throughput: the keep.eu organisations into a fresh PostgreSQL database.

Prints rows/s for a first import (all created: diff, INSERT, outbox), a re-import (all
unchanged: one SELECT per batch, nothing written) and, as the floor in the same process,
a bare multi-row INSERT of the same profile rows (no lookup, no messages).

    .venv/bin/python bench/registry_import.py                       # ../shared/data/keep_eu
    .venv/bin/python bench/registry_import.py /path/to/keep_eu      # another copy
    TANDEM_POSTGRES_URL=postgresql://postgres@host:5432 .venv/bin/python bench/registry_import.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from tandem_registry import repository, service
from tandem_registry.app import SPEC
from tandem_registry.domain.imports import ImportRow, validate_records
from tandem_registry.keep_eu import keep_eu_profiles, load_keep_eu
from tandem_shared.auth import Principal, Role
from tandem_shared.db import create_engine, create_sessionmaker, transaction
from tandem_shared.migrations import upgrade
from tandem_tools.pg import create_database, database_url, drop_database

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "keep_eu"
SERVER = os.environ.get("TANDEM_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def keep_eu_rows(data_dir: Path) -> list[ImportRow]:
    parsed = validate_records(enumerate(keep_eu_profiles(load_keep_eu(data_dir)), start=1))
    if parsed.errors:
        raise SystemExit(
            f"{len(parsed.errors)} keep.eu rows fail the contract: {parsed.errors[:3]}"
        )
    return [row for _, row in parsed.rows]


async def timed_import(url: str, hub: str, rows: list[ImportRow]) -> tuple[float, str]:
    """Import as the CLI does: one transaction per batch."""
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    principal = Principal(subject="bench", hub=hub, role=Role.HUB_ADMIN)
    counts = service.ImportCounts()
    started = time.perf_counter()
    for start in range(0, len(rows), service.IMPORT_BATCH):
        async with transaction(sessions) as session:
            batch = rows[start : start + service.IMPORT_BATCH]
            counts.add(await service.import_profiles(session, principal, batch))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return (
        elapsed,
        f"{counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged",
    )


async def timed_bare_insert(url: str, hub: str, rows: list[ImportRow]) -> float:
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    for start in range(0, len(rows), service.IMPORT_BATCH):
        values = [
            {**row.model_dump(mode="json"), "id": uuid.uuid4(), "hub": hub, "version": 1,
             "created_at": now, "updated_at": now}
            for row in rows[start : start + service.IMPORT_BATCH]
        ]  # fmt: skip
        async with transaction(sessions) as session:
            await repository.insert_profiles(session, values)
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed


async def main(data_dir: Path) -> None:
    started = time.perf_counter()
    rows = keep_eu_rows(data_dir)
    print(f"keep.eu: {len(rows)} organisations read in {time.perf_counter() - started:.1f} s")
    database = f"tandem_bench_registry_{uuid.uuid4().hex[:8]}"
    await create_database(SERVER, database)
    url = database_url(SERVER, database)
    try:
        await upgrade(url, SPEC.migrations)
        engine = create_engine(url)
        async with transaction(create_sessionmaker(engine)) as session:
            for hub in ("bench", "floor"):
                await service.ensure_hub(session, hub_id=hub, name=hub, country="PL", languages=[])
        await engine.dispose()

        first, first_counts = await timed_import(url, "bench", rows)
        again, again_counts = await timed_import(url, "bench", rows)
        floor = await timed_bare_insert(url, "floor", rows)
        n = len(rows)
        print(f"first import   {n / first:8.0f} rows/s  ({first:.2f} s; {first_counts})")
        print(f"re-import      {n / again:8.0f} rows/s  ({again:.2f} s; {again_counts})")
        print(f"bare INSERT    {n / floor:8.0f} rows/s  ({floor:.2f} s; floor, no lookup/outbox)")
        print(f"first import / bare INSERT time ratio: {first / floor:.2f}")
    finally:
        await drop_database(SERVER, database)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA))
