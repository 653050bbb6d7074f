"""PostgreSQL helpers for the dev stack and the tests: one database per service."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url

from tandem_shared.db import asyncpg_dsn


def database_url(server_url: str, database: str) -> str:
    return (
        make_url(server_url)
        .set(drivername="postgresql+asyncpg", database=database)
        .render_as_string(hide_password=False)
    )


async def create_database(server_url: str, database: str, *, if_missing: bool = True) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(make_url(server_url).set(database="postgres")))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if exists and if_missing:
            return
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()


async def drop_database(server_url: str, database: str) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(make_url(server_url).set(database="postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


async def vacuum_analyze(server_url: str, database: str) -> bool:
    """VACUUM (ANALYZE) the database; whether the server runs autovacuum itself (when it
    does not, dead row versions pile up in every index a write-heavy table has)."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url(server_url, database)))
    try:
        await connection.execute("VACUUM (ANALYZE)")
        return bool(await connection.fetchval("SELECT current_setting('autovacuum') = 'on'"))
    finally:
        await connection.close()
