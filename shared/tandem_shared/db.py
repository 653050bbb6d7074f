"""Database plumbing: one async engine and session factory per service.

PostgreSQL (asyncpg) in production and tests, SQLite (aiosqlite) as the zero-setup default.
Repositories and services never commit: the edge (a request dependency or the consumer
runner) opens `transaction()` and owns the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Dialect,
    MetaData,
    any_,
    bindparam,
    event,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_postgres(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _prepare_sqlite_file(url: URL) -> None:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the relay read while a request writes; a busy timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed)
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose work commits when the block ends normally and rolls back otherwise."""
    async with sessionmaker() as session, session.begin():
        yield session


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def asyncpg_dsn(url: str | URL) -> str:
    """The plain libpq DSN of a SQLAlchemy PostgreSQL URL, for a raw asyncpg connection."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def among(session: AsyncSession, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`. On PostgreSQL it is `column = ANY(:array)`: one bind parameter,
    so the SQL (and the driver's prepared statement) is the same whatever the number of
    values. An expanding IN renders a parameter per value at every execution and prepares
    a new statement per list length, which was a fifth of a busy consumer's time."""
    values = list(values)
    if dialect_name(session) == "postgresql":
        array = bindparam(None, values, type_=postgresql.ARRAY(column.type))
        return cast(ColumnElement[bool], column == any_(array))
    return cast(ColumnElement[bool], column.in_(values))


_INSERT_IGNORING: dict[tuple[str, Any], Any] = {}


async def insert_ignoring_conflict(
    session: AsyncSession, table: Any, values: dict[str, Any]
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was new. The statement is built
    once per table and the values are bound as parameters: building it with `.values()`
    on every call (every inbox claim of every consumer) was a tenth of a consumer's time."""
    name = dialect_name(session)
    statement = _INSERT_IGNORING.get((name, table))
    if statement is None:
        dialect = postgresql if name == "postgresql" else sqlite
        statement = _INSERT_IGNORING[(name, table)] = dialect.insert(table).on_conflict_do_nothing()
    result = await session.execute(statement, values)
    return bool(getattr(result, "rowcount", 0))


_INSERT_MANY_IGNORING: dict[tuple[str, Any, str], Any] = {}


async def insert_many_ignoring_conflict(
    session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], *, returning: str
) -> list[Any]:
    """INSERT … ON CONFLICT DO NOTHING for many rows in one round trip; the `returning`
    column of the rows that were new (a conflicting row returns nothing). The set-based
    form of `insert_ignoring_conflict`, for consumers that handle a batch of messages."""
    if not rows:
        return []
    name = dialect_name(session)
    statement = _INSERT_MANY_IGNORING.get((name, table, returning))
    if statement is None:
        dialect = postgresql if name == "postgresql" else sqlite
        statement = _INSERT_MANY_IGNORING[(name, table, returning)] = (
            dialect.insert(table).on_conflict_do_nothing().returning(table.c[returning])
        )
    result = await session.execute(statement, list(rows))
    return list(result.scalars().all())


async def upsert_if_newer(
    session: AsyncSession, table: Any, *, key: dict[str, Any], values: dict[str, Any]
) -> bool:
    """Insert or update the row at `key` only if `values["version"]` is newer than the
    stored version. Returns False for a stale (or repeated) version: per-key ordering
    plus this check lets a consumer drop out-of-date messages."""
    conditions = [table.c[name] == value for name, value in key.items()]
    stored = (
        await session.execute(select(table.c.version).where(*conditions))
    ).scalar_one_or_none()
    if stored is None:
        await session.execute(table.insert().values(**key, **values))
        return True
    if stored >= values["version"]:
        return False
    await session.execute(update(table).where(*conditions).values(**values))
    return True


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on every dialect.

    PostgreSQL keeps the zone (`timestamptz`); SQLite has none and hands back naive values,
    which then fail every comparison with an aware `now()`. Stored on SQLite as naive UTC, so
    its text comparisons still order correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # A naive value is taken as UTC, as PostgreSQL's driver does.
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
