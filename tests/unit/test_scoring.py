"""Reciprocal, explainable scoring on small hand-made vectors (no encoder).

The last tests pin the vectorised `score_candidates` to a naive per-candidate reference
implementation of the definition, over many random candidates."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from tandem_matcher.domain.scoring import (
    ProfileVectors,
    Scored,
    Weights,
    explain,
    harmonic,
    in_pair_order,
    may_match,
    score_candidates,
)
from tandem_matcher.domain.structure import (
    KIND_INDEX,
    NEIGHBOURS,
    Geography,
    Structure,
    sector_matrix,
)
from tests.support.scoring import DIM, TOLERANCE, e, profile, unit

pytestmark = pytest.mark.unit


def by_id(results: Sequence[Scored]) -> dict[str, Scored]:
    return {result.candidate.id: result for result in results}


def only(
    profile_: ProfileVectors, candidate: ProfileVectors, weights: Weights = Weights()
) -> Scored:
    (result,) = score_candidates(profile_, [candidate], weights)
    return result


# The profile under test in most tests: needs e0, offers e1.
ME = profile("me", needs=[("need e0", e(0))], offers=[("offer e1", e(1))])


# ------------------------------------------------------------------------------ harmonic mean


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (0.0, 1.0, 0.0),
        (1.0, 0.0, 0.0),
        (0.0, 0.0, 0.0),
        (1.0, 1.0, 1.0),
        (0.5, 1.0, 2 / 3),
        (0.25, 0.25, 0.25),
    ],
)
def test_harmonic_mean(x: float, y: float, expected: float) -> None:
    result = harmonic(np.array([x]), np.array([y]))
    assert result[0] == pytest.approx(expected)
    assert harmonic(np.array([y]), np.array([x]))[0] == pytest.approx(expected)


def test_harmonic_mean_is_elementwise() -> None:
    result = harmonic(np.array([0.0, 0.5, 1.0]), np.array([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(result, [0.0, 0.5, 0.0])


# ------------------------------------------------------------------------------ reciprocity


def test_two_way_fit_ranks_above_a_one_way_fit() -> None:
    both = profile("both", offers=[("x", e(0))], needs=[("y", e(1))])
    one_way = profile("one-way", offers=[("x", e(0))], needs=[("z", e(5))])
    results = score_candidates(ME, [one_way, both])
    assert [r.candidate.id for r in results] == ["both", "one-way"]
    assert results[0].components["reciprocal"] == pytest.approx(1.0)
    assert results[1].components["a_needs_b_offers"] == pytest.approx(1.0)
    assert results[1].components["b_needs_a_offers"] == pytest.approx(0.0)
    assert results[1].components["reciprocal"] == 0.0


def test_balanced_fit_beats_a_lopsided_fit_with_a_higher_arithmetic_mean() -> None:
    """0.6/0.6 (harmonic 0.6) must beat 1.0/0.3 (arithmetic 0.65, harmonic ≈ 0.46)."""
    balanced = profile(
        "balanced", offers=[("x", unit(0.6, 0, 0.8))], needs=[("y", unit(0, 0.6, 0.8))]
    )
    lopsided = profile("lopsided", offers=[("x", e(0))], needs=[("y", unit(0, 0.3, 0.9539392))])
    results = by_id(score_candidates(ME, [lopsided, balanced]))
    assert results["balanced"].components["reciprocal"] == pytest.approx(0.6, abs=TOLERANCE)
    assert results["lopsided"].components["reciprocal"] == pytest.approx(
        2 * 1.0 * 0.3 / 1.3, abs=TOLERANCE
    )
    assert results["balanced"].score > results["lopsided"].score


def test_negative_similarity_counts_as_no_fit() -> None:
    opposite = profile("opposite", offers=[("x", unit(-1.0))], needs=[("y", unit(0, -1.0))])
    result = only(ME, opposite)
    assert result.components["a_needs_b_offers"] == 0.0
    assert result.components["b_needs_a_offers"] == 0.0
    assert result.score == 0.0


# ------------------------------------------------------------------------------ visibility


@pytest.mark.parametrize(
    ("hub_b", "sharing_a", "sharing_b", "expected"),
    [
        ("h1", "hub", "hub", True),
        ("h1", "network", "hub", True),
        ("h1", "network", "network", True),
        ("h2", "network", "network", True),
        ("h2", "network", "hub", False),
        ("h2", "hub", "network", False),
        ("h2", "hub", "hub", False),
    ],
)
def test_visibility(hub_b: str, sharing_a: str, sharing_b: str, expected: bool) -> None:
    a = profile("a", hub="h1", sharing=sharing_a, needs=[("n", e(0))])
    b = profile("b", hub=hub_b, sharing=sharing_b, offers=[("o", e(0))])
    assert may_match(a, b) is expected
    assert may_match(b, a) is expected
    assert [r.candidate.id for r in score_candidates(a, [b])] == (["b"] if expected else [])


@pytest.mark.parametrize(
    ("hub_a", "hub_b", "expected"),
    [
        ("north", "north", True),  # its own pair
        ("north", "south", True),  # its own profile with another hub's shared one
        ("south", "north", True),
        ("south", "east", False),  # two other hubs' shared profiles: not its to score
        ("south", "south", False),
    ],
)
def test_a_hubs_matcher_scores_only_pairs_with_one_of_its_own(
    hub_a: str, hub_b: str, expected: bool
) -> None:
    """North's matcher reads south's and east's shared profiles; it pairs them with north's
    own, never with each other (docs/federation.md, "Who matches what")."""
    north = frozenset({"north"})
    a = profile("a", hub=hub_a, sharing="network", needs=[("n", e(0))], offers=[("o", e(1))])
    b = profile("b", hub=hub_b, sharing="network", needs=[("n", e(1))], offers=[("o", e(0))])
    assert may_match(a, b, north) is expected
    assert may_match(b, a, north) is expected
    assert may_match(a, b) is True  # one index for every hub (benches) pairs them all
    structure = Structure(own_hubs=north)
    found = [r.candidate.id for r in score_candidates(a, [b], structure=structure)]
    assert found == (["b"] if expected else [])


@pytest.mark.parametrize("sharing", ["hub", "network"])
def test_never_matches_itself(sharing: str) -> None:
    me = profile("me", sharing=sharing, needs=[("n", e(0))], offers=[("o", e(0))])
    twin = profile("me", sharing=sharing, needs=[("n", e(0))], offers=[("o", e(0))])
    other = profile("other", needs=[("n", e(3))])
    assert not may_match(me, me)
    assert not may_match(me, twin)
    assert [r.candidate.id for r in score_candidates(me, [me, twin, other])] == ["other"]


def test_no_visible_candidate_gives_no_results() -> None:
    stranger = profile("stranger", hub="h2", sharing="network", offers=[("o", e(0))])
    assert score_candidates(ME, [stranger]) == []
    assert score_candidates(ME, []) == []


# ------------------------------------------------------------------------------ structural fit


@pytest.mark.parametrize(
    ("my_looking_for", "their_looking_for", "expected"),
    [
        (["industry"], ["creative"], 1.0),  # each is a kind the other looks for
        (["industry"], ["heritage"], 0.5),  # I look for their kind
        (["heritage"], ["creative"], 0.5),  # they look for my kind
        (["heritage"], ["research"], 0.0),
        # one side says nothing: unknown, not a mismatch, and no edge for the other side
        (["industry"], [], 0.0),
        ([], ["creative"], 0.0),
        ([], [], 0.0),
    ],
)
def test_looking_for_component(
    my_looking_for: list[str], their_looking_for: list[str], expected: float
) -> None:
    me = profile("me", kind="creative", looking_for=my_looking_for)
    them = profile("them", kind="industry", looking_for=their_looking_for)
    result = only(me, them)
    assert result.components["looking_for"] == expected
    assert result.score == pytest.approx(Weights().looking_for * expected, abs=TOLERANCE)


@pytest.mark.parametrize(
    ("mine", "theirs", "expected"),
    [
        (["pl", "en"], ["en"], 1.0),
        (["pl"], ["de", "fr"], 0.0),
        ([], ["en"], 0.0),
        (["en"], [], 0.0),
    ],
)
def test_language_component(mine: list[str], theirs: list[str], expected: float) -> None:
    result = only(profile("me", languages=mine), profile("them", languages=theirs))
    assert result.components["language"] == expected
    assert result.score == pytest.approx(Weights().language * expected, abs=TOLERANCE)


@pytest.mark.parametrize(
    ("my_looking_for", "weights", "expected"),
    [
        (["heritage"], Weights(reciprocal=0.5, looking_for=0.3, language=0.2), 0.85),
        (["heritage"], Weights(), 0.8 + 0.05 + 0.1),
        (["industry"], Weights(reciprocal=1.0, looking_for=1.0, language=1.0), 1.0),  # clipped
    ],
    ids=["custom-weights", "default-weights", "clipped-to-one"],
)
def test_weights_combine_the_components(
    my_looking_for: list[str], weights: Weights, expected: float
) -> None:
    """Full reciprocal fit (1.0), shared language (1.0) and looking_for 0.5 or 1.0."""
    them = profile(
        "them",
        kind="industry",
        looking_for=["creative"],
        languages=["en"],
        offers=[("x", e(0))],
        needs=[("y", e(1))],
    )
    me = profile(
        "me",
        kind="creative",
        looking_for=my_looking_for,
        languages=["en"],
        needs=[("n", e(0))],
        offers=[("o", e(1))],
    )
    assert only(me, them, weights).score == pytest.approx(expected, abs=TOLERANCE)


# ------------------------------------------------------------------------------ explanations


def _explained_candidates() -> list[ProfileVectors]:
    """A decoy first, so the explained candidate's texts are not the first rows stacked."""
    decoy = profile(
        "decoy",
        offers=[("decoy offer 1", e(6)), ("decoy offer 2", e(7))],
        needs=[("decoy need", e(6))],
    )
    target = profile(
        "target",
        offers=[("B offers e4", e(4)), ("B offers ~e1", unit(0, 0.9, 0.1, 0, 0.3))],
        needs=[("B needs ~e3", unit(0, 0, 0.2, 0.95)), ("B needs e5", e(5))],
    )
    return [decoy, target]


