"""The constraints issue 17 added to the scheduler, on small hand-made events: each one
held by every solver, the lower bound on breaks, `conflicts`, and repairs that move only
what the new state forces."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from tandem_events.domain import scheduling_exact
from tandem_events.domain.scheduling import (
    Placement,
    Problem,
    Request,
    Schedule,
    conflicts,
    greedy_schedule,
    moved,
    repair,
    schedule,
    violations,
)
from tandem_events.domain.scheduling_board import board_of
from tandem_events.domain.scheduling_bounds import breaks_lower_bound
from tandem_events.domain.scheduling_instance import Instance, measure

pytestmark = pytest.mark.unit

Solver = Callable[[Problem], Schedule]
SOLVERS: list[Solver] = [greedy_schedule, lambda p: schedule(p, time_limit_s=5)]


def event(requests: list[Request], *, slots: int = 4, tables: int = 2, **extra: object) -> Problem:
    people = sorted({p for r in requests for p in (r.a, r.b)})
    return Problem(
        slots=tuple(range(slots)),
        tables=tuple(f"T{i + 1}" for i in range(tables)),
        availability={p: frozenset(range(slots)) for p in people},
        caps={},
        requests=tuple(requests),
        **extra,  # type: ignore[arg-type]
    )


def at(result: Schedule) -> dict[str, Placement]:
    return {p.key: p for p in result.placements}


@pytest.mark.parametrize("solve", SOLVERS)
def test_a_window_keeps_a_meeting_in_its_session(solve: Solver) -> None:
    afternoon = frozenset({2, 3})
    p = event(
        [Request("ab", "a", "b", True, 0.5, window=afternoon)],
        session_of_slot={0: 0, 1: 0, 2: 1, 3: 1},
    )
    result = solve(p)
    assert violations(p, result) == []
    assert at(result)["ab"].slot in afternoon


@pytest.mark.parametrize("solve", SOLVERS)
def test_a_pinned_meeting_takes_its_slot_and_table(solve: Solver) -> None:
    p = event(
        [
            Request("ab", "a", "b", True, 0.9),
            Request("ac", "a", "c", True, 0.1, fixed_slot=2, fixed_table="T2"),
        ]
    )
    result = solve(p)
    assert violations(p, result) == []
    assert (at(result)["ac"].slot, at(result)["ac"].table) == (2, "T2")
    assert at(result)["ab"].slot in (1, 3)  # next to the pinned one: no break for a


@pytest.mark.parametrize("solve", SOLVERS)
def test_forbidden_slots_and_session_caps(solve: Solver) -> None:
    requests = [Request(f"a{x}", "a", x, True, 0.5) for x in "bcde"]
    p = event(
        requests,
        slots=6,
        tables=3,
        forbidden={"a": frozenset({0})},
        session_of_slot={0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1},
        session_caps={"a": 2},
    )
    result = solve(p)
    assert violations(p, result) == []
    slots = sorted(pl.slot for pl in result.placements)
    assert len(slots) == 4 and 0 not in slots
    assert sum(1 for s in slots if s < 3) == 2


@pytest.mark.parametrize("solve", SOLVERS)
def test_a_precedence_orders_two_meetings(solve: Solver) -> None:
    # The keynote speaker k meets a after the keynote (meeting k-x) only.
    p = event(
        [Request("ka", "k", "a", True, 0.9), Request("kx", "k", "x", True, 0.1)],
        precedences=(("kx", "ka"),),
    )
    result = solve(p)
    assert violations(p, result) == []
    assert at(result)["kx"].slot < at(result)["ka"].slot


def two_persons() -> Problem:
    """Org o meets a, b, c and d over two slots through two persons, x and y."""
    both = frozenset({0, 1})
    return event(
        [Request(f"o{x}", "o", x, True, 0.5) for x in "abcd"],
        slots=2,
        tables=2,
        persons={"o": {"x": both, "y": both}},
        separate=frozenset({"o"}),
    )


@pytest.mark.parametrize("solve", SOLVERS)
def test_separate_agendas_hold_two_meetings_at_once(solve: Solver) -> None:
    # Org o sends two persons with separate agendas: its four meetings fit in two slots.
    p = two_persons()
    result = solve(p)
    assert violations(p, result) == []
    assert len(result.placements) == 4
    assert {(pl.slot, pl.person_a) for pl in result.placements} == {
        (0, "x"),
        (0, "y"),
        (1, "x"),
        (1, "y"),
    }


@pytest.mark.parametrize("solve", SOLVERS)
def test_a_named_person_attends(solve: Solver) -> None:
    p = event(
        [Request("oa", "o", "a", True, 0.5, person_a="director")],
        persons={"o": {"director": frozenset({3}), "assistant": frozenset({0, 1, 2, 3})}},
        separate=frozenset({"o"}),
    )
    result = solve(p)
    assert violations(p, result) == []
    assert (at(result)["oa"].slot, at(result)["oa"].person_a) == (3, "director")


@pytest.mark.parametrize("solve", SOLVERS)
def test_joint_persons_meet_when_both_can(solve: Solver) -> None:
    p = event(
        [Request("oa", "o", "a", True, 0.5)],
        persons={"o": {"x": frozenset({1, 2}), "y": frozenset({2, 3})}},
    )
    result = solve(p)
    assert violations(p, result) == []
    assert at(result)["oa"].slot == 2 and at(result)["oa"].person_a is None


def triangle() -> list[Request]:
    """Three businesses meeting each other: whatever the order, the one whose two
    meetings come first and last waits in between (one break at best)."""
    return [
        Request("ab", "a", "b", True, 0.5),
        Request("ac", "a", "c", True, 0.5),
        Request("bc", "b", "c", True, 0.5),
    ]


def test_the_exact_solver_proves_breaks_above_the_isolation_bound() -> None:
    # Alone, each business can meet back to back (isolation bound 0); together one waits.
    p = event(triangle(), slots=5, tables=1)
    instance = Instance(p)
    assert breaks_lower_bound(instance)[0] == 0
    # Start from the worst order (slots 0, 2, 4: three breaks): a probe at one break must
    # allow each business the slack above everyone else's bound, else it proves a wrong
    # bound of three.
    start = board_of(instance, [("ab", 0), ("ac", 2), ("bc", 4)])
    assert measure(instance, start.placed()).breaks == 3
    outcome = scheduling_exact.solve(instance, start, deadline=time.perf_counter() + 10, workers=1)
    assert measure(instance, outcome.board.placed()).breaks == 1
    assert outcome.breaks_bound == 1 and outcome.proven


def test_the_isolation_bound_counts_breaks_forced_on_one_business() -> None:
    # a has a morning-only and an afternoon-only meeting and cannot meet in slots 1 and 2:
    # whatever else happens, a waits once.
    morning, afternoon = frozenset({0, 1}), frozenset({2, 3})
    p = event(
        [
            Request("ab", "a", "b", True, 0.5, window=morning),
            Request("ac", "a", "c", True, 0.5, window=afternoon),
        ],
        forbidden={"a": frozenset({1, 2})},
    )
    assert breaks_lower_bound(Instance(p))[0] == 1
    result = schedule(p, time_limit_s=5)
    assert result.quality is not None
    assert result.quality.breaks == result.quality.breaks_bound == 1
    assert result.quality.proven and result.optimal


def test_the_lower_bound_holds_only_for_fixed_and_accepted_requests() -> None:
    # A suggestion may be left out, so it forces nothing.
    p = event(
        [Request("ab", "a", "b", False, 0.5, window=frozenset({0}))],
        forbidden={"a": frozenset({1})},
    )
    assert breaks_lower_bound(Instance(p))[0] == 0


def test_break_spread_is_kept_and_reported() -> None:
    # The triangle leaves one business a break; d and e have none: spread 1 is within the
    # limit. (Whether spreading beats fewer breaks is checked against brute force by the
    # property tests.)
    p = event([*triangle(), Request("de", "d", "e", True, 0.5)], slots=4, tables=1, break_spread=1)
    result = schedule(p, time_limit_s=5)
    assert violations(p, result) == []
    assert result.quality is not None
    assert (result.quality.breaks, result.quality.spread) == (1, 1)
    assert result.optimal


def test_conflicts_name_what_cannot_hold() -> None:
    p = event(
        [
            Request("ab", "a", "b", True, 0.5, fixed_slot=1, fixed_table="T1"),
            Request("ac", "a", "c", True, 0.5, fixed_slot=1),
            Request("bd", "b", "d", True, 0.5, fixed_slot=2, window=frozenset({0})),
            Request("cd", "c", "d", True, 0.5, fixed_slot=1, fixed_table="T1"),
            Request("ce", "c", "e", True, 0.5, person_a="boss"),
        ],
        precedences=(("ab", "bd"), ("bd", "ab"), ("ab", "zz")),
    )
    text = "\n".join(conflicts(p))
    for expected in (
        "slot 1: 3 pinned meetings, 2 tables",
        "slot 1: table T1 pinned 2 times",
        "slot 1: a has 2 pinned meetings",
        "bd: pinned to slot 2, outside its window",
        "ce: boss is not a person of c",
        "unknown zz",
        "pinned the other way round",
        "the precedences form a cycle",
    ):
        assert expected in text
    assert conflicts(event(triangle())) == []


def test_violations_names_every_new_broken_rule() -> None:
    p = event(
        [
            Request("ab", "a", "b", True, 0.5, window=frozenset({0})),
            Request("ac", "a", "c", True, 0.5, fixed_slot=3, fixed_table="T2"),
            Request("od", "o", "d", True, 0.5, person_a="x"),
        ],
        forbidden={"b": frozenset({1})},
        persons={"o": {"x": frozenset({0, 1}), "y": frozenset({2})}},
        separate=frozenset({"o"}),
        session_of_slot={0: 0, 1: 0, 2: 1, 3: 1},
        session_caps={"a": 1},
        precedences=(("ab", "ac"),),
    )
    bad = Schedule(
        placements=(
            Placement("ab", "a", "b", 1, "T1"),
            Placement("ac", "a", "c", 0, "T1"),
            Placement("od", "o", "d", 2, "T1", person_a="y"),
        ),
        solver="test",
        optimal=False,
        value=0.0,
    )
    text = "\n".join(violations(p, bad))
    for expected in (
        "ab at slot 1 table T1 is outside its window",
        "b is not available for ab",
        "ac at slot 0 table T1 is pinned to slot 3",
        "pinned to table T2",
        "not attended by x of o",
        "2 meetings in session 0, cap 1",
        "ab must come before ac",
    ):
        assert expected in text


# --------------------------------------------------------------------------- repair


def test_repair_moves_only_the_meeting_a_new_window_excludes() -> None:
    requests = [Request(f"a{x}", "a", x, True, 0.5) for x in "bcd"] + [
        Request("ef", "e", "f", True, 0.5)
    ]
    p = event(requests, slots=4, tables=2)
    before = schedule(p, time_limit_s=5)
    slot_of = {pl.key: pl.slot for pl in before.placements}
    narrowed = "ab"
    window = frozenset(s for s in p.slots if s != slot_of[narrowed])
    after = replace(
        p, requests=tuple(replace(r, window=window) if r.key == narrowed else r for r in requests)
    )
    repaired = repair(after, before, time_limit_s=5)
    assert violations(after, repaired) == []
    assert moved(before, repaired) == 1
    assert {pl.key for pl in repaired.placements} == {r.key for r in requests}


def test_repair_moves_one_meeting_of_a_new_precedence_in_the_wrong_order() -> None:
    requests = [Request("ab", "a", "b", True, 0.5), Request("cd", "c", "d", True, 0.5)]
    p = event(requests, slots=3, tables=2)
    before = Schedule(
        (Placement("ab", "a", "b", 1, "T1"), Placement("cd", "c", "d", 0, "T2")),
        "stored",
        False,
        0.0,
    )
    after = replace(p, precedences=(("ab", "cd"),))
    repaired = repair(after, before, time_limit_s=5)
    assert violations(after, repaired) == []
    assert moved(before, repaired) == 1
    assert len(repaired.placements) == 2


def test_repair_after_a_person_leaves_keeps_the_other_persons_meetings() -> None:
    both = frozenset({0, 1})
    p = two_persons()
    before = schedule(p, time_limit_s=5)
    # y can now only stay for slot 0: y's meeting in slot 1 must go (there is no room
    # left for it), everything else stays where it was.
    after = replace(p, persons={"o": {"x": both, "y": frozenset({0})}})
    repaired = repair(after, before, time_limit_s=5)
    assert violations(after, repaired) == []
    assert moved(before, repaired) == 0
    kept = {pl.key for pl in before.placements if (pl.slot, pl.person_a) != (1, "y")}
    assert kept == {pl.key for pl in repaired.placements}


def test_a_new_acceptance_moves_one_accepted_meeting_to_fit() -> None:
    # Everything is accepted and a and c have no common free slot: the new a-c meeting
    # needs exactly one other meeting to move (c-y to slot 1, or a-x to slot 2).
    requests = [
        Request("ab", "a", "b", True, 0.5),
        Request("ax", "a", "x", True, 0.5),
        Request("cy", "c", "y", True, 0.5),
    ]
    p = event(requests, slots=3, tables=2)
    before = Schedule(
        (
            Placement("ab", "a", "b", 0, "T1"),
            Placement("ax", "a", "x", 1, "T1"),
            Placement("cy", "c", "y", 2, "T1"),
        ),
        "stored",
        False,
        0.0,
    )
    after = replace(p, requests=(*requests, Request("ac", "a", "c", True, 0.5)))
    protected_only = repair(after, before, time_limit_s=5, cp_sat_max_variables=0)
    assert "ac" not in at(protected_only) and moved(before, protected_only) == 0
    repaired = repair(after, before, time_limit_s=5)
    assert violations(after, repaired) == []
    assert "moves" in repaired.solver
    assert set(at(repaired)) == {"ab", "ax", "cy", "ac"}
    assert moved(before, repaired) == 1
