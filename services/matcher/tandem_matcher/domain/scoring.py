"""Reciprocal, explainable scoring (pure: numpy only, no I/O).

s(A→B) is how well B's offers meet A's needs (best cosine over need-offer pairs);
the pair fuses both directions with a harmonic mean, so a one-sided fit ranks low.

`VectorIndex` keeps every profile's need and offer vectors stacked in two matrices and its
structured attributes (hub, sharing, kind, looking_for, languages) in arrays, updated in
place. Scoring one profile against all of them is one matrix product per direction plus
array arithmetic: no Python loop over candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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


@dataclass(frozen=True)
class Weights:
    reciprocal: float = 0.8
    looking_for: float = 0.1
    language: float = 0.1


@dataclass(frozen=True)
class Scored:
    candidate: ProfileVectors
    score: float
    components: dict[str, float]
    best_a_need: tuple[str, str, float] | None  # (A's need, B's offer, similarity)
    best_b_need: tuple[str, str, float] | None  # (B's need, A's offer, similarity)


def may_match(a: ProfileVectors, b: ProfileVectors) -> bool:
    """Same hub, or both shared with the network; never a profile with itself."""
    if a.id == b.id:
        return False
    return a.hub == b.hub or (a.sharing == "network" and b.sharing == "network")


def harmonic(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    total = x + y
    return np.divide(2 * x * y, total, out=np.zeros_like(total), where=total > 0)


_KINDS = ("heritage", "creative", "industry", "support", "research", "public", "other")
_KIND_BIT = {kind: 1 << i for i, kind in enumerate(_KINDS)}


class _Codes:
    """Small integer codes for strings (hubs) and bits for sets (languages)."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}

    def code(self, value: str) -> int:
        return self._codes.setdefault(value, len(self._codes))

    def mask(self, values: frozenset[str]) -> int:
        # 63 bits cover the network's languages; beyond that codes share bits (still a
        # sound "maybe shared", never a missed shared language).
        return sum(1 << (self.code(value) % 63) for value in set(values))


def _kind_mask(kinds: frozenset[str]) -> int:
    return sum(_KIND_BIT.get(kind, 0) for kind in kinds)


class _TextRows:
    """One side's texts (needs or offers) of every profile, stacked, with their owner slot.

    Replaced texts are marked dead (owner -1) and the matrix is compacted when a third of
    it is dead, so updates cost O(texts of the profile), not O(index)."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.matrix = np.zeros((capacity, dim), np.float32)
        self.owner = np.full(capacity, -1, np.int64)
        self.position = np.zeros(capacity, np.int64)  # index of the text within its profile
        self.used = 0
        self.dead = 0
        self.rows_of: dict[int, NDArray[np.int64]] = {}

    def put(self, slot: int, vectors: Vectors) -> None:
        self.drop(slot)
        count = len(vectors)
        self._reserve(count)
        rows = np.arange(self.used, self.used + count)
        self.matrix[rows] = vectors
        self.owner[rows] = slot
        self.position[rows] = np.arange(count)
        self.used += count
        self.rows_of[slot] = rows

    def drop(self, slot: int) -> None:
        rows = self.rows_of.pop(slot, None)
        if rows is not None and len(rows):
            self.owner[rows] = -1
            self.dead += len(rows)
            if self.dead * 3 > self.used:
                self._compact()

    def live(self) -> tuple[Vectors, NDArray[np.int64], NDArray[np.int64]]:
        """The used rows: (matrix, owner, position); dead rows carry owner -1."""
        return self.matrix[: self.used], self.owner[: self.used], self.position[: self.used]

    def _reserve(self, count: int) -> None:
        needed = self.used + count
        if needed <= len(self.owner):
            return
        capacity = max(needed, 2 * len(self.owner))
        self.matrix = np.resize(self.matrix, (capacity, self.matrix.shape[1]))
        self.owner = np.concatenate([self.owner, np.full(capacity - len(self.owner), -1)])
        self.position = np.resize(self.position, capacity)

    def _compact(self) -> None:
        keep = np.flatnonzero(self.owner[: self.used] >= 0)
        self.matrix[: len(keep)] = self.matrix[keep]
        self.owner[: len(keep)] = self.owner[keep]
        self.position[: len(keep)] = self.position[keep]
        self.owner[len(keep) : self.used] = -1
        self.used, self.dead = len(keep), 0
        owners = self.owner[: self.used]
        order = np.argsort(owners, kind="stable")
        bounds = np.flatnonzero(np.diff(owners[order])) + 1
        self.rows_of = {
            int(owners[group[0]]): group for group in np.split(order, bounds) if len(group)
        }


@dataclass(frozen=True)
class _Direction:
    """Per slot: the best similarity of one direction, and which texts gave it."""

    best: NDArray[np.float64]
    need_position: NDArray[np.int64]
    offer_position: NDArray[np.int64]


def _empty_direction(slots: int) -> _Direction:
    return _Direction(np.zeros(slots), np.full(slots, -1), np.full(slots, -1))


def _best_per_slot(
    similarity: NDArray[np.float32], owner: NDArray[np.int64], slots: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Each slot's best similarity over its rows, and the row that reached it (-1: none)."""
    alive = owner >= 0
    rows = np.flatnonzero(alive)
    best = np.full(slots, -1.0)
    np.maximum.at(best, owner[rows], similarity[rows])
    hit = rows[similarity[rows] >= best[owner[rows]]]
    best_row = np.full(slots, -1, np.int64)
    best_row[owner[hit]] = hit
    return best, best_row


