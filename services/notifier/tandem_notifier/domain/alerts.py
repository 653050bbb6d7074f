"""Which match alerts reach a hub's feed (pure): alerts calm enough to read.

A hub's feed is read by people; one bad alert costs more than a good one earns, and a
bulk import must not bury the feed under an alert per pair. A match alert goes into a
hub's feed only when
- its score is at least `min_score` (the matcher's calibrated threshold, or above), and
- neither organisation of the pair has already had `daily_cap` match alerts in that
  hub's feed today (UTC day); within a run the best scores go first.
The match itself is kept and listed either way (GET /v1/matches); only the feed and the
hub's webhooks stay quiet. Staff emails keep their own per-person cap (`policy.decide`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AlertPolicy:
    min_score: float = 0.0
    daily_cap: int = 3  # match alerts per organisation per hub feed per day


@dataclass(frozen=True)
class MatchAlert:
    hub: str  # the feed it would go to
    organisations: tuple[str, str]  # the pair's profile ids
    score: float


def admitted(
    alerts: Sequence[MatchAlert],
    alerted_today: Mapping[tuple[str, str], int],
    policy: AlertPolicy,
) -> list[bool]:
    """For each alert (in the given order): does it go into its hub's feed?
    `alerted_today[(hub, organisation)]` counts the match alerts already in that feed
    today about the organisation."""
    counts: Counter[tuple[str, str]] = Counter(alerted_today)
    decisions = [False] * len(alerts)
    best_first = sorted(range(len(alerts)), key=lambda i: -alerts[i].score)
    for i in best_first:
        alert = alerts[i]
        keys = [(alert.hub, organisation) for organisation in alert.organisations]
        if alert.score < policy.min_score:
            continue
        if any(counts[key] >= policy.daily_cap for key in keys):
            continue
        decisions[i] = True
        counts.update(keys)
    return decisions
