"""Learning component weights from outcomes: a bounded, explainable online update (pure).

A positive outcome (accepted, met, agreement, a follow-up) multiplies each weight by
exp(+rate · (c_i - mean c)), where c are the pair's components: components that were
high for that pair gain weight, low ones lose it. A negative outcome (declined, a poor
meeting) uses -rate. The weights are then renormalised to the configured total and clipped
to [0.5x, 2x] of their configured value, so no sequence of outcomes can silence a
component or let one take over, and a component configured at 0 stays 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tandem_matcher.domain.scoring import WEIGHTED, Weights

LOWER, UPPER = 0.5, 2.0  # bounds relative to the configured weight


@dataclass(frozen=True)
class Signal:
    """What an outcome says about the pair: +1 good match, -1 bad match, 0 nothing."""

    direction: int
    why: str


FEEDBACK_SIGNALS = {
    "accepted": Signal(1, "staff accepted the suggestion"),
    "met": Signal(1, "the organisations met"),
    "agreement": Signal(1, "the organisations agreed to partner"),
    "declined": Signal(-1, "staff declined the suggestion"),
}


def meeting_signal(outcome: str, rating: int | None) -> Signal:
    """A meeting outcome as a learning signal; a no-show says nothing about the fit."""
    if outcome in ("agreement", "follow_up"):
        return Signal(1, f"meeting outcome {outcome}")
    if outcome == "held" and rating is not None and rating >= 4:
        return Signal(1, f"meeting held, rated {rating}")
    if outcome == "held" and rating is not None and rating <= 2:
        return Signal(-1, f"meeting held, rated {rating}")
    return Signal(0, f"meeting outcome {outcome} carries no signal")


def nudge(
    current: Weights,
    configured: Weights,
    components: Mapping[str, float],
    direction: int,
    rate: float,
) -> Weights:
    """One online update of `current` towards (direction +1) or away from (-1) the
    components that were high for the pair."""
    if direction == 0 or rate == 0:
        return current
    values = np.array([float(components.get(name, 0.0)) for name in WEIGHTED])
    weights = np.array([getattr(current, name) for name in WEIGHTED], dtype=float)
    base = np.array([getattr(configured, name) for name in WEIGHTED], dtype=float)
    weights = weights * np.exp(direction * rate * (values - values.mean()))
    total = base.sum()
    # Renormalise, then clip; alternate until both hold (a few rounds at most).
    for _ in range(50):
        if weights.sum() > 0:
            weights = weights * (total / weights.sum())
        clipped = np.clip(weights, LOWER * base, UPPER * base)
        if np.allclose(clipped, weights, atol=1e-12):
            break
        weights = clipped
    weights = np.clip(weights, LOWER * base, UPPER * base)
    return Weights(
        **{name: round(float(value), 6) for name, value in zip(WEIGHTED, weights, strict=True)}
    )


def changes(before: Weights, after: Weights) -> dict[str, float]:
    """The per-component change of an update, for the log (the explanation)."""
    return {
        name: round(getattr(after, name) - getattr(before, name), 6)
        for name in WEIGHTED
        if getattr(after, name) != getattr(before, name)
    }
