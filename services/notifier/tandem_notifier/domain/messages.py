"""What a match notification says (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from tandem_shared.contracts import MatchData


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


def render_match(match: MatchData, name_a: str, name_b: str, *, updated: bool) -> Rendered:
    verb = "Updated match" if updated else "New partner match"
    return Rendered(
        title=f"{verb}: {name_a} ↔ {name_b} ({match.score:.0%})",
        body=f"Why: {match.explanation.summary}",
    )
