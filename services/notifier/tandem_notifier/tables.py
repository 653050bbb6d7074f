"""The notifier's own tables: its profile directory, the notification feed with each staff
member's read marks, each staff member's subscriptions and preferences (a staff member is
(hub, subject) of their token), the delivery log (a durable work queue for email and
webhooks), each hub's webhook and the events announced on the events topic."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
)

from tandem_shared.bus.tables import define_bus_tables
from tandem_shared.db import UtcDateTime, new_metadata
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
    Column("created_at", UtcDateTime(), nullable=False, index=True),
    # Set on a match's notifications when the match is withdrawn (the alert is moot).
    Column("withdrawn_at", UtcDateTime(), nullable=True),
    # Never two notifications for the same (message, recipient, channel).
    UniqueConstraint("source_message_id", "hub", "channel", name="uq_notifications_delivery"),
    # A withdrawal finds the alerts about its pair (in a hub) or its event (in every hub)
    # without scanning the feeds, which grow with every match.
    Index("ix_notifications_subject_hub", "subject", "hub"),
)

# A feed notification belongs to the hub's shared inbox; whether it was read is per staff
# member. A row per (notification, reader) who read it: no row means unread for them.
notification_reads = Table(
    "notification_reads",
    metadata,
    Column(
        "notification_id",
        Uuid,
        ForeignKey("notifications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("subject", String(200), primary_key=True),
    Column("hub", String(64), nullable=False),
    Column("read_at", UtcDateTime(), nullable=False),
    # The primary key answers "did this reader read this notification" (the feed's join,
    # probed per notification); this one a reader's reads in bulk (unread counts, read-all).
    Index("ix_notification_reads_reader", "hub", "subject", "notification_id"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("hub", String(64), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("scope", String(16), primary_key=True),
    Column("target", String(120), primary_key=True),
    Column("created_at", UtcDateTime(), nullable=False),
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
    # An explicit address for the email channel; without one the token subject is used.
    Column("email", String(320), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# What the shared directory leaves out and sector subscriptions need: a profile's subsectors.
profile_subsectors = Table(
    "profile_subsectors",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("subsectors", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# One row per (message, recipient, channel): written in the consumer's transaction, then
# claimed, sent and settled by the delivery worker. `recipient` is the staff member's
# subject for email and "*" (the hub itself) for a webhook.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("source_message_id", String(80), nullable=False),
    Column("hub", String(64), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("subject", String(80), nullable=False),
    Column("transactional", Boolean, nullable=False),
    Column("address", String(320), nullable=True),
    Column("language", String(8), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    # The digest delivery that carried this held-back (`digested`) row.
    Column("digest_id", Uuid, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    UniqueConstraint("source_message_id", "hub", "recipient", "channel", name="uq_deliveries_once"),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
    Index("ix_deliveries_recipient", "hub", "recipient", "channel", "created_at"),
    # A withdrawal finds the emails about its pair.
    Index("ix_deliveries_subject", "subject"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("hub", String(64), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# The events seen on tandem.events.v1, each in its latest version: an update is compared
# with the version before it (what changed), and a cancellation, which carries only the id,
# takes the event's title, time and sectors from here.
events = Table(
    "events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    # The event's EventData; NULL when the first thing seen of it was its cancellation.
    Column("data", JSON, nullable=True),
    Column("cancelled", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
