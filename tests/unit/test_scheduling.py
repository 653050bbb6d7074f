"""The meeting scheduler on small hand-made events with a known best schedule."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tandem_events.domain.scheduling import (
    Placement,
    Problem,
    Request,
    Schedule,
    greedy_schedule,
    moved,
    repair,
    schedule,
    violations,
)
from tandem_events.domain.scheduling_board import Board
from tandem_events.domain.scheduling_greedy import polish
from tandem_events.domain.scheduling_instance import Instance, value_units
from tandem_events.domain.scheduling_local import improve

pytestmark = pytest.mark.unit

Solver = Callable[[Problem], Schedule]
SOLVERS: list[Solver] = [greedy_schedule, schedule]


def problem(
    requests: list[Request],
    *,
    slots: int = 3,
    tables: int = 2,
    caps: dict[str, int] | None = None,
    unavailable: dict[str, set[int]] | None = None,
) -> Problem:
    people = sorted({p for r in requests for p in (r.a, r.b)})
    unavailable = unavailable or {}
    return Problem(
        slots=tuple(range(slots)),
        tables=tuple(f"T{i + 1}" for i in range(tables)),
        availability={p: frozenset(range(slots)) - unavailable.get(p, set()) for p in people},
        caps=caps or {},
        requests=tuple(requests),
    )


def keys(result: Schedule) -> set[str]:
    return {p.key for p in result.placements}


@pytest.mark.parametrize("solve", SOLVERS)
def test_accepted_request_wins_the_only_table_over_a_better_scored_suggestion(
    solve: Solver,
) -> None:
    requests = [Request("acc", "a", "b", True, 0.1), Request("sug", "c", "d", False, 0.9)]
    result = solve(problem(requests, slots=1, tables=1))
    assert violations(problem(requests, slots=1, tables=1), result) == []
    assert keys(result) == {"acc"}


@pytest.mark.parametrize("solve", SOLVERS)
def test_fairness_gives_everyone_a_meeting_before_a_second_one(solve: Solver) -> None:
    # b is capped at one meeting: the high-score a-b pair would leave c alone if a took it
    # and then a-c could not happen in the single slot a shares with c.
    requests = [
        Request("ab", "a", "b", False, 0.9),
        Request("ac", "a", "c", False, 0.2),
        Request("bd", "b", "d", False, 0.3),
    ]
    p = problem(requests, slots=2, tables=1, caps={"b": 1})
    result = solve(p)
    assert violations(p, result) == []
    met = {x for pl in result.placements for x in (pl.a, pl.b)}
    assert met == {"a", "b", "c", "d"}
    assert keys(result) == {"ac", "bd"}


@pytest.mark.parametrize("solve", SOLVERS)
def test_one_meeting_per_pair_and_availability(solve: Solver) -> None:
    requests = [Request("r1", "a", "b", False, 0.5), Request("r2", "b", "a", True, 0.1)]
    p = problem(requests, slots=3, unavailable={"a": {0, 1}})
    result = solve(p)
    assert violations(p, result) == []
    assert [(pl.key, pl.slot) for pl in result.placements] == [("r2", 2)]


@pytest.mark.parametrize("solve", SOLVERS)
def test_meetings_are_packed_without_idle_gaps(solve: Solver) -> None:
    requests = [Request("ab", "a", "b", False, 0.5), Request("ac", "a", "c", False, 0.5)]
    p = problem(requests, slots=5, tables=1)
    result = solve(p)
    slots = sorted(pl.slot for pl in result.placements)
    assert len(slots) == 2 and slots[1] - slots[0] == 1


def test_violations_names_every_broken_invariant() -> None:
    requests = [Request("ab", "a", "b", False, 0.5), Request("ac", "a", "c", False, 0.5)]
    p = problem(requests, slots=2, tables=1, caps={"a": 1}, unavailable={"c": {0}})
    bad = Schedule(
        placements=(
            Placement("ab", "a", "b", 0, "T1"),
            Placement("ac", "a", "c", 0, "T1"),
            Placement("ab", "a", "b", 1, "T9"),
            Placement("zz", "a", "b", 1, "T1"),
        ),
        solver="greedy",
        optimal=False,
        value=0.0,
    )
    text = "\n".join(violations(p, bad))
    for expected in (
        "c is not available",
        "a double-booked in slot 0",
        "table T1 double-booked in slot 0",
        "unknown table",
        "unknown request zz",
        "request ab placed 2 times",
        "cap 1",
        "meets 3 times",
    ):
        assert expected in text


def test_moved_counts_meetings_in_both_schedules_that_changed_place() -> None:
    one = Schedule(
        (Placement("x", "a", "b", 0, "T1"), Placement("y", "c", "d", 0, "T2")), "greedy", False, 0
    )
    two = Schedule(
        (
            Placement("x", "a", "b", 0, "T1"),
            Placement("y", "c", "d", 1, "T2"),
            Placement("z", "e", "f", 0, "T2"),
        ),
        "repair",
        False,
        0,
    )
    assert moved(one, two) == 1
    assert moved(one, one) == 0


def test_repair_after_a_withdrawal_keeps_the_other_meetings_in_place() -> None:
    requests = [
        Request("ab", "a", "b", True, 0.5),
        Request("cd", "c", "d", False, 0.5),
        Request("ae", "a", "e", False, 0.4),
        Request("ce", "c", "e", False, 0.3),
    ]
    p = problem(requests, slots=3, tables=2)
    before = schedule(p)
    assert violations(p, before) == []
    gone = Problem(
        p.slots,
        p.tables,
        {k: v for k, v in p.availability.items() if k != "d"},
        p.caps,
        tuple(r for r in requests if "d" not in (r.a, r.b)),
    )
    after = repair(gone, before)
    assert violations(gone, after) == []
    assert after.solver.startswith("repair") and not after.optimal
    assert moved(before, after) == 0
    kept = {p.key for p in before.placements} - {"cd"}
    assert kept <= keys(after)


def test_repair_after_a_new_acceptance_displaces_only_what_is_in_the_way() -> None:
    requests = [
        Request("ab", "a", "b", False, 0.9),
        Request("cd", "c", "d", False, 0.8),
        Request("ef", "e", "f", False, 0.7),
    ]
    p = problem(requests, slots=1, tables=3)
    before = schedule(p, time_limit_s=2)
    assert keys(before) == {"ab", "cd", "ef"}
    # a now accepts a meeting with c: it needs a and c, so ab and cd must go; ef stays put.
    grown = Problem(
        p.slots, p.tables, p.availability, p.caps, (*requests, Request("ac", "a", "c", True, 0.1))
    )
    after = repair(grown, before, time_limit_s=2)
    assert violations(grown, after) == []
    assert keys(after) == {"ac", "ef"}
    assert moved(before, after) == 0
    table_of_ef = {pl.key: pl.table for pl in before.placements}["ef"]
    assert {pl.key: pl.table for pl in after.placements}["ef"] == table_of_ef


def board_with(p: Problem, placed: dict[str, int]) -> Board:
    board = Board(Instance(p))
    for key, slot in placed.items():
        board.place(board.instance.by_key[key], slot)
    return board


def test_polish_swaps_out_a_second_meeting_for_someone_with_none() -> None:
    # p can only meet q, and only in slot 0, where q meets x; q and x both have another
    # meeting, so dropping q-x for p-q covers p and leaves nobody without a meeting.
    requests = [
        Request("pq", "p", "q", False, 0.1),
        Request("qx", "q", "x", False, 0.9),
        Request("qy", "q", "y", False, 0.9),
        Request("xy", "x", "y", False, 0.9),
    ]
    p = problem(requests, slots=3, tables=2, unavailable={"p": {1, 2}})
    board = board_with(p, {"qx": 0, "qy": 1, "xy": 2})
    polish(board)
    assert board.slot_of == {"pq": 0, "qy": 1, "xy": 2}
    for solve in SOLVERS:
        # From scratch all four fit (p-q and x-y in slot 0), but then x or y waits a slot
        # between two meetings: breaks rank above the value of a suggestion.
        assert keys(solve(p)) == {"pq", "qy", "xy"}
    accepted = problem(
        [*requests[:1], Request("qx", "q", "x", True, 0.9), *requests[2:]],
        slots=3,
        tables=2,
        unavailable={"p": {1, 2}},
    )
    # The accepted q-x is placed and p still gets its only meeting; q-y would then leave
    # x or y a break.
    result = schedule(accepted)
    assert keys(result) == {"pq", "qx", "xy"}
    assert result.optimal and result.quality is not None and result.quality.breaks == 0


def test_local_search_relocates_meetings_into_an_idle_slot() -> None:
    p = problem(
        [Request("ab", "a", "b", False, 0.5), Request("ac", "a", "c", False, 0.5)],
        slots=4,
        tables=2,
    )
    board = board_with(p, {"ab": 0, "ac": 3})
    assert improve(board)
    assert board.instance.gaps(board.used["a"]) == 0
    assert sorted(board.slot_of) == ["ab", "ac"]


def test_local_search_swaps_with_the_meeting_that_blocks_the_idle_slot() -> None:
    # a idles in slot 1; ab can only get there if b's meeting with d moves to slot 0, and
    # ac cannot (c is away in slot 1).
    requests = [
        Request("ab", "a", "b", False, 0.5),
        Request("ac", "a", "c", False, 0.5),
        Request("bd", "b", "d", False, 0.5),
    ]
    p = problem(requests, slots=3, tables=3, unavailable={"c": {1}, "d": {2}})
    board = board_with(p, {"ab": 0, "ac": 2, "bd": 1})
    assert improve(board)
    assert board.slot_of == {"ab": 1, "ac": 2, "bd": 0}


def test_local_search_moves_a_blocking_meeting_to_place_another() -> None:
    # x and y can only meet in slot 0, where x meets z; z can also meet in slot 1.
    requests = [Request("xz", "x", "z", False, 0.5), Request("xy", "x", "y", False, 0.5)]
    p = problem(requests, slots=2, tables=2, unavailable={"y": {1}})
    board = board_with(p, {"xz": 0})
    polish(board)
    assert board.slot_of == {"xz": 0}  # the clean-up alone cannot place x-y
    assert improve(board)
    assert board.slot_of == {"xy": 0, "xz": 1}


def test_local_search_replaces_a_capped_participants_cheapest_suggestion() -> None:
    requests = [
        Request("ab", "a", "b", False, 0.1),
        Request("bd", "b", "d", False, 0.5),
        Request("ce", "c", "e", False, 0.5),
        Request("ac", "a", "c", False, 0.9),
    ]
    p = problem(requests, slots=3, tables=2, caps={"a": 1})
    board = board_with(p, {"ab": 0, "bd": 1, "ce": 0})
    before = value_units(board.instance, board.placed())
    assert improve(board)
    assert set(board.slot_of) == {"ac", "bd", "ce"}
    assert value_units(board.instance, board.placed()) > before


def test_local_search_never_moves_protected_meetings() -> None:
    p = problem(
        [Request("ab", "a", "b", False, 0.5), Request("ac", "a", "c", False, 0.5)],
        slots=4,
        tables=2,
    )
    board = board_with(p, {"ab": 0, "ac": 3})
    board.protected = {"ab", "ac"}
    assert not improve(board)
    assert board.slot_of == {"ab": 0, "ac": 3}


def test_solver_label_names_the_stages_that_produced_the_result() -> None:
    p = problem(
        [Request("ab", "a", "b", False, 0.5), Request("ac", "a", "c", False, 0.5)],
        slots=4,
        tables=1,
    )
    assert greedy_schedule(p).solver == "greedy"
    small = schedule(p, time_limit_s=5)
    assert small.solver.startswith("greedy") and small.optimal  # CP-SAT proves it
    no_cp_sat = schedule(p, time_limit_s=5, cp_sat_max_variables=0)
    assert "cp-sat" not in no_cp_sat.solver and not no_cp_sat.optimal
    assert no_cp_sat.value == small.value
