"""Registrations: the contract and the waitlist rules (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import EmailStr, Field, field_validator

from tandem_events.domain.events import Strict, check_languages


class Status(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    WITHDRAWN = "withdrawn"
    CHECKED_IN = "checked_in"


# A registration that holds a place (counts against capacity and can meet people).
HOLDS_PLACE = frozenset({Status.REGISTERED, Status.CHECKED_IN})


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
    registrations: Sequence[Mapping[Any, Any]], capacity: int | None
) -> Any | None:
    """The id of the registration that moves up when a place frees: the earliest
    waitlisted one (`registrations` are in creation order), if a place is free."""
    taken = sum(1 for row in registrations if row["status"] in HOLDS_PLACE)
    if capacity is not None and taken >= capacity:
        return None
    for row in registrations:
        if row["status"] == Status.WAITLISTED:
            return row["id"]
    return None
