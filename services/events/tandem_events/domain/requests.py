"""Meeting requests: the contract (pure)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from tandem_events.domain.events import Strict


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

    @property
    def pair(self) -> frozenset[uuid.UUID]:
        return frozenset((self.from_registration, self.to_registration))
