"""The events service's own tables."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from tandem_events.domain.events import EventStatus
from tandem_events.domain.meetings import MeetingStatus
from tandem_events.domain.registrations import Status
from tandem_events.domain.requests import RequestStatus
from tandem_shared.bus.tables import define_bus_tables
from tandem_shared.contracts import EventKind, MeetingOutcome
from tandem_shared.db import UtcDateTime, new_metadata
from tandem_shared.directory import define_directory_table

E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E]):
    """A StrEnum stored as its value in a plain VARCHAR (what the migrations created) and
    read back as the enum, so rows carry typed statuses."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


metadata = new_metadata()
bus = define_bus_tables(metadata)
# Names and hubs of profiles, to show who registers and who meets whom.
directory = define_directory_table(metadata)

events = Table(
    "events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("hub", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("kind", EnumText(EventKind, 32), nullable=False, index=True),
    Column("description", Text, nullable=False),
    Column("status", EnumText(EventStatus, 16), nullable=False),
    Column("cancel_reason", String(500), nullable=True),
    Column("online", Boolean, nullable=False),
    Column("venue", String(200), nullable=True),
    Column("address", String(500), nullable=True),
    Column("url", String(2048), nullable=True),
    Column("timezone", String(64), nullable=False),
    Column("starts_at", UtcDateTime(), nullable=False, index=True),
    Column("ends_at", UtcDateTime(), nullable=False),
    Column("capacity", Integer, nullable=True),
    Column("languages", JSON, nullable=False),
    # The OrgKind values the event is for, each once in OrgKind's order; filtered as text.
    Column("sectors", JSON, nullable=False, server_default="[]"),
    # [{starts_at, slot_minutes, break_minutes, slots}] and table labels: small, always read
    # with the event, never queried inside.
    Column("sessions", JSON, nullable=False),
    Column("tables", JSON, nullable=False),
    # The last scheduler run (None until the organiser schedules).
    Column("scheduled_at", UtcDateTime(), nullable=True),
    Column("schedule_solver", String(32), nullable=True),
    # Optimistic concurrency for schedule runs: every change to what the scheduler reads
    # (registrations, accepted requests, suggestions, sessions, tables, meetings) bumps it;
    # a solver result is stored only if it is unchanged since the problem was read.
    Column("schedule_revision", Integer, nullable=False, server_default="0"),
    # Why the schedule needs a repair (None: it does not). Durable, so a repair decided by a
    # committed withdrawal or acceptance happens even if the process dies before running it.
    Column("repair_pending", String(100), nullable=True, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

registrations = Table(
    "registrations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_id", Uuid, ForeignKey("events.id"), nullable=False, index=True),
    Column("profile_id", Uuid, nullable=False, index=True),
    Column("hub", String(64), nullable=False),  # the profile's hub
    Column("version", Integer, nullable=False),
    Column("status", EnumText(Status, 16), nullable=False),
    # Personal data: cleared when the profile is erased.
    Column("participant_name", String(200), nullable=True),
    Column("participant_email", String(254), nullable=True),
    Column("participant_languages", JSON, nullable=False),
    Column("availability", JSON, nullable=True),  # slot indexes; None = every slot
    Column("max_meetings", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

meeting_requests = Table(
    "meeting_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_id", Uuid, ForeignKey("events.id"), nullable=False, index=True),
    Column("from_registration", Uuid, ForeignKey("registrations.id"), nullable=False),
    Column("to_registration", Uuid, ForeignKey("registrations.id"), nullable=False),
    Column("message", Text, nullable=True),
    Column("status", EnumText(RequestStatus, 16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# The matcher's latest word on each pair (tandem.matches.v1), so a registration made after
# the match arrived still gets its suggestions.
matches = Table(
    "matches",
    metadata,
    Column("pair_id", String(80), primary_key=True),
    Column("profile_a", Uuid, nullable=False, index=True),
    Column("profile_b", Uuid, nullable=False, index=True),
    Column("score", Float, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("event_id", Uuid, nullable=True),
    Column("version", Integer, nullable=False),
)

suggestions = Table(
    "suggestions",
    metadata,
    Column("event_id", Uuid, ForeignKey("events.id"), primary_key=True),
    Column("pair_id", String(80), primary_key=True),
    Column("registration_a", Uuid, ForeignKey("registrations.id"), nullable=False),
    Column("registration_b", Uuid, ForeignKey("registrations.id"), nullable=False),
    Column("score", Float, nullable=False),
)

meetings = Table(
    "meetings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_id", Uuid, ForeignKey("events.id"), nullable=False),
    Column("key", String(120), nullable=False),  # the scheduler's request key
    Column("registration_a", Uuid, ForeignKey("registrations.id"), nullable=False),
    Column("registration_b", Uuid, ForeignKey("registrations.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", EnumText(MeetingStatus, 16), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("table_label", String(50), nullable=False),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("ends_at", UtcDateTime(), nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("score", Float, nullable=False),
    Column("outcome", EnumText(MeetingOutcome, 16), nullable=True),
    Column("rating", Integer, nullable=True),
    Column("outcome_version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("event_id", "key", name="uq_meetings_event_key"),
    Index("ix_meetings_event_status", "event_id", "status"),
)
