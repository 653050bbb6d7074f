"""Each profile's standing matches and its k-th best score (pure, no I/O).

The either-side rule keeps a pair while it is in the top-k of either profile. Rescoring A
ranks A against everyone, but B's top-k would need B's own ranking; instead we keep B's
standing match scores here and its k-th best, so "would A enter B's top-k" is one
comparison. The standing matches of B include B's true top-k (every pair in anyone's
top-k is stored), so this k-th best is never below B's true k-th best: the check is
conservative, never generous.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

KthListener = Callable[[str, float], None]


class TopScores:
    """Standing match scores per profile, with each profile's k-th best (-inf while it
    has fewer than k)."""

    def __init__(self, k: int, on_kth: KthListener | None = None) -> None:
        self.k = k
        self._scores: dict[str, dict[str, float]] = {}
        self._kth: dict[str, float] = {}
        self._on_kth = on_kth

    def set(self, a: str, b: str, score: float) -> None:
        for first, second in ((a, b), (b, a)):
            self._scores.setdefault(first, {})[second] = score
            self._refresh(first)

    def remove(self, a: str, b: str) -> None:
        for first, second in ((a, b), (b, a)):
            if self._scores.get(first, {}).pop(second, None) is not None:
                self._refresh(first)

    def forget(self, profile_id: str) -> None:
        for other in list(self._scores.get(profile_id, {})):
            self.remove(profile_id, other)
        self._scores.pop(profile_id, None)
        self._kth.pop(profile_id, None)

    def kth(self, profile_id: str) -> float:
        return self._kth.get(profile_id, -math.inf)

    def score(self, a: str, b: str) -> float | None:
        return self._scores.get(a, {}).get(b)

    def in_top_k(self, profile_id: str, other: str) -> bool:
        """Whether the standing pair (profile, other) is among the profile's k best."""
        score = self.score(profile_id, other)
        return score is not None and score >= self.kth(profile_id)

    def outside_top_k(self, profile_id: str) -> list[str]:
        """The profile's standing partners that are not among its k best."""
        kth = self.kth(profile_id)
        return [other for other, score in self._scores.get(profile_id, {}).items() if score < kth]

    def _refresh(self, profile_id: str) -> None:
        scores = self._scores.get(profile_id, {})
        kth = heapq.nlargest(self.k, scores.values())[-1] if len(scores) >= self.k else -math.inf
        if self._kth.get(profile_id, -math.inf) != kth:
            self._kth[profile_id] = kth
            if self._on_kth is not None:
                self._on_kth(profile_id, kth)
