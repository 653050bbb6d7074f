"""Reciprocal, explainable scoring (pure: numpy only, no I/O).

s(A→B) is how well B's offers meet A's needs (best cosine over need-offer pairs);
the pair fuses both directions with a harmonic mean, so a one-sided fit ranks low. Every
candidate is scored with one matrix product per direction over the stacked texts of all
candidates, never a Python loop over candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]


@dataclass(frozen=True)
class ProfileVectors:
    id: str
    name: str
    hub: str
    sharing: str
    kind: str
    looking_for: frozenset[str]
    languages: frozenset[str]
    need_texts: tuple[str, ...]
    offer_texts: tuple[str, ...]
    needs: Vectors  # (n, d), L2-normalised
    offers: Vectors  # (m, d), L2-normalised


@dataclass(frozen=True)
class Weights:
    reciprocal: float = 0.8
    looking_for: float = 0.1
    language: float = 0.1


@dataclass(frozen=True)
class Scored:
    candidate: ProfileVectors
    score: float
    components: dict[str, float]
    best_a_need: tuple[str, str, float] | None  # (A's need, B's offer, similarity)
    best_b_need: tuple[str, str, float] | None  # (B's need, A's offer, similarity)


def may_match(a: ProfileVectors, b: ProfileVectors) -> bool:
    """Same hub, or both shared with the network; never a profile with itself."""
    if a.id == b.id:
        return False
    return a.hub == b.hub or (a.sharing == "network" and b.sharing == "network")


def harmonic(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    total = x + y
    return np.divide(2 * x * y, total, out=np.zeros_like(total), where=total > 0)


@dataclass
class _Stack:
    """The texts of many profiles stacked into one matrix, with who owns each row."""

    matrix: Vectors
    owner: NDArray[np.intp]
    texts: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, blocks: Sequence[Vectors], texts: Sequence[Sequence[str]], dim: int) -> _Stack:
        sizes = [len(block) for block in blocks]
        matrix = (
            np.vstack(blocks).astype(np.float32) if sum(sizes) else np.zeros((0, dim), np.float32)
        )
        owner = np.repeat(np.arange(len(blocks)), sizes)
        return cls(matrix=matrix, owner=owner, texts=[t for group in texts for t in group])


def _best_per_owner(
    similarity: NDArray[np.float32], owner: NDArray[np.intp], owners: int
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """For a (rows,) similarity vector over stacked rows: each owner's best value and row."""
    best = np.full(owners, -1.0)
    where = np.full(owners, -1, dtype=np.intp)
    if len(similarity) == 0:
        return best, where
    order = np.lexsort((-similarity, owner))  # by owner, best first within owner
    first = np.ones(len(order), dtype=bool)
    first[1:] = owner[order][1:] != owner[order][:-1]
    rows = order[first]
    best[owner[rows]] = similarity[rows]
    where[owner[rows]] = rows
    return best, where


def _direction(
    needs: Vectors, offers: _Stack, owners: int
) -> tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.intp]]:
    """How well each owner's offers meet these needs: best similarity, offer row, need row."""
    if len(needs) == 0 or len(offers.matrix) == 0:
        return np.zeros(owners), np.full(owners, -1, np.intp), np.full(owners, -1, np.intp)
    product = needs @ offers.matrix.T  # one matrix product: (n, M)
    need_row = product.argmax(axis=0)
    best_per_offer = product.max(axis=0)
    best, offer_row = _best_per_owner(best_per_offer, offers.owner, owners)
    need_of_owner = np.where(offer_row >= 0, need_row[np.maximum(offer_row, 0)], -1)
    return np.clip(best, 0.0, 1.0), offer_row, need_of_owner


def _overlap(a: frozenset[str], others: Sequence[frozenset[str]]) -> NDArray[np.float64]:
    return np.array([1.0 if a & other else 0.0 for other in others])


