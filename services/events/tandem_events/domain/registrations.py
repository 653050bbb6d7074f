"""Registrations: the contract and the waitlist rules (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import EmailStr, Field, field_validator

from tandem_events.domain.events import Strict, check_languages
from tandem_shared.contracts import Sharing


class Status(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    WITHDRAWN = "withdrawn"
    CHECKED_IN = "checked_in"


# A registration that holds a place (counts against capacity and can meet people).
HOLDS_PLACE = frozenset({Status.REGISTERED, Status.CHECKED_IN})


@dataclass(frozen=True, slots=True)
class Registration:
    """A registration as stored (one row of `registrations`)."""

    id: uuid.UUID
    event_id: uuid.UUID
    profile_id: uuid.UUID
    hub: str  # the profile's hub
    version: int
    status: Status
    # Personal data: None (and no languages) once the profile is erased.
    participant_name: str | None
    participant_email: str | None
    participant_languages: list[str]
    availability: list[int] | None  # slot indexes; None = every slot
    max_meetings: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def holds_place(self) -> bool:
        return self.status in HOLDS_PLACE


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """What the events service knows of an organisation profile (its directory copy)."""

    id: uuid.UUID
    hub: str
    name: str
    sharing: Sharing


class Participant(Strict):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    languages: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("languages")
    @classmethod
    def _iso_languages(cls, value: list[str]) -> list[str]:
        return check_languages(value)


class RegistrationIn(Strict):
    profile_id: uuid.UUID
    participant: Participant
    availability: list[int] | None = Field(
        None, max_length=500, description="slot indexes the participant can meet in; all if absent"
    )
    max_meetings: int | None = Field(None, ge=0, le=500)

    @field_validator("availability")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else sorted(set(value))


def unknown_slots(availability: Sequence[int] | None, slot_count: int) -> list[int]:
    """The indexes in `availability` that are not slots of the event."""
    return [slot for slot in availability or () if not 0 <= slot < slot_count]


def initial_status(capacity: int | None, places_taken: int) -> Status:
    """A new registration gets a place while there is one, else joins the waitlist."""
    if capacity is None or places_taken < capacity:
        return Status.REGISTERED
    return Status.WAITLISTED


def next_from_waitlist(
    registrations: Sequence[Registration], capacity: int | None
) -> Registration | None:
    """The registration that moves up when a place frees: the earliest waitlisted one
    (`registrations` are in creation order), if a place is free."""
    taken = sum(1 for registration in registrations if registration.holds_place)
    if capacity is not None and taken >= capacity:
        return None
    return next((r for r in registrations if r.status == Status.WAITLISTED), None)