EXPLAINED_ME = profile(
    "me",
    needs=[("A needs e0", e(0)), ("A needs e1", e(1))],
    offers=[("A offers e2", e(2)), ("A offers e3", e(3))],
)


def test_explanation_names_the_best_pair_in_each_direction() -> None:
    result = by_id(score_candidates(EXPLAINED_ME, _explained_candidates()))["target"]
    assert result.best_a_need is not None
    assert result.best_b_need is not None
    assert result.best_a_need[:2] == ("A needs e1", "B offers ~e1")
    assert result.best_b_need[:2] == ("B needs ~e3", "A offers e3")
    assert result.best_a_need[2] == pytest.approx(unit(0, 0.9, 0.1, 0, 0.3)[1], abs=TOLERANCE)
    assert result.best_b_need[2] == pytest.approx(unit(0, 0, 0.2, 0.95)[3], abs=TOLERANCE)
    assert result.best_a_need[2] == pytest.approx(result.components["a_needs_b_offers"])
    assert result.best_b_need[2] == pytest.approx(result.components["b_needs_a_offers"])


def test_explain_text_names_both_sides() -> None:
    result = by_id(score_candidates(EXPLAINED_ME, _explained_candidates()))["target"]
    text = explain("Alpha", "Beta", result)
    assert "Alpha needs “A needs e1” ↔ Beta offers “B offers ~e1”" in text
    assert "Beta needs “B needs ~e3” ↔ Alpha offers “A offers e3”" in text


