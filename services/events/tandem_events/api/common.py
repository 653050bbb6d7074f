"""What the events API's sub-routers share: documented refusals and the meeting schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

Responses = dict[int | str, dict[str, Any]]

NOT_FOUND: Responses = {404: {"description": "no such event"}}
ORGANISER: Responses = {403: {"description": "only the organising hub may do this"}, **NOT_FOUND}
READERS: Responses = {
    403: {"description": "neither the organising hub nor a participant's hub"},
    **NOT_FOUND,
}
REGISTRATION: Responses = {
    403: {"description": "neither the organising hub nor the participant's hub"},
    404: {"description": "no such event or registration"},
}


class MeetingOut(BaseModel):
    id: uuid.UUID
    key: str
    version: int
    status: str
    slot: int
    table: str
    starts_at: datetime
    ends_at: datetime
    accepted: bool
    score: float
    registration_a: uuid.UUID
    registration_b: uuid.UUID
    organisation_a: str
    organisation_b: str
    person_a: str | None = Field(
        None, description="who of side a attends (an organisation with separate agendas)"
    )
    person_b: str | None = None
    outcome: str | None
    rating: int | None
