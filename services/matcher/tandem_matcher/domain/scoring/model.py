"""What scoring takes and gives: a profile's vectors and attributes, the component
weights, an event's state, and one scored candidate (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from tandem_matcher.domain.scoring.sparse import SparseVectors

Vectors = NDArray[np.float32]


@dataclass(frozen=True)
class ProfileVectors:
    id: str
    name: str
    hub: str
    sharing: str
    kind: str
    looking_for: frozenset[str]
    languages: frozenset[str]
    need_texts: tuple[str, ...]
    offer_texts: tuple[str, ...]
    needs: Vectors  # (n, d), L2-normalised
    offers: Vectors  # (m, d), L2-normalised
    country: str = ""  # ISO 3166-1 alpha-2
    region: str = ""  # NUTS code
    website: str = ""
    # The texts' sparse rows, for a sparse or hybrid encoder (None: dense only).
    sparse_needs: SparseVectors | None = None
    sparse_offers: SparseVectors | None = None


# The components a weight applies to, in a fixed order (learning and settings use it).
WEIGHTED = ("reciprocal", "sector", "looking_for", "language", "geography", "event")


@dataclass(frozen=True)
class Weights:
    """Component weights. The structured components default to 0 here so that a bare
    `Weights()` keeps the text-first scoring; the service's configured weights
    (`MatcherSettings.weights`) switch them on."""

    reciprocal: float = 0.8
    looking_for: float = 0.1
    language: float = 0.1
    sector: float = 0.0
    geography: float = 0.0
    event: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in WEIGHTED}


@dataclass(frozen=True)
class EventState:
    ends_at: datetime | None  # None: not known (a cancellation seen before the event)
    cancelled: bool = False


@dataclass(frozen=True)
class Scored:
    candidate: ProfileVectors
    score: float
    components: dict[str, float]
    best_a_need: tuple[str, str, float] | None  # (A's need, B's offer, similarity)
    best_b_need: tuple[str, str, float] | None  # (B's need, A's offer, similarity)
    event_id: str | None = None  # an event both are registered to
    blocked: str | None = None  # why this pair must not be suggested anew

    @property
    def suggestible(self) -> bool:
        return self.blocked is None


def may_match(a: ProfileVectors, b: ProfileVectors, own_hubs: frozenset[str] | None = None) -> bool:
    """Same hub, or both shared with the network; never a profile with itself; and, for a
    hub's matcher (`own_hubs`), one side its own. The definition
    `StructuredAttributes.may_see` computes for every candidate at once."""
    if a.id == b.id:
        return False
    if own_hubs is not None and a.hub not in own_hubs and b.hub not in own_hubs:
        return False
    return a.hub == b.hub or (a.sharing == "network" and b.sharing == "network")
