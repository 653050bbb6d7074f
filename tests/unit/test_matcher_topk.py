"""Each profile's standing matches and k-th best score (the either-side top-k rule)."""

from __future__ import annotations

import math

import pytest

from tandem_matcher.domain.topk import TopScores

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
