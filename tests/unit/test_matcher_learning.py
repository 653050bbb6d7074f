"""The online weight update learned from outcomes: direction, bounds, renormalisation."""

from __future__ import annotations

import numpy as np
import pytest

from tandem_matcher.domain.learning import (
    FEEDBACK_SIGNALS,
    LOWER,
    UPPER,
    changes,
    meeting_signal,
    nudge,
)
from tandem_matcher.domain.scoring import WEIGHTED, Weights
from tandem_matcher.settings import WeightSettings

pytestmark = pytest.mark.unit

CONFIGURED = WeightSettings().weights()
# A pair that fit on sector and language, not on text or geography.
PAIR = {"reciprocal": 0.2, "sector": 1.0, "looking_for": 0.5, "language": 1.0, "geography": 0.3}


def total(weights: Weights) -> float:
    return sum(weights.as_dict().values())


def test_positive_outcome_moves_weight_to_the_components_that_were_high() -> None:
    after = nudge(CONFIGURED, CONFIGURED, PAIR, +1, 0.1)
    assert after.sector > CONFIGURED.sector and after.language > CONFIGURED.language
    assert after.reciprocal < CONFIGURED.reciprocal and after.event < CONFIGURED.event
    assert total(after) == pytest.approx(total(CONFIGURED), abs=1e-5)
    assert set(changes(CONFIGURED, after)) == set(WEIGHTED)


def test_negative_outcome_moves_weight_away() -> None:
    after = nudge(CONFIGURED, CONFIGURED, PAIR, -1, 0.1)
    assert after.sector < CONFIGURED.sector and after.reciprocal > CONFIGURED.reciprocal
    assert total(after) == pytest.approx(total(CONFIGURED), abs=1e-5)


def test_no_signal_or_no_rate_changes_nothing() -> None:
    assert nudge(CONFIGURED, CONFIGURED, PAIR, 0, 0.1) is CONFIGURED
    assert nudge(CONFIGURED, CONFIGURED, PAIR, +1, 0.0) is CONFIGURED
    assert changes(CONFIGURED, CONFIGURED) == {}


@pytest.mark.parametrize("direction", [+1, -1])
def test_many_outcomes_stay_within_bounds(direction: int) -> None:
    weights = CONFIGURED
    for _ in range(500):
        weights = nudge(weights, CONFIGURED, PAIR, direction, 0.3)
    values = np.array([getattr(weights, name) for name in WEIGHTED])
    base = np.array([getattr(CONFIGURED, name) for name in WEIGHTED])
    assert (values >= LOWER * base - 1e-9).all() and (values <= UPPER * base + 1e-9).all()
    assert values.sum() == pytest.approx(base.sum(), abs=0.02)
    # Pushed all the way: the favoured component sits at its upper or lower bound.
    favoured = weights.sector / CONFIGURED.sector
    assert favoured == pytest.approx(UPPER if direction > 0 else LOWER, abs=0.05)


def test_a_component_configured_at_zero_stays_zero() -> None:
    configured = Weights(reciprocal=0.7, looking_for=0.1, language=0.2)  # no sector etc.
    after = nudge(configured, configured, PAIR, +1, 0.3)
    assert after.sector == after.geography == after.event == 0.0
    assert total(after) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("outcome", "rating", "direction"),
    [
        ("agreement", None, 1),
        ("follow_up", None, 1),
        ("held", 5, 1),
        ("held", 3, 0),
        ("held", None, 0),
        ("held", 1, -1),
        ("no_show", None, 0),
    ],
)
def test_meeting_signals(outcome: str, rating: int | None, direction: int) -> None:
    signal = meeting_signal(outcome, rating)
    assert signal.direction == direction and outcome in signal.why


def test_feedback_signals() -> None:
    assert {name: s.direction for name, s in FEEDBACK_SIGNALS.items()} == {
        "accepted": 1,
        "met": 1,
        "agreement": 1,
        "declined": -1,
    }
