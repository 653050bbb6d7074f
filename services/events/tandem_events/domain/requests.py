"""Meeting requests: the contract (pure)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from tandem_events.domain.events import MAX_SLOTS, Strict, TableLabel
from tandem_events.domain.registrations import Person


class RequestStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class RequestIn(Strict):
    from_registration: uuid.UUID
    to_registration: uuid.UUID
    message: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _two_participants(self) -> RequestIn:
        if self.from_registration == self.to_registration:
            raise ValueError("to_registration must differ from from_registration")
        return self


class RequestRulesIn(Strict):
    """The organiser's scheduling rules for one meeting (replacing the previous ones)."""

    sessions: list[int] | None = Field(
        None,
        max_length=50,
        description="window: the meeting takes place in one of these sessions (numbered "
        "from 0 in the order of the event's sessions)",
    )
    slots: list[int] | None = Field(
        None, max_length=MAX_SLOTS, description="window: or in one of these slot indexes"
    )
    pinned_slot: int | None = Field(None, description="the meeting takes this slot or none")
    pinned_table: TableLabel | None = Field(None, description="and this table (needs a slot)")
    person_from: Person | None = Field(
        None, description="who of the asking organisation attends (separate agendas only)"
    )
    person_to: Person | None = Field(None, description="who of the asked organisation attends")
    after: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=100,
        description="requests of this event whose meetings must take place before this one",
    )

    @field_validator("sessions", "slots")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else sorted(set(value))

    @field_validator("after")
    @classmethod
    def _distinct_requests(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _coherent(self) -> RequestRulesIn:
        if self.sessions is not None and self.slots is not None:
            raise ValueError("a window is sessions or slots, not both")
        if self.pinned_table is not None and self.pinned_slot is None:
            raise ValueError("a pinned table needs a pinned slot")
        return self


class DeclineIn(Strict):
    reason: str | None = Field(None, max_length=2000)


@dataclass(frozen=True, slots=True)
class MeetingRequest:
    """A meeting request as stored (one row of `meeting_requests`)."""

    id: uuid.UUID
    event_id: uuid.UUID
    from_registration: uuid.UUID
    to_registration: uuid.UUID
    message: str | None
    status: RequestStatus
    reason: str | None
    created_at: datetime
    updated_at: datetime
    window_sessions: list[int] | None = None  # the organiser's rules (see RequestRulesIn)
    window_slots: list[int] | None = None
    pinned_slot: int | None = None
    pinned_table: str | None = None
    person_from: str | None = None  # a Person of from_registration
    person_to: str | None = None
    after_requests: list[str] = field(default_factory=list)  # ids of earlier requests

    @property
    def pair(self) -> frozenset[uuid.UUID]:
        return frozenset((self.from_registration, self.to_registration))
