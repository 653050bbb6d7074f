"""What a match notification says (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from tandem_shared.contracts import MatchData, MatchWithdrawnData


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


def render_withdrawal(withdrawal: MatchWithdrawnData, name_a: str, name_b: str) -> Rendered:
    return Rendered(
        title=f"Match withdrawn: {name_a} ↔ {name_b}",
        body=f"This match is no longer suggested ({withdrawal.reason}).",
    )
