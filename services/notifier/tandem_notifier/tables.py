"""The notifier's own tables: its profile directory and the notification feed."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, String, Table, Text, UniqueConstraint, Uuid
from tandem_shared.bus.tables import define_bus_tables
from tandem_shared.db import new_metadata
from tandem_shared.directory import define_directory_table

metadata = new_metadata()
bus = define_bus_tables(metadata)
directory = define_directory_table(metadata)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("hub", String(64), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("subject", String(80), nullable=False),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("source_message_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("read_at", DateTime(timezone=True), nullable=True),
    # Never two notifications for the same (message, recipient, channel).
    UniqueConstraint("source_message_id", "hub", "channel", name="uq_notifications_delivery"),
)