class VectorIndex:
    """Every profile's vectors and attributes, scored against one profile at a time."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._slot_of: dict[str, int] = {}
        self._profiles: list[ProfileVectors | None] = []
        self._free: list[int] = []
        self._hubs = _Codes()
        self._languages = _Codes()
        self._alive = np.zeros(0, bool)
        self._hub = np.zeros(0, np.int64)
        self._network = np.zeros(0, bool)
        self._kind = np.zeros(0, np.int64)
        self._wants = np.zeros(0, np.int64)
        self._langs = np.zeros(0, np.int64)
        self._needs = _TextRows(dim)
        self._offers = _TextRows(dim)

    def __len__(self) -> int:
        return len(self._slot_of)

    def get(self, profile_id: str) -> ProfileVectors | None:
        slot = self._slot_of.get(profile_id)
        return None if slot is None else self._profiles[slot]

    def put(self, profile: ProfileVectors) -> None:
        slot = self._slot_of.get(profile.id)
        if slot is None:
            slot = self._new_slot()
            self._slot_of[profile.id] = slot
        self._profiles[slot] = profile
        self._alive[slot] = True
        self._hub[slot] = self._hubs.code(profile.hub)
        self._network[slot] = profile.sharing == "network"
        self._kind[slot] = _KIND_BIT.get(profile.kind, 0)
        self._wants[slot] = _kind_mask(profile.looking_for)
        self._langs[slot] = self._languages.mask(profile.languages)
        self._needs.put(slot, profile.needs)
        self._offers.put(slot, profile.offers)

    def remove(self, profile_id: str) -> None:
        slot = self._slot_of.pop(profile_id, None)
        if slot is None:
            return
        self._profiles[slot] = None
        self._alive[slot] = False
        self._needs.drop(slot)
        self._offers.drop(slot)
        self._free.append(slot)

    def _new_slot(self) -> int:
        if self._free:
            return self._free.pop()
        slot = len(self._profiles)
        self._profiles.append(None)
        if slot >= len(self._alive):
            grow = max(1024, len(self._alive))
            for name in ("_alive", "_hub", "_network", "_kind", "_wants", "_langs"):
                array = getattr(self, name)
                setattr(self, name, np.concatenate([array, np.zeros(grow, array.dtype)]))
        return slot

    def visible_to(self, profile: ProfileVectors) -> NDArray[np.bool_]:
        """Same hub, or both shared with the network; never the profile itself."""
        slots = len(self._profiles)
        same_hub = self._hub[:slots] == self._hubs.code(profile.hub)
        both_network = self._network[:slots] & (profile.sharing == "network")
        visible: NDArray[np.bool_] = self._alive[:slots] & (same_hub | both_network)
        own = self._slot_of.get(profile.id)
        if own is not None:
            visible[own] = False
        return visible

    def _a_to_b(self, profile: ProfileVectors, slots: int) -> _Direction:
        """How well each candidate's offers meet the profile's needs."""
        matrix, owner, position = self._offers.live()
        if len(profile.needs) == 0 or len(matrix) == 0:
            return _empty_direction(slots)
        product = profile.needs @ matrix.T  # (n, rows): one matrix product
        best, row = _best_per_slot(product.max(axis=0), owner, slots)
        need_of_row = product.argmax(axis=0)
        return _Direction(
            np.clip(best, 0.0, 1.0),
            np.where(row >= 0, need_of_row[row], -1),
            np.where(row >= 0, position[row], -1),
        )

    def _b_to_a(self, profile: ProfileVectors, slots: int) -> _Direction:
        """How well the profile's offers meet each candidate's needs."""
        matrix, owner, position = self._needs.live()
        if len(profile.offers) == 0 or len(matrix) == 0:
            return _empty_direction(slots)
        product = matrix @ profile.offers.T  # (rows, m): one matrix product
        best, row = _best_per_slot(product.max(axis=1), owner, slots)
        offer_of_row = product.argmax(axis=1)
        return _Direction(
            np.clip(best, 0.0, 1.0),
            np.where(row >= 0, position[row], -1),
            np.where(row >= 0, offer_of_row[row], -1),
        )

    def score(self, profile: ProfileVectors, weights: Weights = Weights()) -> ScoreTable:
        slots = len(self._profiles)
        a_to_b, b_to_a = self._a_to_b(profile, slots), self._b_to_a(profile, slots)
        wants = (self._kind[:slots] & _kind_mask(profile.looking_for)) != 0
        wanted = (self._wants[:slots] & _KIND_BIT.get(profile.kind, 0)) != 0
        kind_fit = (wants.astype(float) + wanted.astype(float)) / 2
        language = ((self._langs[:slots] & self._languages.mask(profile.languages)) != 0).astype(
            float
        )
        reciprocal = harmonic(a_to_b.best, b_to_a.best)
        total = weights.reciprocal * reciprocal + weights.looking_for * kind_fit
        total = np.clip(total + weights.language * language, 0.0, 1.0)
        return ScoreTable(
            self,
            profile,
            self.visible_to(profile),
            total,
            reciprocal,
            kind_fit,
            language,
            a_to_b,
            b_to_a,
        )


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
    a_to_b: _Direction
    b_to_a: _Direction

    def top(self, k: int | None = None, min_score: float = 0.0) -> list[Scored]:
        """The best visible candidates at or above `min_score`, best first."""
        eligible = np.flatnonzero(self.visible & (self.total >= min_score))
        if k is not None and len(eligible) > k:
            eligible = eligible[np.argpartition(-self.total[eligible], k - 1)[:k]]
        order = eligible[np.argsort(-self.total[eligible], kind="stable")]
        return [self._scored(int(slot)) for slot in order]

    def for_id(self, profile_id: str) -> Scored | None:
        """The candidate's result, or None when it is absent or not visible."""
        slot = self.index._slot_of.get(profile_id)
        if slot is None or slot >= len(self.visible) or not self.visible[slot]:
            return None
        return self._scored(slot)

    def _scored(self, slot: int) -> Scored:
        candidate = self.index._profiles[slot]
        assert candidate is not None
        ab, ba = self.a_to_b, self.b_to_a
        return Scored(
            candidate=candidate,
            score=round(float(self.total[slot]), 4),
            components={
                "a_needs_b_offers": round(float(ab.best[slot]), 4),
                "b_needs_a_offers": round(float(ba.best[slot]), 4),
                "reciprocal": round(float(self.reciprocal[slot]), 4),
                "looking_for": float(self.kind_fit[slot]),
                "language": float(self.language[slot]),
            },
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
        )


def score_candidates(
    profile: ProfileVectors, candidates: Sequence[ProfileVectors], weights: Weights = Weights()
) -> list[Scored]:
    """Score `profile` against every visible candidate, best first (through a VectorIndex)."""
    dim = next((v.shape[1] for v in (profile.needs, profile.offers) if v.ndim == 2), 0)
    index = VectorIndex(dim)
    for candidate in candidates:
        index.put(candidate)
    return index.score(profile, weights).top()


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


def explain(a_name: str, b_name: str, scored: Scored) -> str:
    parts = []
    if scored.best_a_need:
        parts.append(
            f"{a_name} needs “{scored.best_a_need[0]}” ↔ {b_name} offers “{scored.best_a_need[1]}”"
        )
    if scored.best_b_need:
        parts.append(
            f"{b_name} needs “{scored.best_b_need[0]}” ↔ {a_name} offers “{scored.best_b_need[1]}”"
        )
    return "; ".join(parts) or "structural fit only"
