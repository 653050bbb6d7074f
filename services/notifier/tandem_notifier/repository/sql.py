"""Statement helpers the notifier's repositories share."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_shared.db import dialect_name


def dialect_insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The session's dialect's INSERT, the one with ON CONFLICT clauses (PostgreSQL, or
    SQLite for zero-setup runs)."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
