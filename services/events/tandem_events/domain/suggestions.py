"""The matcher's pairs as the events service keeps them (pure)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Match:
    """The matcher's latest word on a pair of profiles (one row of `matches`)."""

    pair_id: str
    profile_a: uuid.UUID
    profile_b: uuid.UUID
    score: float
    active: bool
    event_id: uuid.UUID | None  # the matcher meant the pair for this event only
    version: int

    def meant_for(self, event_id: uuid.UUID) -> bool:
        return self.event_id in (None, event_id)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A suggested meeting between two participants of an event, from a match."""

    event_id: uuid.UUID
    pair_id: str
    registration_a: uuid.UUID
    registration_b: uuid.UUID
    score: float

    @property
    def pair(self) -> frozenset[uuid.UUID]:
        return frozenset((self.registration_a, self.registration_b))