def test_explain_without_text_pairs() -> None:
    result = only(profile("me", looking_for=["creative"]), profile("them"))
    assert result.best_a_need is None
    assert result.best_b_need is None
    assert explain("Alpha", "Beta", result) == "structural fit only"


def test_a_pair_reads_the_same_whichever_side_was_scored() -> None:
    """A match shows its pair in pair order (A the smaller id), so scoring A against B
    and B against A give the same components, texts and summary."""
    target = _explained_candidates()[1]
    from_a = by_id(score_candidates(EXPLAINED_ME, [target]))["target"]
    from_b = by_id(score_candidates(target, [EXPLAINED_ME]))["me"]
    assert EXPLAINED_ME.id < target.id
    oriented = in_pair_order(EXPLAINED_ME, from_a)
    assert oriented == in_pair_order(target, from_b)
    assert oriented.a_needs_b_offers is not None
    assert oriented.a_needs_b_offers[:2] == ("A needs e1", "B offers ~e1")
    assert oriented.components["a_needs_b_offers"] == oriented.a_needs_b_offers[2]
    assert oriented.summary.startswith("ME needs “A needs e1” ↔ TARGET offers")


# ------------------------------------------------------------------------------ empty sides


NEEDS_ONLY = {"needs": [("n", e(1))]}
OFFERS_ONLY = {"offers": [("o", e(0))]}


