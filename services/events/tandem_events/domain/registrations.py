"""Registrations: the contract and the waitlist rules (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import EmailStr, Field, field_validator, model_validator

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
    # The organiser's scheduling rules (issue 17); the defaults change nothing.
    forbidden_slots: list[int] = field(default_factory=list)  # never a meeting in these
    session_cap: int | None = None  # the most meetings in any one session
    colleague: bool = False  # a second person of the organisation attends
    colleague_name: str | None = None  # personal data, like the participant's
    colleague_email: str | None = None
    colleague_availability: list[int] | None = None  # None = every slot
    agendas: str = "joint"  # Agendas: joint or separate

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


class Agendas(StrEnum):
    """How an organisation's two persons meet: together at every meeting (joint), or each
    on an agenda of their own, so the organisation can hold two meetings at once."""

    JOINT = "joint"
    SEPARATE = "separate"


class Person(StrEnum):
    """Who of a registration attends a meeting: its participant or its colleague."""

    PARTICIPANT = "participant"
    COLLEAGUE = "colleague"


class Participant(Strict):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    languages: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("languages")
    @classmethod
    def _iso_languages(cls, value: list[str]) -> list[str]:
        return check_languages(value)


def distinct_slots(value: list[int] | None) -> list[int] | None:
    return None if value is None else sorted(set(value))


class Colleague(Strict):
    """A second person of the organisation (personal data, like the participant)."""

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    availability: list[int] | None = Field(
        None, max_length=500, description="slot indexes the colleague can meet in; all if absent"
    )

    @field_validator("availability")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        return distinct_slots(value)


class RegistrationIn(Strict):
    profile_id: uuid.UUID
    participant: Participant
    availability: list[int] | None = Field(
        None, max_length=500, description="slot indexes the participant can meet in; all if absent"
    )
    max_meetings: int | None = Field(None, ge=0, le=500)
    colleague: Colleague | None = Field(
        None, description="a second person of the organisation, who attends too"
    )
    agendas: Agendas = Field(
        Agendas.JOINT,
        description="joint: both persons attend every meeting; separate (needs a colleague): "
        "each meeting is attended by one of them, so two can happen at once",
    )

    @field_validator("availability")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        return distinct_slots(value)

    @model_validator(mode="after")
    def _separate_needs_two(self) -> RegistrationIn:
        check_agendas(self.agendas, colleague=self.colleague is not None)
        return self


class RegistrationRulesIn(Strict):
    """The organiser's scheduling rules for one participant (replacing the previous ones)."""

    forbidden_slots: list[int] = Field(
        default_factory=list,
        max_length=500,
        description="slot indexes the participant may not meet in (beside its availability)",
    )
    session_cap: int | None = Field(
        None, ge=0, le=200, description="the most meetings in any one session; none if absent"
    )
    agendas: Agendas | None = Field(
        None, description="change joint or separate agendas (needs a colleague); kept if absent"
    )

    @field_validator("forbidden_slots")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        return sorted(set(value))


def check_agendas(agendas: Agendas | str, *, colleague: bool) -> None:
    if agendas == Agendas.SEPARATE and not colleague:
        raise ValueError("separate agendas need a colleague: one person has one agenda")


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
