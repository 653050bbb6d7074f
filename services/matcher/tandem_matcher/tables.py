"""The matcher's own tables: its projection of profiles and registrations, its matches,
the pair relations and feedback it learned, and its learned weights."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Integer, String, Table, Text, Uuid

from tandem_shared.bus.tables import define_bus_tables
from tandem_shared.db import UtcDateTime, new_metadata

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
    Column("region", String(16), nullable=True),
    Column("website", Text, nullable=True),
    Column("offers", JSON, nullable=False),
    Column("needs", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
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
    Column("event_id", Uuid, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Registrations of profiles to events (from tandem.registrations.v1), latest version wins.
registrations = Table(
    "registrations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_id", Uuid, nullable=False, index=True),
    Column("profile_id", Uuid, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Events (from tandem.events.v1), latest version wins: only co-registration at an event
# that is neither over nor cancelled counts as "same upcoming event".
events = Table(
    "events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("ends_at", UtcDateTime(), nullable=True),  # unknown for a bare cancel
    Column("cancelled", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# What the matcher knows of a pair beyond scores: declined (never suggest again) or
# partners (met / agreed: shown as such, never suggested anew).
relations = Table(
    "relations",
    metadata,
    Column("pair_id", String(80), primary_key=True),
    Column("profile_a", Uuid, nullable=False, index=True),
    Column("profile_b", Uuid, nullable=False, index=True),
    Column("relation", String(16), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("pair_id", String(80), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("given_by", String(200), nullable=False),
    Column("hub", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Meeting outcomes already learned from (a redelivered or re-versioned outcome of the same
# meeting must not nudge the weights twice).
outcomes = Table(
    "outcomes",
    metadata,
    Column("meeting_id", Uuid, primary_key=True),
    Column("pair_id", String(80), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("version", Integer, nullable=False),
)

learned_weights = Table(
    "learned_weights",
    metadata,
    Column("component", String(32), primary_key=True),
    Column("value", Float, nullable=False),
    Column("updates", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
