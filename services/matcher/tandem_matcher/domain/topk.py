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
from collections.abc import Callable, Iterable, Mapping, Sequence

KthListener = Callable[[str, float], None]
# A change to standing scores: ("set", (a, b), score), ("remove", (a, b), _), ("forget", (a,), _).
Change = tuple[str, Sequence[str], float]


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
            self._writable(first)[second] = score
            self._refresh(first)

    def remove(self, a: str, b: str) -> None:
        for first, second in ((a, b), (b, a)):
            if second in self._row(first):
                del self._writable(first)[second]
                self._refresh(first)

    def forget(self, profile_id: str) -> None:
        for other in list(self._row(profile_id)):
            self.remove(profile_id, other)
        self._scores.pop(profile_id, None)
        self._kth.pop(profile_id, None)

    def kth(self, profile_id: str) -> float:
        return self._kth.get(profile_id, -math.inf)

    def score(self, a: str, b: str) -> float | None:
        return self._row(a).get(b)

    def in_top_k(self, profile_id: str, other: str) -> bool:
        """Whether the standing pair (profile, other) is among the profile's k best."""
        score = self.score(profile_id, other)
        return score is not None and score >= self.kth(profile_id)

    def outside_top_k(self, profile_id: str) -> list[str]:
        """The profile's standing partners that are not among its k best."""
        kth = self.kth(profile_id)
        return [other for other, score in self._row(profile_id).items() if score < kth]

    def staged(self) -> StagedTopScores:
        """A view for one transaction (see `StagedTopScores`)."""
        return StagedTopScores(self)

    def _row(self, profile_id: str) -> Mapping[str, float]:
        return self._scores.get(profile_id, {})

    def _writable(self, profile_id: str) -> dict[str, float]:
        return self._scores.setdefault(profile_id, {})

    def _refresh(self, profile_id: str) -> None:
        scores = self._row(profile_id)
        kth = heapq.nlargest(self.k, scores.values())[-1] if len(scores) >= self.k else -math.inf
        if self.kth(profile_id) != kth:
            self._kth[profile_id] = kth
            if self._on_kth is not None:
                self._on_kth(profile_id, kth)


class StagedTopScores(TopScores):
    """One transaction's view of a `TopScores`: it reads the base plus its own changes,
    and the base changes only when `apply()` replays them (after the transaction
    committed). A rolled-back transaction just drops the view, so the shared standing
    scores never hold a pair the tables do not."""

    def __init__(self, base: TopScores) -> None:
        super().__init__(base.k)
        self._base = base
        self._forgotten: set[str] = set()
        self._changes: list[Change] = []

    def set(self, a: str, b: str, score: float) -> None:
        self._changes.append(("set", (a, b), score))
        super().set(a, b, score)

    def remove(self, a: str, b: str) -> None:
        self._changes.append(("remove", (a, b), 0.0))
        super().remove(a, b)

    def forget(self, profile_id: str) -> None:
        self._changes.append(("forget", (profile_id,), 0.0))
        super().forget(profile_id)
        self._forgotten.add(profile_id)

    def kth(self, profile_id: str) -> float:
        if profile_id in self._scores or profile_id in self._forgotten:
            return super().kth(profile_id)
        return self._base.kth(profile_id)

    def changes(self) -> list[Change]:
        """This view's changes so far, in order (to replay them elsewhere)."""
        return list(self._changes)

    def apply(self) -> None:
        """Replay this view's changes on the base, in order."""
        replay(self._base, self._changes)
        self._changes.clear()

    def _row(self, profile_id: str) -> Mapping[str, float]:
        if profile_id in self._scores or profile_id in self._forgotten:
            return self._scores.get(profile_id, {})
        return self._base._row(profile_id)

    def _writable(self, profile_id: str) -> dict[str, float]:
        if profile_id not in self._scores:
            forgotten = profile_id in self._forgotten
            self._scores[profile_id] = {} if forgotten else dict(self._base._row(profile_id))
            self._kth[profile_id] = -math.inf if forgotten else self._base.kth(profile_id)
            self._forgotten.discard(profile_id)
        return self._scores[profile_id]


def replay(scores: TopScores, changes: Iterable[Change]) -> None:
    """Apply `changes` (a view's, possibly another replica's) to `scores`, in order."""
    for change, ids, score in changes:
        if change == "set":
            scores.set(ids[0], ids[1], score)
        elif change == "remove":
            scores.remove(ids[0], ids[1])
        else:
            scores.forget(ids[0])
