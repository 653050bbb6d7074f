"""The structured components of a match (sector, geography, event, known relations), the
either-side top-k selection and the weight settings, on hand-made vectors (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from tandem_matcher.domain.pairs import Relation
from tandem_matcher.domain.scoring import (
    EventState,
    ProfileVectors,
    VectorIndex,
    Weights,
    score_candidates,
)
from tandem_matcher.domain.structure import (
    KINDS,
    NEIGHBOURS,
    Geography,
    Structure,
    nuts2,
    organisation_name,
    sector_matrix,
    website_domain,
)
from tandem_matcher.settings import MatcherSettings, WeightSettings
from tests.support.scoring import DIM, e, profile

pytestmark = pytest.mark.unit

ONLY = {name: 0.0 for name in ("reciprocal", "looking_for", "language")}


def only_weight(name: str) -> Weights:
    return Weights(**{**ONLY, name: 1.0})


def index_of(*profiles: ProfileVectors, structure: Structure | None = None) -> VectorIndex:
    index = VectorIndex(DIM, structure)
    for item in profiles:
        index.put(item)
    return index


# ------------------------------------------------------------------------------ sector


def test_default_sector_matrix_is_symmetric_and_complementary() -> None:
    matrix = sector_matrix()
    fit = {(a, b): matrix[i, j] for i, a in enumerate(KINDS) for j, b in enumerate(KINDS)}
    np.testing.assert_array_equal(matrix, matrix.T)
    assert ((matrix >= 0) & (matrix <= 1)).all()
    for pair in [("heritage", "creative"), ("heritage", "industry"), ("creative", "industry")]:
        assert fit[pair] > fit[(pair[0], pair[0])]
    assert all(fit[("support", kind)] >= 0.8 for kind in KINDS if kind != "support")
    assert all(fit[(kind, kind)] < fit[("heritage", "creative")] for kind in KINDS)


def test_sector_overrides_apply_both_ways_and_are_validated() -> None:
    matrix = sector_matrix({"heritage": {"industry": 0.2}})
    heritage, industry = KINDS.index("heritage"), KINDS.index("industry")
    assert matrix[heritage, industry] == matrix[industry, heritage] == 0.2
    with pytest.raises(ValueError, match="unknown kind"):
        sector_matrix({"heritage": {"bakery": 0.5}})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sector_matrix({"heritage": {"industry": 1.5}})


@pytest.mark.parametrize(
    ("mine", "theirs", "expected"),
    [("heritage", "creative", 1.0), ("creative", "heritage", 1.0), ("creative", "creative", 0.3)],
)
def test_sector_component_is_weighted(mine: str, theirs: str, expected: float) -> None:
    (result,) = score_candidates(
        profile("me", kind=mine), [profile("them", kind=theirs)], only_weight("sector")
    )
    assert result.components["sector"] == expected
    assert result.score == pytest.approx(expected)


# ------------------------------------------------------------------------------ geography


def test_neighbour_table_is_symmetric_and_covers_the_region() -> None:
    for country, others in NEIGHBOURS.items():
        assert all(country in NEIGHBOURS[other] for other in others)
    assert {"DE", "CZ", "SK", "LT"} <= NEIGHBOURS["PL"]
    assert "LV" in NEIGHBOURS["EE"] and "HU" in NEIGHBOURS["SI"]


@pytest.mark.parametrize(
    ("theirs", "expected"),
    [
        ({"country": "PL", "region": "PL82"}, "same_region"),  # PL821 is inside PL82
        ({"country": "PL", "region": "PL91"}, "same_country"),
        ({"country": "PL"}, "same_country"),
        ({"country": "DE", "region": "DED2"}, "neighbour"),
        ({"country": "LT"}, "neighbour"),
        ({"country": "HU"}, "other"),
        ({}, "other"),
    ],
)
def test_geography_component(theirs: dict[str, str], expected: str) -> None:
    values = Geography(same_region=0.9, same_country=0.7, neighbour=0.5, other=0.1)
    me = profile("me", country="PL", region="PL821")
    them = profile("them", country=theirs.get("country", ""), region=theirs.get("region", ""))
    (result,) = score_candidates(me, [them], only_weight("geography"), Structure(geography=values))
    assert result.components["geography"] == getattr(values, expected)
    assert result.score == pytest.approx(getattr(values, expected))


def test_cross_border_preference_ranks_the_neighbour_first() -> None:
    prefer_abroad = Structure(geography=Geography(same_country=0.4, neighbour=1.0, other=0.5))
    me = profile("me", country="SK")
    candidates = [profile("home", country="SK"), profile("abroad", country="HU")]
    nearby = score_candidates(me, candidates, only_weight("geography"))
    abroad = score_candidates(me, candidates, only_weight("geography"), prefer_abroad)
    assert [r.candidate.id for r in nearby] == ["home", "abroad"]
    assert [r.candidate.id for r in abroad] == ["abroad", "home"]


def test_geography_helpers() -> None:
    assert nuts2("pl821") == "PL82"
    assert nuts2("PL") == "" and nuts2(None) == ""
    with pytest.raises(ValueError):
        Geography(neighbour=1.5)


# ------------------------------------------------------------------------------ events


def test_co_registration_sets_the_event_component_and_id() -> None:
    me, mate, other = profile("me"), profile("mate"), profile("other")
    index = index_of(me, mate, other)
    index.register("ev-2", "me")
    index.register("ev-2", "mate")
    index.register("ev-1", "other")
    table = index.score(me, only_weight("event"))
    result, unrelated = table.for_id("mate"), table.for_id("other")
    assert result is not None and unrelated is not None
    assert (result.components["event"], result.event_id, result.score) == (1.0, "ev-2", 1.0)
    assert (unrelated.components["event"], unrelated.event_id) == (0.0, None)
    assert index.participants("ev-2") == {"me", "mate"}
    index.unregister("ev-2", "mate")
    again = index.score(me, only_weight("event")).for_id("mate")
    assert again is not None and again.components["event"] == 0.0 and again.event_id is None


def test_only_an_upcoming_event_that_is_not_cancelled_counts() -> None:
    me, mate = profile("me"), profile("mate")
    index = index_of(me, mate)
    for event_id in ("past", "cancelled", "upcoming", "unknown"):
        index.register(event_id, "me")
    index.register("past", "mate")
    index.register("cancelled", "mate")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    index.set_event("past", EventState(now - timedelta(hours=1)))
    index.set_event("cancelled", EventState(now + timedelta(days=9), cancelled=True))
    index.set_event("upcoming", EventState(now + timedelta(days=9)))

    def shared() -> tuple[float, str | None]:
        result = index.score(me, only_weight("event"), at=now).for_id("mate")
        assert result is not None
        return result.components["event"], result.event_id

    assert shared() == (0.0, None)
    index.register("upcoming", "mate")
    assert shared() == (1.0, "upcoming")
    index.unregister("upcoming", "mate")
    index.register("unknown", "mate")  # not seen on the events topic yet: counts
    assert shared() == (1.0, "unknown")
    assert index.upcoming("past", None)  # without a time only cancellation matters
    assert not index.upcoming("cancelled", None)


def test_erased_profile_leaves_events_and_relations() -> None:
    index = index_of(profile("me"), profile("gone"))
    index.register("ev", "gone")
    index.set_relation("me", "gone", Relation.DECLINED)
    index.remove("gone")
    assert index.participants("ev") == frozenset()
    assert index.relation("me", "gone") is None


# ------------------------------------------------------------------------------ relations


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ({"website": "https://www.museum.example/en/"}, {"website": "http://Museum.example"}),
        ({"website": "museum.example"}, {"website": "https://museum.example/x"}),
    ],
)
def test_same_website_domain_is_the_same_organisation(
    mine: dict[str, str], theirs: dict[str, str]
) -> None:
    me = profile("me", needs=[("n", e(0))], offers=[("o", e(1))], **mine)
    twin = profile("twin", needs=[("n", e(1))], offers=[("o", e(0))], **theirs)
    index = index_of(me, twin)
    table = index.score(me)
    assert table.top() == []
    result = table.for_id("twin")
    assert result is not None
    assert result.components["same_organisation"] == 1.0
    assert result.blocked == "same_organisation" and not result.suggestible


def test_same_normalised_name_is_the_same_organisation() -> None:
    me = ProfileVectors(**{**profile("me").__dict__, "name": "Muzeum Śląskie, Katowice"})
    twin = ProfileVectors(**{**profile("twin").__dict__, "name": "MUZEUM slaskie katowice"})
    assert organisation_name(me.name) == organisation_name(twin.name)
    assert score_candidates(me, [twin, profile("other")])[0].candidate.id == "other"
    assert [r.candidate.id for r in score_candidates(me, [twin])] == []


def test_unknown_websites_are_not_the_same_organisation() -> None:
    assert website_domain(None) == website_domain("") == ""
    results = score_candidates(profile("a"), [profile("b")])
    assert results[0].components["same_organisation"] == 0.0


@pytest.mark.parametrize("relation", [Relation.DECLINED, Relation.PARTNERS])
def test_declined_and_partners_are_never_suggested_anew(relation: Relation) -> None:
    me, them = profile("me", languages=["en"]), profile("them", languages=["en"])
    index = index_of(me, them)
    index.set_relation("them", "me", relation)
    table = index.score(me)
    assert table.top() == [] and table.either_side_top(10, 0.0) == []
    result = table.for_id("them")
    assert result is not None and result.components[relation] == 1.0
    assert result.blocked == relation
    index.set_relation("me", "them", None)
    assert [r.candidate.id for r in index.score(me).top()] == ["them"]


# ------------------------------------------------------------------------------ either side


def test_either_side_top_adds_candidates_that_enter_their_own_top_k() -> None:
    """'me' ranks c1 > c2 > c3; with k=1 only c1 is in my own top-k. c3's k-th best standing
    match is below our score, so the pair enters c3's top-k; c2's is above it."""
    me = profile("me", kind="creative", languages=["en"])
    c1 = profile("c1", kind="heritage", languages=["en"])
    c2 = profile("c2", kind="research", languages=["en"])
    c3 = profile("c3", kind="creative", languages=["en"])
    index = index_of(me, c1, c2, c3)
    weights = Weights(reciprocal=0.0, looking_for=0.0, language=0.5, sector=0.5)
    index.set_kth_best("c2", 0.99)
    index.set_kth_best("c3", 0.2)
    table = index.score(me, weights)
    assert [(r.candidate.id, r.score) for r in table.top()] == [
        ("c1", 1.0),
        ("c2", 0.85),
        ("c3", 0.65),
    ]
    assert table.top_ids(1, 0.0) == {"c1"}
    assert [r.candidate.id for r in table.either_side_top(1, 0.0)] == ["c1", "c3"]
    assert [r.candidate.id for r in table.either_side_top(1, 0.7)] == ["c1"]  # threshold


def test_a_profile_with_fewer_than_k_matches_takes_any_pair_above_threshold() -> None:
    me = profile("me", languages=["en"])
    others = [profile(f"c{i}", languages=["en"]) for i in range(5)]
    table = index_of(me, *others).score(me)
    assert len(table.either_side_top(1, 0.05)) == 5
    assert table.either_side_top(1, 0.5) == []


# ------------------------------------------------------------------------------ reciprocity


def test_one_sided_text_fit_ranks_low_even_with_perfect_structure() -> None:
    configured = WeightSettings().weights()
    me = profile("me", kind="heritage", needs=[("n", e(0))], offers=[("o", e(1))])
    one_sided = profile(
        "one-sided",
        kind="creative",
        looking_for=["heritage"],
        country="PL",
        offers=[("x", e(0))],
    )
    two_way = profile("two-way", kind="heritage", offers=[("x", e(0))], needs=[("y", e(1))])
    me = ProfileVectors(**{**me.__dict__, "looking_for": frozenset({"creative"}), "country": "PL"})
    results = score_candidates(me, [one_sided, two_way], configured)
    assert [r.candidate.id for r in results] == ["two-way", "one-sided"]
    assert results[1].components["reciprocal"] == 0.0
    assert results[1].score < MatcherSettings().threshold


# ------------------------------------------------------------------------------ settings


def test_weights_and_matrix_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_MATCHER_WEIGHTS__SECTOR", "0.25")
    monkeypatch.setenv("TANDEM_MATCHER_SECTOR_MATRIX", '{"heritage": {"industry": 0.1}}')
    monkeypatch.setenv("TANDEM_MATCHER_GEOGRAPHY__NEIGHBOUR", "0.95")
    settings = MatcherSettings()
    assert settings.weights.weights().sector == 0.25
    assert settings.weights.weights().reciprocal == WeightSettings().reciprocal
    structure = settings.structure()
    assert structure.geography.neighbour == 0.95
    assert structure.sectors[KINDS.index("industry"), KINDS.index("heritage")] == 0.1


def test_default_configured_weights_sum_to_one() -> None:
    assert sum(WeightSettings().weights().as_dict().values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TANDEM_MATCHER_SECTOR_MATRIX", '{"heritage": {"bakery": 0.5}}'),
        ("TANDEM_MATCHER_WEIGHTS__SECTOR", "1.5"),
        ("TANDEM_MATCHER_GEOGRAPHY__OTHER", "-0.1"),
    ],
)
def test_bad_weight_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        MatcherSettings()
