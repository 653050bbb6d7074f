"""Calibration of the component weights and threshold (pure) on synthetic labelled
queries: an informative component earns weight, a noisy one does not, and the threshold
separates right partners from the rest."""

from __future__ import annotations

import numpy as np
import pytest

from tandem_matcher.domain.scoring.calibration import (
    FITTED,
    LabelledQuery,
    best_threshold,
    coordinate_search,
    cross_validate,
    mean_reciprocal_rank,
    rank_of_target,
)

pytestmark = pytest.mark.unit

SECTOR, GEOGRAPHY = FITTED.index("sector") - 1, FITTED.index("geography") - 1


def synthetic(
    queries: int, informative: str, seed: int = 7, candidates: int = 30
) -> list[LabelledQuery]:
    """Queries whose right partner (row 0) has a text score a bit above the others' on
    average, noise everywhere, and one structured component that is 1 for the right
    partner and for a third of the others (informative) while the others are random."""
    rng = np.random.default_rng(seed)
    column = FITTED.index(informative)
    result = []
    for group in range(queries):
        components = rng.random((candidates, len(FITTED)))
        components[:, 0] = rng.normal(0.5, 0.1, candidates)
        components[0, 0] += 0.08
        components[:, column] = rng.random(candidates) < 1 / 3
        components[0, column] = 1.0
        result.append(LabelledQuery(components, 0, group))
    return result


def test_rank_counts_ties_against_the_target() -> None:
    components = np.array([[0.5, 0, 0, 0, 0], [0.5, 0, 0, 0, 0], [0.2, 0, 0, 0, 0]], float)
    query = LabelledQuery(components, 0, 0)
    assert rank_of_target(query, np.zeros(4)) == 2
    assert mean_reciprocal_rank([query], np.zeros(4)) == 0.5


def test_an_informative_component_earns_weight_and_a_random_one_does_not() -> None:
    queries = synthetic(60, "sector")
    weights = coordinate_search(queries)
    assert weights[SECTOR] > 0
    assert mean_reciprocal_rank(queries, weights) > mean_reciprocal_rank(queries, np.zeros(4))
    result = cross_validate(queries)
    assert result.earns["sector"]
    assert not result.earns["geography"]  # random for right partners and others alike
    assert result.weights[GEOGRAPHY] == 0
    assert result.held_out_fitted > result.held_out_text
    assert 1 - result.weights.sum() >= 0.5  # the text keeps at least half


def test_the_threshold_maximises_f1() -> None:
    positives = np.array([0.7, 0.65, 0.6, 0.4])
    negatives = np.array([0.55, 0.5, 0.45, 0.3, 0.2])
    # at 0.6: 3 of 4 found, no false one (F1 0.857); lower ones add more false than true
    assert best_threshold(positives, negatives) == pytest.approx(0.6)
