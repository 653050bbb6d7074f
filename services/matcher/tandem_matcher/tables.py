"""The matcher's own tables: its projection of profiles and its matches."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Integer, String, Table, Uuid

from tandem_shared.bus.tables import define_bus_tables
from tandem_shared.db import new_metadata

metadata = new_metadata()
bus = define_bus_tables(metadata)

profiles = Table(
    "profiles",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("hub", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("sharing", String(16), nullable=False),
    Column("looking_for", JSON, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("country", String(2), nullable=False),
    Column("offers", JSON, nullable=False),
    Column("needs", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

matches = Table(
    "matches",
    metadata,
    Column("pair_id", String(80), primary_key=True),
    Column("profile_a", Uuid, nullable=False, index=True),
    Column("profile_b", Uuid, nullable=False, index=True),
    Column("hub_a", String(64), nullable=False),
    Column("hub_b", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("components", JSON, nullable=False),
    Column("explanation", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
