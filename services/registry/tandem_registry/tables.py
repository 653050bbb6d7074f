"""The registry's own tables (nobody else reads them)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from tandem_shared.bus.tables import define_bus_tables
from tandem_shared.db import UtcDateTime, new_metadata

metadata = new_metadata()
bus = define_bus_tables(metadata)

hubs = Table(
    "hubs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("region", String(10), nullable=True),
    Column("languages", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

staff = Table(
    "staff",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("hub", String(64), ForeignKey("hubs.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("hub", String(64), ForeignKey("hubs.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False, index=True),
    Column("subsectors", JSON, nullable=False),
    Column("description", Text, nullable=False),
    Column("offers", JSON, nullable=False),
    Column("needs", JSON, nullable=False),
    Column("looking_for", JSON, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("country", String(2), nullable=False, index=True),
    Column("region", String(10), nullable=True),
    Column("city", String(100), nullable=True),
    Column("website", String(2048), nullable=True),
    # Personal data: kept apart so erasure can clear it and reads can withhold it.
    Column("contact", JSON, nullable=True),
    Column("sharing", String(16), nullable=False),
    Column("external_id", String(200), nullable=True),
    # Detected languages of the texts: {"description": code, "offers": [code], "needs": [...]}
    # (codes may be null); kept apart so comparing what a client sent ignores it.
    Column("text_languages", JSON, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # external_id makes imports idempotent within a hub.
    UniqueConstraint("hub", "external_id", name="uq_profiles_hub_external_id"),
)

# The erasure log (GDPR art. 17): who erased which profile and when, and no personal data
# of the profile. No foreign key: the profile row is deleted by the erasure it records.
erasures = Table(
    "erasures",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("profile_id", Uuid, nullable=False, index=True),
    Column("hub", String(64), ForeignKey("hubs.id"), nullable=False, index=True),
    Column("erased_by", String(254), nullable=False),
    Column("erased_at", UtcDateTime(), nullable=False),
)

# Consent audit trail: for which purpose personal data is stored or a profile shared, who
# (staff account id) recorded it and when. Deleted with the profile it belongs to.
consents = Table(
    "consents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "profile_id",
        Uuid,
        ForeignKey("profiles.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("hub", String(64), ForeignKey("hubs.id"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("recorded_by", String(254), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)
