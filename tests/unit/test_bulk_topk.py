"""Blocked scoring (`VectorIndex.score_block`, domain/bulk.py) gives exactly what scoring
one profile at a time gives.

`VectorIndex.score(profile).top(k)` is the definition the service uses on every upsert;
the bulk rescoring must pick the same candidates in the same order with the same scores,
components, explanations, events and relation flags, whatever the block size, for
profiles with any number of texts (including none), across hubs and sharing, kinds,
languages, countries and regions, shared events and known relations, with every weighted
component switched on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from tandem_matcher.domain.bulk import blocks, top_k
from tandem_matcher.domain.pairs import Relation
from tandem_matcher.domain.scoring import (
    WEIGHTED,
    EventState,
    ProfileVectors,
    Scored,
    VectorIndex,
    Weights,
)
from tandem_matcher.settings import WeightSettings

pytestmark = pytest.mark.unit

DIM = 16
KINDS = ("heritage", "creative", "industry", "support", "research")
LANGUAGES = ("pl", "de", "cs", "en", "hu")
COUNTRIES = ("PL", "DE", "CZ", "SK", "AT")
AT = datetime(2026, 11, 1, tzinfo=UTC)
ALL_ON = WeightSettings().weights()  # the service's configured default: every component


def unit_rows(rng: np.random.Generator, rows: int) -> NDArray[np.float32]:
    vectors = rng.standard_normal((rows, DIM)).astype(np.float32)
    normalised: NDArray[np.float32] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised


def random_profile(rng: np.random.Generator, number: int) -> ProfileVectors:
    needs, offers = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    country = str(rng.choice(COUNTRIES))
    return ProfileVectors(
        id=f"p{number:03d}",
        # A few share a name or a website: same organisation, never suggested.
        name=f"Org {number % 140}",
        hub=f"hub{rng.integers(0, 3)}",
        sharing="network" if rng.random() < 0.6 else "hub",
        kind=str(rng.choice(KINDS)),
        looking_for=frozenset(str(k) for k in rng.choice(KINDS, rng.integers(0, 3))),
        languages=frozenset(str(lang) for lang in rng.choice(LANGUAGES, rng.integers(0, 3))),
        need_texts=tuple(f"need {i}" for i in range(needs)),
        offer_texts=tuple(f"offer {i}" for i in range(offers)),
        needs=unit_rows(rng, needs),
        offers=unit_rows(rng, offers),
        country=country,
        region=f"{country}{rng.integers(1, 3)}{rng.integers(1, 3)}" if rng.random() < 0.8 else "",
        website=f"https://www.site{number % 130}.eu/about" if rng.random() < 0.5 else "",
    )


def populated(rng: np.random.Generator, profiles: list[ProfileVectors]) -> VectorIndex:
    """An index of the profiles with events (one over, one cancelled, three upcoming)
    and declined / partner relations."""
    index = VectorIndex(DIM)
    for profile in profiles:
        index.put(profile)
    index.set_event("past", EventState(AT - timedelta(days=1)))
    index.set_event("cancelled", EventState(AT + timedelta(days=9), cancelled=True))
    index.set_event("soon", EventState(AT + timedelta(days=9)))
    for profile in profiles:
        for event in rng.choice(["past", "cancelled", "soon", "later", "unseen"], 2):
            if rng.random() < 0.3:
                index.register(str(event), profile.id)
    for _ in range(40):
        a, b = rng.choice(len(profiles), 2, replace=False)
        relation = Relation.DECLINED if rng.random() < 0.5 else Relation.PARTNERS
        index.set_relation(profiles[a].id, profiles[b].id, relation)
    for profile in profiles[::3]:
        index.set_kth_best(profile.id, float(rng.uniform(0.3, 0.7)))
    return index


def view(result: Scored) -> tuple[Any, ...]:
    return (
        result.candidate.id,
        result.best_a_need and result.best_a_need[:2],
        result.best_b_need and result.best_b_need[:2],
        result.event_id,
        result.blocked,
    )


def assert_same(got: list[Scored], expected: list[Scored], profile: str) -> None:
    """Same candidates in the same order with the same explanations; scores and
    components equal up to the 4-decimal rounding (a matrix-matrix product may sum in
    another order than a matrix-vector one: float32's last bit can move a value across a
    rounding boundary)."""
    assert [view(r) for r in got] == [view(r) for r in expected], profile
    for result, want in zip(got, expected, strict=True):
        assert result.score == pytest.approx(want.score, abs=1.5e-4), profile
        assert result.components.keys() == want.components.keys()
        for name, value in want.components.items():
            assert result.components[name] == pytest.approx(value, abs=1.5e-4), (profile, name)


def test_every_weighted_component_is_on() -> None:
    assert all(ALL_ON.as_dict()[name] > 0 for name in WEIGHTED)


@pytest.mark.parametrize("batch", [1, 7, 64, 1000])
@pytest.mark.parametrize(("weights", "min_score"), [(ALL_ON, 0.0), (ALL_ON, 0.45)])
def test_blocked_top_k_equals_scoring_one_profile_at_a_time(
    batch: int, weights: Weights, min_score: float
) -> None:
    rng = np.random.default_rng(batch)
    profiles = [random_profile(rng, n) for n in range(150)]
    index = populated(rng, profiles)
    expected = {p.id: index.score(p, weights, AT).top(10, min_score) for p in profiles}
    # The comparison is not vacuous: results exist, and they exercise events and relations.
    assert sum(map(len, expected.values())) > 50
    assert any(r.event_id for results in expected.values() for r in results)
    partners = [index.score(p, weights, AT) for p in profiles]
    assert any(table.partners.any() and table.same_organisation.any() for table in partners)
    got = {
        ranked.profile.id: list(ranked.top)
        for block in top_k(index, profiles, 10, weights=weights, min_score=min_score, batch=batch, at=AT)
        for ranked in block
    }  # fmt: skip
    assert got.keys() == expected.keys()
    for profile, results in expected.items():
        assert_same(got[profile], results, profile)


def test_blocked_tables_agree_on_every_slot_and_on_the_either_side_rule() -> None:
    rng = np.random.default_rng(3)
    profiles = [random_profile(rng, n) for n in range(80)]
    index = populated(rng, profiles)
    for block in blocks(profiles, 16):
        for profile, table in zip(block, index.score_block(block, ALL_ON, AT), strict=True):
            single = index.score(profile, ALL_ON, AT)
            np.testing.assert_allclose(table.total, single.total, atol=1e-6)
            np.testing.assert_array_equal(table.suggestible, single.suggestible)
            assert_same(table.either_side_top(5, 0.4), single.either_side_top(5, 0.4), profile.id)


def test_no_profiles_and_profiles_without_texts() -> None:
    assert list(top_k(VectorIndex(DIM), [], 5)) == []
    rng = np.random.default_rng(1)
    silent = [
        ProfileVectors(
            f"s{i}", f"S{i}", "h", "hub", "creative", frozenset({"creative"}), frozenset({"en"}),
            (), (), np.zeros((0, DIM), np.float32), np.zeros((0, DIM), np.float32),
        )
        for i in range(3)
    ] + [random_profile(rng, 9)]  # fmt: skip
    index = VectorIndex(DIM)
    for profile in silent:
        index.put(profile)
    expected = {p.id: index.score(p, ALL_ON).top(5) for p in silent}
    assert any(expected.values())
    for block in top_k(index, silent, 5, weights=ALL_ON, batch=2):
        for ranked in block:
            assert_same(list(ranked.top), expected[ranked.profile.id], ranked.profile.id)
    with pytest.raises(ValueError, match="at least one"):
        list(blocks(silent, 0))
