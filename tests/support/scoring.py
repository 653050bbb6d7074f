"""Small hand-made vectors and profiles for the scoring tests (no encoder)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from tandem_matcher.domain.scoring import (
    ProfileVectors,
)

DIM = 8


TOLERANCE = 1e-4  # scores and components are rounded to 4 decimals


Texts = Sequence[tuple[str, Sequence[float]]]


def unit(*weights: float) -> list[float]:
    """A DIM-dimensional unit vector with the given leading components."""
    vector = np.zeros(DIM)
    vector[: len(weights)] = weights
    return list(vector / np.linalg.norm(vector))


def e(i: int) -> list[float]:
    """The i-th basis vector."""
    return unit(*([0.0] * i), 1.0)


def matrix_of(texts: Texts) -> NDArray[np.float32]:
    if not texts:
        return np.zeros((0, DIM), np.float32)
    return np.array([vector for _, vector in texts], dtype=np.float32)


def profile(
    pid: str,
    *,
    needs: Texts = (),
    offers: Texts = (),
    hub: str = "h1",
    sharing: str = "hub",
    kind: str = "creative",
    looking_for: Sequence[str] = (),
    languages: Sequence[str] = (),
    country: str = "",
    region: str = "",
    website: str = "",
) -> ProfileVectors:
    return ProfileVectors(
        id=pid,
        name=pid.upper(),
        hub=hub,
        sharing=sharing,
        kind=kind,
        looking_for=frozenset(looking_for),
        languages=frozenset(languages),
        need_texts=tuple(text for text, _ in needs),
        offer_texts=tuple(text for text, _ in offers),
        needs=matrix_of(needs),
        offers=matrix_of(offers),
        country=country,
        region=region,
        website=website,
    )
