"""`ScoreTable`: one profile scored against every slot of a `VectorIndex`, and the
candidates it picks (top-k, either side's top-k) as `Scored` results (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from tandem_matcher.domain.scoring.model import ProfileVectors, Scored
from tandem_matcher.domain.scoring.text import Direction

if TYPE_CHECKING:
    from tandem_matcher.domain.scoring.index import VectorIndex


@dataclass(frozen=True)
class ScoreTable:
    """One profile scored against every slot of an index (arrays indexed by slot)."""

    index: VectorIndex
    profile: ProfileVectors
    visible: NDArray[np.bool_]
    total: NDArray[np.float64]
    reciprocal: NDArray[np.float64]
    kind_fit: NDArray[np.float64]
    language: NDArray[np.float64]
    a_to_b: Direction
    b_to_a: Direction
    sector: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    geography: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    event: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    event_of: dict[int, str] = field(default_factory=dict)
    same_organisation: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    declined: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    partners: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    kth: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    @property
    def suggestible(self) -> NDArray[np.bool_]:
        """Visible, and no known relation that rules out a new suggestion."""
        blocked = self.same_organisation | self.declined | self.partners
        allowed: NDArray[np.bool_] = self.visible & ~blocked
        return allowed

    def _top_slots(self, k: int | None, min_score: float) -> NDArray[np.int64]:
        eligible = np.flatnonzero(self.suggestible & (self.total >= min_score))
        if k is not None and len(eligible) > k:
            eligible = eligible[np.argpartition(-self.total[eligible], k - 1)[:k]]
        order: NDArray[np.int64] = eligible[np.argsort(-self.total[eligible], kind="stable")]
        return order

    def top(self, k: int | None = None, min_score: float = 0.0) -> list[Scored]:
        """The best suggestible candidates at or above `min_score`, best first."""
        return [self._scored(int(slot)) for slot in self._top_slots(k, min_score)]

    def either_side_top(self, k: int, min_score: float) -> list[Scored]:
        """Candidates at or above `min_score` in the profile's own top-k, or whose score
        beats the candidate's own k-th best standing match (one comparison per candidate,
        vectorised), best first."""
        mine = np.zeros(len(self.total), bool)
        mine[self._top_slots(k, min_score)] = True
        theirs = self.suggestible & (self.total >= min_score) & (self.total > self.kth)
        chosen = np.flatnonzero(mine | theirs)
        order = chosen[np.argsort(-self.total[chosen], kind="stable")]
        return [self._scored(int(slot)) for slot in order]

    def top_ids(self, k: int, min_score: float) -> set[str]:
        """Ids of the profile's own top-k (suggestible, at or above `min_score`)."""
        return {
            candidate.id
            for slot in self._top_slots(k, min_score)
            if (candidate := self.index.at_slot(int(slot))) is not None
        }

    def for_id(self, profile_id: str) -> Scored | None:
        """The candidate's result, or None when it is absent or not visible."""
        slot = self.index.slot(profile_id)
        if slot is None or slot >= len(self.visible) or not self.visible[slot]:
            return None
        return self._scored(slot)

    def _scored(self, slot: int) -> Scored:
        candidate = self.index.at_slot(slot)
        assert candidate is not None
        flags = {
            "same_organisation": _flag(self.same_organisation, slot),
            "declined": _flag(self.declined, slot),
            "partners": _flag(self.partners, slot),
        }
        ab, ba = self.a_to_b, self.b_to_a
        return Scored(
            candidate=candidate,
            score=round(float(self.total[slot]), 4),
            components={**self._components(slot), **flags},
            best_a_need=_pair(
                self.profile.need_texts,
                ab.need_position[slot],
                candidate.offer_texts,
                ab.offer_position[slot],
                ab.best[slot],
            ),
            best_b_need=_pair(
                candidate.need_texts,
                ba.need_position[slot],
                self.profile.offer_texts,
                ba.offer_position[slot],
                ba.best[slot],
            ),
            event_id=self.event_of.get(slot),
            blocked=next((name for name, value in flags.items() if value), None),
        )

    def _components(self, slot: int) -> dict[str, float]:
        return {
            "a_needs_b_offers": round(float(self.a_to_b.best[slot]), 4),
            "b_needs_a_offers": round(float(self.b_to_a.best[slot]), 4),
            "reciprocal": round(float(self.reciprocal[slot]), 4),
            "looking_for": float(self.kind_fit[slot]),
            "language": float(self.language[slot]),
            "sector": round(_value(self.sector, slot), 4),
            "geography": round(_value(self.geography, slot), 4),
            "event": _value(self.event, slot),
        }


def _value(array: NDArray[np.float64], slot: int) -> float:
    return float(array[slot]) if slot < len(array) else 0.0


def _flag(array: NDArray[np.bool_], slot: int) -> float:
    return 1.0 if slot < len(array) and array[slot] else 0.0


def _pair(
    need_texts: Sequence[str],
    need_row: int,
    offer_texts: Sequence[str],
    offer_row: int,
    similarity: float,
) -> tuple[str, str, float] | None:
    if need_row < 0 or offer_row < 0:
        return None
    return need_texts[need_row], offer_texts[offer_row], round(float(similarity), 4)
