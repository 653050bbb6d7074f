"""The feed's alert policy (pure): a minimum score, and a daily cap of match alerts per
organisation per hub feed, best scores first."""

from __future__ import annotations

import pytest

from tandem_notifier.domain.alerts import AlertPolicy, MatchAlert, admitted

pytestmark = pytest.mark.unit


def alert(a: str, b: str, score: float, hub: str = "demo") -> MatchAlert:
    return MatchAlert(hub, (a, b), score)


def test_an_alert_below_the_minimum_score_stays_out_of_the_feed() -> None:
    policy = AlertPolicy(min_score=0.5, daily_cap=10)
    assert admitted([alert("a", "b", 0.49), alert("a", "c", 0.5)], {}, policy) == [False, True]


def test_each_organisation_gets_at_most_the_cap_best_first() -> None:
    policy = AlertPolicy(min_score=0.0, daily_cap=2)
    alerts = [alert("museum", f"o{i}", score) for i, score in enumerate([0.5, 0.9, 0.7, 0.8])]
    # the two best of the museum's four pairs, wherever they are in the run
    assert admitted(alerts, {}, policy) == [False, True, False, True]


def test_a_bulk_import_does_not_flood_the_feed() -> None:
    """500 organisations, each paired with its 15 neighbours: at most cap per organisation."""
    policy = AlertPolicy(min_score=0.0, daily_cap=1)
    alerts = [
        alert(f"o{i}", f"o{(i + step) % 500}", 0.5 + ((i * 7 + step) % 13) / 100)
        for i in range(500)
        for step in range(1, 16)
    ]
    decisions = admitted(alerts, {}, policy)
    per_org: dict[str, int] = {}
    for chosen, item in zip(decisions, alerts, strict=True):
        if chosen:
            for organisation in item.organisations:
                per_org[organisation] = per_org.get(organisation, 0) + 1
    assert max(per_org.values()) == 1
    assert sum(decisions) <= 250  # each alert uses up two organisations' cap


def test_alerts_already_in_the_feed_today_count_and_hubs_are_separate() -> None:
    policy = AlertPolicy(min_score=0.0, daily_cap=1)
    today = {("demo", "museum"): 1}
    alerts = [alert("museum", "x", 0.9), alert("museum", "x", 0.9, hub="other")]
    assert admitted(alerts, today, policy) == [False, True]
