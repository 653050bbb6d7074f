"""Every profile's top-k at once, in blocks (pure: numpy only, no I/O).

`VectorIndex.score` scores ONE profile against all (one matrix-vector product per
direction). Rescoring everyone that way is N passes over the whole candidate matrix;
`VectorIndex.score_block` scores a block of profiles with one matrix-matrix product per
direction, reading the candidate matrix once per block. The scoring itself (components,
weights, visibility, relations, explanations) is the index's own code: there is no second
copy of the formula here, only the blocking.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from tandem_matcher.domain.scoring import ProfileVectors, Scored, VectorIndex, Weights


@dataclass(frozen=True)
class Ranked:
    """One profile's best suggestible candidates at or above the threshold, best first."""

    profile: ProfileVectors
    top: tuple[Scored, ...]


def blocks(profiles: Sequence[ProfileVectors], size: int) -> Iterator[Sequence[ProfileVectors]]:
    """`profiles` in consecutive blocks of at most `size`."""
    if size < 1:
        raise ValueError("a block holds at least one profile")
    for first in range(0, len(profiles), size):
        yield profiles[first : first + size]


def top_k(
    index: VectorIndex,
    profiles: Sequence[ProfileVectors],
    k: int,
    *,
    weights: Weights = Weights(),
    min_score: float = 0.0,
    batch: int = 256,
    at: datetime | None = None,
) -> Iterator[list[Ranked]]:
    """Each block's profiles with their top-k against the whole index (the same result as
    `index.score(profile, weights, at).top(k, min_score)`), one list per block."""
    for block in blocks(profiles, batch):
        tables = index.score_block(block, weights, at)
        yield [
            Ranked(profile, tuple(table.top(k, min_score)))
            for profile, table in zip(block, tables, strict=True)
        ]
