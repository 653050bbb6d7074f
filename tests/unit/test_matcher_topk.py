"""Each profile's standing matches and k-th best score (the either-side top-k rule)."""

from __future__ import annotations

import json
import math

import pytest

from tandem_matcher.domain.topk import TopScores, replay

pytestmark = pytest.mark.unit


def test_kth_is_minus_infinity_until_k_matches_stand() -> None:
    top = TopScores(k=2)
    assert top.kth("a") == -math.inf
    top.set("a", "b", 0.7)
    assert top.kth("a") == top.kth("b") == -math.inf
    top.set("a", "c", 0.5)
    assert top.kth("a") == 0.5
    assert top.kth("c") == -math.inf  # c has one match


def test_kth_follows_updates_and_removals_and_notifies() -> None:
    seen: dict[str, float] = {}
    top = TopScores(k=2, on_kth=seen.__setitem__)
    for other, score in (("b", 0.9), ("c", 0.6), ("d", 0.8)):
        top.set("a", other, score)
    assert top.kth("a") == 0.8 and seen["a"] == 0.8
    assert top.outside_top_k("a") == ["c"]
    assert top.in_top_k("a", "d") and not top.in_top_k("a", "c")
    top.set("a", "d", 0.5)  # d drops below c
    assert top.kth("a") == 0.6 and top.outside_top_k("a") == ["d"]
    top.remove("a", "b")
    assert top.kth("a") == 0.5 and seen["a"] == 0.5
    top.remove("a", "c")
    assert top.kth("a") == -math.inf and seen["a"] == -math.inf
    assert top.score("a", "c") is None and top.score("d", "a") == 0.5


def test_forget_removes_the_profile_from_every_list() -> None:
    top = TopScores(k=1)
    top.set("gone", "b", 0.9)
    top.set("b", "c", 0.4)
    assert top.outside_top_k("b") == ["c"]
    top.forget("gone")
    assert top.score("b", "gone") is None
    assert top.kth("b") == 0.4 and top.outside_top_k("b") == []
    assert top.kth("gone") == -math.inf


def test_a_staged_view_reads_its_own_changes_and_reaches_the_base_only_when_applied() -> None:
    seen: dict[str, float] = {}
    base = TopScores(k=1, on_kth=seen.__setitem__)
    base.set("a", "b", 0.5)
    view = base.staged()
    view.set("a", "c", 0.9)
    view.remove("a", "b")
    assert view.kth("a") == 0.9 and view.score("a", "b") is None
    assert view.outside_top_k("a") == []
    # Nothing reached the base (a rollback just drops the view).
    assert base.kth("a") == 0.5 and base.score("a", "b") == 0.5 and base.score("a", "c") is None
    assert seen == {"a": 0.5, "b": 0.5}
    view.apply()
    assert base.kth("a") == 0.9 and base.score("a", "b") is None and seen["c"] == 0.9
    assert seen["b"] == -math.inf


def test_a_staged_forget_then_set_starts_from_nothing() -> None:
    base = TopScores(k=2)
    base.set("gone", "b", 0.9)
    base.set("gone", "c", 0.8)
    view = base.staged()
    view.forget("gone")
    assert view.score("gone", "b") is None and view.kth("gone") == -math.inf
    view.set("gone", "d", 0.4)
    assert view.score("gone", "b") is None and view.kth("gone") == -math.inf
    assert base.score("gone", "b") == 0.9
    view.apply()
    assert base.score("gone", "b") is None and base.score("b", "gone") is None
    assert base.score("gone", "d") == 0.4


def test_a_views_changes_replayed_elsewhere_give_the_same_standing_scores() -> None:
    """Another replica replays a transaction's changes (`changes()`, via JSON) on its own
    copy and ends with the scores and k-th bests the writer's base has after commit."""
    writer, other = TopScores(k=2), TopScores(k=2)
    for top in (writer, other):
        top.set("a", "b", 0.9)
        top.set("a", "c", 0.4)
    view = writer.staged()
    view.set("a", "d", 0.7)
    view.remove("a", "b")
    view.forget("c")
    view.set("c", "e", 0.6)
    changes = json.loads(json.dumps(view.changes()))
    view.apply()
    replay(other, changes)
    for profile in "abcde":
        assert other.kth(profile) == writer.kth(profile)
        for partner in "abcde":
            assert other.score(profile, partner) == writer.score(profile, partner)
    assert writer.score("a", "d") == 0.7 and writer.score("a", "b") is None