@pytest.mark.parametrize(
    ("candidate_texts", "a_to_b_expected", "b_to_a_expected"),
    [({}, 0.0, 0.0), (NEEDS_ONLY, 0.0, 1.0), (OFFERS_ONLY, 1.0, 0.0)],
    ids=["nothing", "needs-only", "offers-only"],
)
def test_candidates_without_needs_or_offers(
    candidate_texts: dict[str, Any], a_to_b_expected: float, b_to_a_expected: float
) -> None:
    full = profile("full", offers=[("o", e(0))], needs=[("n", e(1))])
    partial = profile("partial", **candidate_texts)
    results = by_id(score_candidates(ME, [partial, full]))
    result = results["partial"]
    assert result.components["a_needs_b_offers"] == a_to_b_expected
    assert result.components["b_needs_a_offers"] == b_to_a_expected
    assert result.components["reciprocal"] == 0.0
    assert (result.best_a_need is None) == (a_to_b_expected == 0.0)
    assert (result.best_b_need is None) == (b_to_a_expected == 0.0)
    assert results["full"].components["reciprocal"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "me",
    [profile("me", needs=[("n", e(0))]), profile("me", offers=[("o", e(1))]), profile("me")],
    ids=["needs-only", "offers-only", "nothing"],
)
def test_profile_without_needs_or_offers(me: ProfileVectors) -> None:
    candidates = [
        profile("c1", offers=[("x", e(0))], needs=[("y", e(1))]),
        profile("c2", offers=[("x", e(2))]),
    ]
    results = by_id(score_candidates(me, candidates))
    assert set(results) == {"c1", "c2"}
    for result in results.values():
        assert result.components["reciprocal"] == 0.0
    assert results["c1"].components["a_needs_b_offers"] == (1.0 if len(me.needs) else 0.0)
    assert results["c1"].components["b_needs_a_offers"] == (1.0 if len(me.offers) else 0.0)


def test_when_no_candidate_has_offers_or_needs() -> None:
    candidates = [profile(f"c{i}", languages=["en"]) for i in range(3)]
    results = score_candidates(
        profile("me", languages=["en"], needs=[("n", e(0))], offers=[("o", e(1))]), candidates
    )
    assert [r.score for r in results] == [pytest.approx(Weights().language)] * 3
    assert all(r.best_a_need is None and r.best_b_need is None for r in results)


# ------------------------------------------------------------------------------ reference


KINDS = ("heritage", "creative", "industry", "research")
LANGUAGES = ("pl", "en", "de", "cs")


