"""A pair's score in words and in pair order (pure): which need met which offer, in
each direction, with profile A the one with the smaller id."""

from __future__ import annotations

from dataclasses import dataclass

from tandem_matcher.domain.scoring.model import ProfileVectors, Scored

TextMatch = tuple[str, str, float]  # (a need, the offer that meets it, similarity)

# An alert quotes at most this much of a need or an offer: keep.eu offers run to a
# paragraph, and staff read an alert to decide whether to open it, not to read it all.
EXCERPT_CHARACTERS = 200


def excerpt(text: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with "…" when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


@dataclass(frozen=True)
class PairExplanation:
    """A scored pair as the match shows it: components and texts oriented A → B."""

    components: dict[str, float]
    summary: str
    a_needs_b_offers: TextMatch | None
    b_needs_a_offers: TextMatch | None


def explain(a_name: str, b_name: str, scored: Scored) -> str:
    parts = []
    if scored.best_a_need:
        parts.append(
            f"{a_name} needs “{excerpt(scored.best_a_need[0])}” ↔ "
            f"{b_name} offers “{excerpt(scored.best_a_need[1])}”"
        )
    if scored.best_b_need:
        parts.append(
            f"{b_name} needs “{excerpt(scored.best_b_need[0])}” ↔ "
            f"{a_name} offers “{excerpt(scored.best_b_need[1])}”"
        )
    return "; ".join(parts) or "structural fit only"


def in_pair_order(profile: ProfileVectors, result: Scored) -> PairExplanation:
    """`result` (the profile scored against `result.candidate`) with A the smaller id:
    when the candidate is A, both directions swap."""
    if profile.id < result.candidate.id:
        summary = explain(profile.name, result.candidate.name, result)
        return PairExplanation(
            dict(result.components), summary, result.best_a_need, result.best_b_need
        )
    components = dict(result.components)
    components["a_needs_b_offers"], components["b_needs_a_offers"] = (
        components["b_needs_a_offers"],
        components["a_needs_b_offers"],
    )
    swapped = Scored(
        result.candidate, result.score, components, result.best_b_need, result.best_a_need
    )
    summary = explain(result.candidate.name, profile.name, swapped)
    return PairExplanation(components, summary, result.best_b_need, result.best_a_need)
