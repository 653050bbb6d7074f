"""Every profile's top-k at once, in blocks (pure: numpy only, no I/O).

`VectorIndex.score` scores ONE profile against all (one matrix-vector product per
direction). Rescoring everyone that way is N passes over the whole matrix; here a block of
profiles is scored against all candidates with one matrix-matrix product per direction,
which reads the candidate matrix once per block instead of once per profile.

The formula is the one `VectorIndex.score` implements (reciprocal harmonic mean of the
best need/offer cosines, `looking_for` fit, a shared language, the same weights, the same
visibility rule); tests/unit/test_bulk_topk.py pins the two together, so a change to the
scoring that is not mirrored here fails a test. Callers turn the winners into full,
explained `Scored` results with `score_candidates` (the scoring module's own code).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tandem_matcher.domain.scoring import ProfileVectors, Weights, harmonic

Vectors = NDArray[np.float32]

KNOWN_WEIGHTS = frozenset({"reciprocal", "looking_for", "language"})


@dataclass(frozen=True)
class Ranked:
    """One profile's best visible candidates at or above the threshold, best first."""

    profile: ProfileVectors
    candidates: tuple[ProfileVectors, ...]
    scores: tuple[float, ...]


class _Side:
    """One side's texts (needs or offers) of every profile, stacked in profile order."""

    def __init__(self, blocks: Sequence[Vectors], dim: int) -> None:
        counts = np.array([len(block) for block in blocks], np.int64)
        self.matrix: Vectors = (
            np.concatenate(blocks).astype(np.float32, copy=False)
            if counts.sum()
            else np.zeros((0, dim), np.float32)
        )
        self.start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.count = counts

    def rows(self, first: int, last: int) -> tuple[Vectors, NDArray[np.int64], NDArray[np.int64]]:
        """The rows of profiles first..last-1, with their starts (relative) and counts."""
        begin = int(self.start[first])
        end = int(self.start[last - 1] + self.count[last - 1])
        return self.matrix[begin:end], self.start[first:last] - begin, self.count[first:last]


def _segment_max(
    values: NDArray[np.float32], starts: NDArray[np.int64], counts: NDArray[np.int64]
) -> NDArray[np.float32]:
    """Max over each segment of rows (segment i: `counts[i]` rows from `starts[i]`); an
    empty segment gives -1 (no text: no fit). Profiles have a handful of texts, so this
    takes the j-th row of every segment at once, for each j: a few whole-array gathers,
    much faster than `np.maximum.reduceat` over thousands of tiny segments."""
    reduced = np.full((len(starts), *values.shape[1:]), -1.0, np.float32)
    for j in range(int(counts.max(initial=0))):
        has = np.flatnonzero(counts > j)
        if j == 0:
            reduced[has] = values[starts[has]]
        else:
            reduced[has] = np.maximum(reduced[has], values[starts[has] + j])
    return reduced


def _best(
    left: tuple[Vectors, NDArray[np.int64], NDArray[np.int64]],
    right: _Side,
) -> NDArray[np.float64]:
    """(block profiles, all profiles): best cosine of a left row against a right row."""
    rows, starts, counts = left
    # One matrix-matrix product, candidates' rows first: both reductions then gather whole
    # contiguous rows of a C-ordered array.
    product = right.matrix @ rows.T
    per_candidate = _segment_max(product, right.start, right.count)
    per_pair = _segment_max(np.ascontiguousarray(per_candidate.T), starts, counts)
    return np.clip(per_pair.astype(np.float64), 0.0, 1.0)


class BulkScorer:
    """All profiles, ready to be scored in blocks against each other."""

    def __init__(self, profiles: Sequence[ProfileVectors], dim: int) -> None:
        self.profiles = list(profiles)
        self.needs = _Side([p.needs.reshape(-1, dim) for p in self.profiles], dim)
        self.offers = _Side([p.offers.reshape(-1, dim) for p in self.profiles], dim)
        hubs = {hub: i for i, hub in enumerate(sorted({p.hub for p in self.profiles}))}
        self.hub = np.array([hubs[p.hub] for p in self.profiles], np.int64)
        self.network = np.array([p.sharing == "network" for p in self.profiles], bool)
        kinds = sorted(
            {p.kind for p in self.profiles} | {k for p in profiles for k in p.looking_for}
        )
        kind_of = {kind: i for i, kind in enumerate(kinds)}
        self.kind = np.array([kind_of[p.kind] for p in self.profiles], np.int64)
        self.wants = np.zeros((len(self.profiles), len(kinds)), bool)
        languages = sorted({lang for p in self.profiles for lang in p.languages})
        language_of = {language: i for i, language in enumerate(languages)}
        self.speaks = np.zeros((len(self.profiles), max(len(languages), 1)), np.float32)
        for i, profile in enumerate(self.profiles):
            self.wants[i, [kind_of[k] for k in profile.looking_for]] = True
            self.speaks[i, [language_of[lang] for lang in profile.languages]] = 1.0

    def __len__(self) -> int:
        return len(self.profiles)

    def block_scores(
        self, first: int, last: int, weights: Weights
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """Totals and visibility of profiles first..last-1 against every profile."""
        unknown = {f.name for f in dataclasses.fields(weights) if getattr(weights, f.name)}
        if unknown - KNOWN_WEIGHTS:
            raise ValueError(f"bulk scoring does not know the components {unknown - KNOWN_WEIGHTS}")
        block = np.arange(first, last)
        if len(self.profiles) == 0 or first >= last:
            return np.zeros((0, len(self.profiles))), np.zeros((0, len(self.profiles)), bool)
        a_to_b = _best(self.needs.rows(first, last), self.offers)
        b_to_a = _best(self.offers.rows(first, last), self.needs)
        reciprocal = harmonic(a_to_b, b_to_a)
        wants = self.wants[block][:, self.kind]  # the block profile wants the candidate's kind
        wanted = self.wants[:, self.kind[block]].T  # the candidate wants the block's kind
        kind_fit = (wants.astype(float) + wanted.astype(float)) / 2
        language = ((self.speaks[block] @ self.speaks.T) > 0).astype(float)
        total = weights.reciprocal * reciprocal + weights.looking_for * kind_fit
        total = np.clip(total + weights.language * language, 0.0, 1.0)
        visible = (self.hub[block][:, None] == self.hub[None, :]) | (
            self.network[block][:, None] & self.network[None, :]
        )
        visible[np.arange(len(block)), block] = False
        return total, visible

    def top_k(
        self, k: int, *, weights: Weights = Weights(), min_score: float = 0.0, batch: int = 256
    ) -> Iterator[list[Ranked]]:
        """Each block's profiles with their top-k (the same candidates and order as
        `VectorIndex.score(profile).top(k, min_score)`), one list per block."""
        for first in range(0, len(self.profiles), batch):
            last = min(first + batch, len(self.profiles))
            total, visible = self.block_scores(first, last, weights)
            masked = np.where(visible & (total >= min_score), total, -np.inf)
            yield [self._ranked(first + row, masked[row], k) for row in range(last - first)]

    def _ranked(self, position: int, scores: NDArray[np.float64], k: int) -> Ranked:
        eligible = np.flatnonzero(np.isfinite(scores))
        if len(eligible) > k:
            eligible = eligible[np.argpartition(-scores[eligible], k - 1)[:k]]
        order = eligible[np.argsort(-scores[eligible], kind="stable")]
        return Ranked(
            self.profiles[position],
            tuple(self.profiles[int(i)] for i in order),
            tuple(round(float(scores[i]), 4) for i in order),
        )
