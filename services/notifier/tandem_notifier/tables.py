"""The notifier's own tables: its profile directory, the notification feed and each staff
member's subscriptions and preferences (a staff member is (hub, subject) of their token)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
)

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
    # Set on a match's notifications when the match is withdrawn (the alert is moot).
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),
    # Never two notifications for the same (message, recipient, channel).
    UniqueConstraint("source_message_id", "hub", "channel", name="uq_notifications_delivery"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("hub", String(64), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("scope", String(16), primary_key=True),
    Column("target", String(120), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

preferences = Table(
    "preferences",
    metadata,
    Column("hub", String(64), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("channels", JSON, nullable=False),
    Column("delivery", String(16), nullable=False),
    Column("language", String(8), nullable=False),
    Column("daily_cap", Integer, nullable=True),
    Column("quiet_start", Time, nullable=True),
    Column("quiet_end", Time, nullable=True),
    Column("quiet_timezone", String(64), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
