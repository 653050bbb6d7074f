"""The outbox and inbox tables, added to each service's own metadata."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.types import JSON

from tandem_shared.db import UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class BusTables:
    outbox: Table
    inbox: Table


def define_bus_tables(metadata: MetaData) -> BusTables:
    outbox = Table(
        "outbox",
        metadata,
        # The id orders publication: rows go out in the order their transactions wrote them.
        Column("id", _SEQUENCE, primary_key=True, autoincrement=True),
        Column("message_id", Uuid, nullable=False, unique=True),
        Column("topic", String(249), nullable=False),
        Column("key", String(255), nullable=True),
        # NULL payload = a tombstone (compacted topics forget the key).
        Column("payload", Text, nullable=True),
        Column("headers", JSON, nullable=False),
        Column("trace_id", String(64), nullable=True),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("sent_at", UtcDateTime(), nullable=True),
        Index("ix_outbox_unsent", "sent_at", "id"),
    )
    inbox = Table(
        "inbox",
        metadata,
        # One row per (consumer, message): a redelivered message finds its row and is a no-op.
        Column("consumer", String(100), primary_key=True),
        Column("message_id", String(64), primary_key=True),
        Column("topic", String(249), nullable=False),
        Column("received_at", UtcDateTime(), nullable=False),
    )
    return BusTables(outbox=outbox, inbox=inbox)
