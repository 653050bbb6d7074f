"""Blocked top-k (domain/bulk.py) gives exactly what scoring one profile at a time gives.

`VectorIndex.score(profile).top(k)` is the definition the service uses on every upsert;
the bulk rescoring must pick the same candidates in the same order with the same scores,
whatever the block size, for profiles with any number of texts (including none), across
hubs and sharing, kinds and languages."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from tandem_matcher.domain.bulk import BulkScorer
from tandem_matcher.domain.scoring import ProfileVectors, VectorIndex, Weights

pytestmark = pytest.mark.unit

DIM = 16
KINDS = ("heritage", "creative", "industry", "support", "research")
LANGUAGES = ("pl", "de", "cs", "en", "hu")


def unit_rows(rng: np.random.Generator, rows: int) -> NDArray[np.float32]:
    vectors = rng.standard_normal((rows, DIM)).astype(np.float32)
    normalised: NDArray[np.float32] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised


def random_profile(rng: np.random.Generator, number: int) -> ProfileVectors:
    needs, offers = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    return ProfileVectors(
        id=f"p{number:03d}",
        name=f"Org {number}",
        hub=f"hub{rng.integers(0, 3)}",
        sharing="network" if rng.random() < 0.6 else "hub",
        kind=str(rng.choice(KINDS)),
        looking_for=frozenset(str(k) for k in rng.choice(KINDS, rng.integers(0, 3))),
        languages=frozenset(str(lang) for lang in rng.choice(LANGUAGES, rng.integers(0, 3))),
        need_texts=tuple(f"need {i}" for i in range(needs)),
        offer_texts=tuple(f"offer {i}" for i in range(offers)),
        needs=unit_rows(rng, needs),
        offers=unit_rows(rng, offers),
    )


def one_at_a_time(
    profiles: list[ProfileVectors], k: int, weights: Weights, min_score: float
) -> dict[str, list[tuple[str, float]]]:
    index = VectorIndex(DIM)
    for profile in profiles:
        index.put(profile)
    return {
        p.id: [(r.candidate.id, r.score) for r in index.score(p, weights).top(k, min_score)]
        for p in profiles
    }


def blocked(
    profiles: list[ProfileVectors], k: int, weights: Weights, min_score: float, batch: int
) -> dict[str, list[tuple[str, float]]]:
    scorer = BulkScorer(profiles, DIM)
    return {
        ranked.profile.id: [
            (c.id, s) for c, s in zip(ranked.candidates, ranked.scores, strict=True)
        ]
        for block in scorer.top_k(k, weights=weights, min_score=min_score, batch=batch)
        for ranked in block
    }


def assert_same(
    got: dict[str, list[tuple[str, float]]], expected: dict[str, list[tuple[str, float]]]
) -> None:
    """Same candidates in the same order; scores equal up to the 4-decimal rounding (a
    matrix-matrix product may sum in another order than a matrix-vector one: float32's
    last bit can move a score across a rounding boundary)."""
    assert got.keys() == expected.keys()
    for profile, ranked in expected.items():
        assert [c for c, _ in got[profile]] == [c for c, _ in ranked], profile
        for (_, score), (_, want) in zip(got[profile], ranked, strict=True):
            assert score == pytest.approx(want, abs=1.5e-4), profile


@pytest.mark.parametrize("batch", [1, 7, 64, 1000])
@pytest.mark.parametrize(
    ("weights", "min_score"),
    [
        (Weights(), 0.0),
        (Weights(), 0.4),
        (Weights(reciprocal=1.0, looking_for=0, language=0), 0.01),
    ],
)
def test_blocked_top_k_equals_scoring_one_profile_at_a_time(
    batch: int, weights: Weights, min_score: float
) -> None:
    rng = np.random.default_rng(batch)
    profiles = [random_profile(rng, n) for n in range(150)]
    expected = one_at_a_time(profiles, 10, weights, min_score)
    assert any(expected.values())  # the comparison is not vacuous
    assert_same(blocked(profiles, 10, weights, min_score, batch), expected)


def test_no_profiles_and_profiles_without_texts() -> None:
    assert list(BulkScorer([], DIM).top_k(5)) == []
    rng = np.random.default_rng(1)
    silent = [
        ProfileVectors(
            f"s{i}", "S", "h", "hub", "creative", frozenset({"creative"}), frozenset({"en"}),
            (), (), np.zeros((0, DIM), np.float32), np.zeros((0, DIM), np.float32),
        )
        for i in range(3)
    ] + [random_profile(rng, 9)]  # fmt: skip
    assert_same(blocked(silent, 5, Weights(), 0.0, 2), one_at_a_time(silent, 5, Weights(), 0.0))