def score_candidates(
    profile: ProfileVectors, candidates: Sequence[ProfileVectors], weights: Weights = Weights()
) -> list[Scored]:
    """Score `profile` against every visible candidate, best first."""
    visible = [c for c in candidates if may_match(profile, c)]
    if not visible:
        return []
    dim = profile.needs.shape[1] if profile.needs.size else profile.offers.shape[1]
    offers = _Stack.of([c.offers for c in visible], [c.offer_texts for c in visible], dim)
    needs = _Stack.of([c.needs for c in visible], [c.need_texts for c in visible], dim)
    a_to_b, b_offer_row, a_need_row = _direction(profile.needs, offers, len(visible))
    b_to_a_raw = (
        needs.matrix @ profile.offers.T if len(needs.matrix) and len(profile.offers) else None
    )
    b_to_a, b_need_row, a_offer_row = _reverse(b_to_a_raw, needs, len(visible))
    reciprocal = harmonic(a_to_b, b_to_a)
    kind_fit = _kind_fit(profile, visible)
    language = (
        _overlap(profile.languages, [c.languages for c in visible])
        if profile.languages
        else np.zeros(len(visible))
    )
    score = np.clip(
        weights.reciprocal * reciprocal
        + weights.looking_for * kind_fit
        + weights.language * language,
        0.0,
        1.0,
    )
    results = []
    for i in np.argsort(-score):
        results.append(
            Scored(
                candidate=visible[i],
                score=round(float(score[i]), 4),
                components={
                    "a_needs_b_offers": round(float(a_to_b[i]), 4),
                    "b_needs_a_offers": round(float(b_to_a[i]), 4),
                    "reciprocal": round(float(reciprocal[i]), 4),
                    "looking_for": float(kind_fit[i]),
                    "language": float(language[i]),
                },
                best_a_need=_pair(
                    profile.need_texts, a_need_row[i], offers.texts, b_offer_row[i], a_to_b[i]
                ),
                best_b_need=_pair(
                    needs.texts, b_need_row[i], profile.offer_texts, a_offer_row[i], b_to_a[i]
                ),
            )
        )
    return results


def _reverse(
    product: NDArray[np.float32] | None, needs: _Stack, owners: int
) -> tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.intp]]:
    """How well this profile's offers meet each owner's needs, from the (N, m) product."""
    if product is None:
        return np.zeros(owners), np.full(owners, -1, np.intp), np.full(owners, -1, np.intp)
    offer_row = product.argmax(axis=1)
    best, need_row = _best_per_owner(product.max(axis=1), needs.owner, owners)
    offer_of_owner = np.where(need_row >= 0, offer_row[np.maximum(need_row, 0)], -1)
    return np.clip(best, 0.0, 1.0), need_row, offer_of_owner


def _kind_fit(profile: ProfileVectors, visible: Sequence[ProfileVectors]) -> NDArray[np.float64]:
    """1 when each side is a kind the other looks for, 0.5 when one side is, else 0."""
    wants = np.array([c.kind in profile.looking_for for c in visible], dtype=float)
    wanted = np.array([profile.kind in c.looking_for for c in visible], dtype=float)
    fit: NDArray[np.float64] = (wants + wanted) / 2
    return fit


def _pair(
    need_texts: Sequence[str],
    need_row: int,
    offer_texts: Sequence[str],
    offer_row: int,
    similarity: float,
) -> tuple[str, str, float] | None:
    if need_row < 0 or offer_row < 0:
        return None
    return need_texts[need_row], offer_texts[offer_row], round(float(similarity), 4)


def explain(a_name: str, b_name: str, scored: Scored) -> str:
    parts = []
    if scored.best_a_need:
        parts.append(
            f"{a_name} needs “{scored.best_a_need[0]}” ↔ {b_name} offers “{scored.best_a_need[1]}”"
        )
    if scored.best_b_need:
        parts.append(
            f"{b_name} needs “{scored.best_b_need[0]}” ↔ {a_name} offers “{scored.best_b_need[1]}”"
        )
    return "; ".join(parts) or "structural fit only"
