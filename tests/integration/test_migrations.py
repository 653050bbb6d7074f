"""Every service's migration history: it builds exactly the tables the code declares, and
downgrades and upgrades again cleanly (on PostgreSQL and on SQLite, the dev default)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from tandem_shared.db import create_engine
from tandem_shared.migrations import alembic_config, upgrade
from tandem_tools.pg import create_database, database_url, drop_database

pytestmark = pytest.mark.integration
SERVICES = ["registry", "matcher", "events", "notifier"]


def _spec(service: str) -> Any:
    return importlib.import_module(f"tandem_{service}.app").SPEC


async def _differences(url: str, spec: Any) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), spec.metadata))

    engine = create_engine(url)
    async with engine.connect() as connection:
        differences = await connection.run_sync(compare)
    await engine.dispose()
    return differences


def _downgrade_to_base(connection: Connection, config: Any) -> None:
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def _round_trip(url: str, spec: Any) -> list[Any]:
    await upgrade(url, spec.migrations)
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade_to_base, alembic_config(url, spec.migrations))
    await engine.dispose()
    await upgrade(url, spec.migrations)
    return await _differences(url, spec)


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_tables_on_sqlite(service: str, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
    assert await _round_trip(url, _spec(service)) == []


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_tables_on_postgresql(service: str, pg_server: str) -> None:
    name = f"tandem_migrations_{service}"
    await drop_database(pg_server, name)
    await create_database(pg_server, name, if_missing=False)
    try:
        assert await _round_trip(database_url(pg_server, name), _spec(service)) == []
    finally:
        await drop_database(pg_server, name)