def _random_texts(rng: np.random.Generator, prefix: str) -> list[tuple[str, list[float]]]:
    count = int(rng.integers(0, 5))  # zero texts on a side happens often
    vectors = rng.normal(size=(count, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [(f"{prefix} {i}", list(vector)) for i, vector in enumerate(vectors)]


def _some(rng: np.random.Generator, values: Sequence[str]) -> list[str]:
    return [str(value) for value in rng.choice(values, size=int(rng.integers(0, 3)), replace=False)]


def _random_profile(rng: np.random.Generator, pid: str) -> ProfileVectors:
    return profile(
        pid,
        needs=_random_texts(rng, f"{pid} need"),
        offers=_random_texts(rng, f"{pid} offer"),
        hub=str(rng.choice(["h1", "h2", "h3"])),
        sharing=str(rng.choice(["hub", "network"])),
        kind=str(rng.choice(KINDS)),
        looking_for=_some(rng, KINDS),
        languages=_some(rng, LANGUAGES),
        country=str(rng.choice(["PL", "DE", "CZ", "LT", ""])),
        region=str(rng.choice(["PL82", "PL821", "DED2", ""])),
    )


def _best_pair(needs: ProfileVectors, offers: ProfileVectors) -> tuple[float, set[tuple[str, str]]]:
    """Naive: the best clipped cosine of `needs`' needs against `offers`' offers, and the
    text pairs that reach it."""
    pairs = {
        (need_text, offer_text): float(np.dot(np.float64(need), np.float64(offer)))
        for (need_text, need), (offer_text, offer) in itertools.product(
            zip(needs.need_texts, needs.needs, strict=True),
            zip(offers.offer_texts, offers.offers, strict=True),
        )
    }
    if not pairs:
        return 0.0, set()
    best = max(pairs.values())
    return min(max(best, 0.0), 1.0), {pair for pair, value in pairs.items() if value >= best - 1e-6}


def reference_components(
    a: ProfileVectors, b: ProfileVectors, weights: Weights
) -> dict[str, float]:
    a_to_b, _ = _best_pair(a, b)
    b_to_a, _ = _best_pair(b, a)
    reciprocal = 2 * a_to_b * b_to_a / (a_to_b + b_to_a) if a_to_b + b_to_a > 0 else 0.0
    both_say = bool(a.looking_for) and bool(b.looking_for)
    looking_for = ((b.kind in a.looking_for) + (a.kind in b.looking_for)) / 2 if both_say else 0.0
    language = 1.0 if a.languages & b.languages else 0.0
    sector = float(sector_matrix()[KIND_INDEX[a.kind], KIND_INDEX[b.kind]])
    geography = reference_geography(a, b, Geography())
    score = (
        weights.reciprocal * reciprocal
        + weights.looking_for * looking_for
        + weights.language * language
        + weights.sector * sector
        + weights.geography * geography
    )
    return {
        "a_needs_b_offers": a_to_b,
        "b_needs_a_offers": b_to_a,
        "reciprocal": reciprocal,
        "looking_for": looking_for,
        "language": language,
        "sector": sector,
        "geography": geography,
        "event": 0.0,
        "same_organisation": 0.0,
        "declined": 0.0,
        "partners": 0.0,
        "score": min(max(score, 0.0), 1.0),
    }


def reference_geography(a: ProfileVectors, b: ProfileVectors, values: Geography) -> float:
    if len(a.region) >= 4 and a.region[:4] == b.region[:4]:
        return values.same_region
    if a.country and a.country == b.country:
        return values.same_country
    if b.country in NEIGHBOURS.get(a.country, frozenset()):
        return values.neighbour
    return values.other


@pytest.mark.parametrize(
    ("seed", "weights"),
    [
        (0, Weights()),
        (1, Weights()),
        (2, Weights(reciprocal=0.6, looking_for=0.25, language=0.15)),
        (3, Weights(reciprocal=1.0, looking_for=0.0, language=0.0)),
        (4, Weights(reciprocal=0.5, looking_for=0.1, language=0.1, sector=0.15, geography=0.15)),
    ],
)
def test_vectorised_scores_equal_the_naive_definition(seed: int, weights: Weights) -> None:
    rng = np.random.default_rng(seed)
    me = _random_profile(rng, "me")
    candidates = [_random_profile(rng, f"c{i:03d}") for i in range(150)]
    results = score_candidates(me, [me, *candidates], weights)

    assert [r.candidate.id for r in results if not may_match(me, r.candidate)] == []
    assert {r.candidate.id for r in results} == {c.id for c in candidates if may_match(me, c)}
    for result in results:
        expected = reference_components(me, result.candidate, weights)
        score = expected.pop("score")
        assert result.score == pytest.approx(score, abs=TOLERANCE), result.candidate.id
        assert result.components == pytest.approx(expected, abs=TOLERANCE), result.candidate.id


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_vectorised_explanations_equal_the_naive_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    me = _random_profile(rng, "me")
    candidates = [_random_profile(rng, f"c{i:03d}") for i in range(150)]
    for result in score_candidates(me, candidates):
        b = result.candidate
        for got, (value, best_pairs) in (
            (result.best_a_need, _best_pair(me, b)),
            (result.best_b_need, _best_pair(b, me)),
        ):
            if not best_pairs:
                assert got is None, b.id
                continue
            assert got is not None, b.id
            assert got[:2] in best_pairs, b.id
            assert got[2] == pytest.approx(value, abs=TOLERANCE), b.id


@pytest.mark.parametrize("seed", [20, 21])
def test_scores_are_in_range_and_best_first(seed: int) -> None:
    rng = np.random.default_rng(seed)
    me = _random_profile(rng, "me")
    results = score_candidates(me, [_random_profile(rng, f"c{i}") for i in range(300)])
    scores = [r.score for r in results]
    assert scores, "the seed should give visible candidates"
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    for result in results:
        assert all(0.0 <= value <= 1.0 for value in result.components.values())


def test_an_explanation_quotes_short_excerpts_not_paragraphs() -> None:
    from tandem_matcher.domain.scoring.explanation import EXCERPT_CHARACTERS, excerpt

    paragraph = "ECRR: European Cultural Route of Reformation. " + "Heritage tourism " * 40
    need = "We need a partner for 3D scanning"
    a = profile("a", needs=[(need, e(0))], offers=[(paragraph, e(1))])
    b = profile("b", needs=[("Reformation route", e(1))], offers=[(paragraph, e(0))])
    summary = explain("A", "B", score_candidates(a, [b], Weights())[0])
    assert f"“{need}”" in summary  # a short text is quoted whole
    assert paragraph not in summary
    quoted = excerpt(paragraph)
    assert len(quoted) <= EXCERPT_CHARACTERS and quoted.endswith("…")
    assert paragraph.startswith(quoted[:-1])  # cut at a word boundary, not rewritten
    assert summary.count(quoted) == 2
