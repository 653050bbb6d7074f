"""Scheduled 1:1 meetings as stored (pure)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tandem_shared.contracts import MeetingOutcome


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Meeting:
    """A meeting as stored (one row of `meetings`). A cancelled meeting keeps its row (and
    its id, the calendar UID), so scheduling the pair again brings it back."""

    id: uuid.UUID
    event_id: uuid.UUID
    key: str  # the scheduler's request key
    registration_a: uuid.UUID
    registration_b: uuid.UUID
    version: int
    status: MeetingStatus
    slot: int
    table_label: str
    starts_at: datetime
    ends_at: datetime
    accepted: bool
    score: float
    outcome: MeetingOutcome | None
    rating: int | None
    outcome_version: int
    created_at: datetime
    updated_at: datetime
    person_a: str | None = None  # who of side a attends (separate agendas), else None
    person_b: str | None = None

    @property
    def scheduled(self) -> bool:
        return self.status == MeetingStatus.SCHEDULED

    @property
    def sides(self) -> tuple[uuid.UUID, uuid.UUID]:
        return (self.registration_a, self.registration_b)

    def other_side(self, registration_id: uuid.UUID) -> uuid.UUID:
        """Whom `registration_id` (one of the two) meets."""
        return (
            self.registration_b if self.registration_a == registration_id else self.registration_a
        )


@dataclass(frozen=True, slots=True)
class Placed:
    """A meeting as the scheduler placed it, with its slot's times: what is stored."""

    key: str
    registration_a: uuid.UUID
    registration_b: uuid.UUID
    slot: int
    table_label: str
    starts_at: datetime
    ends_at: datetime
    accepted: bool
    score: float
    person_a: str | None = None
    person_b: str | None = None
