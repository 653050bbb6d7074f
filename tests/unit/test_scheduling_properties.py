"""Property-based tests of the meeting scheduler on many generated small events.

What is proven for `schedule` (CP-SAT), `greedy_schedule` and `repair`, on every example:

* validity: `violations` is empty (no participant or table double-booked, availability,
  caps, known requests only, each request and each pair at most once);
* accepted first: an accepted request left out has, in every slot both participants can
  attend, a blocker made of accepted meetings only (one of the two already has an accepted
  meeting then, or every table holds an accepted meeting, or one of them has as many
  accepted meetings as their cap) — so no set of suggestions could be removed to place it;
* fairness: a participant with a placeable request and no meeting could not get one by
  adding it directly, nor by removing ONE suggestion whose two participants both have more
  than one meeting (in a repair: not one of the kept previous meetings);
* repair (after a withdrawal, or after a new accepted request): every previous accepted
  meeting that is still valid stays in its slot and table; every other still-valid previous
  meeting too, except at most five per accepted request that the repair newly placed
  (an accepted request displaces at most: both participants' meetings in its slot, one
  table's meeting and one meeting for each participant's cap); `moved` obeys the same bound.
* CP-SAT reports `optimal` with the same value as a brute-force search over every schedule.
* local search (`scheduling_local`): from any valid partial schedule, `improve` (and then
  `perturb`, the iterated local search) returns a valid schedule with all the properties above whose objective is never lower, and never
  moves a protected meeting except to make room for an accepted request it newly places
  (at most five per such request, as in a repair); a single `try_move` either leaves the
  board exactly as it was or leaves a valid board with a strictly higher objective.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import replace
from random import Random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem_events.domain.scheduling import (
    Problem,
    Request,
    Schedule,
    greedy_schedule,
    moved,
    repair,
    schedule,
    violations,
)
from tandem_events.domain.scheduling_greedy import Board, placements, polish
from tandem_events.domain.scheduling_local import improve, perturb, try_move
from tandem_events.domain.scheduling_model import SCALE, Instance, value_units

pytestmark = pytest.mark.unit

EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@st.composite
def problems(draw: st.DrawFn, max_people: int = 7, max_slots: int = 5) -> Problem:
    people = [f"p{i}" for i in range(draw(st.integers(2, max_people)))]
    slots = tuple(range(draw(st.integers(1, max_slots))))
    # Mostly available with a few holes, tight caps and few tables: conflicts are common.
    holes = st.sets(st.sampled_from(slots), max_size=max(1, len(slots) // 2))
    availability = {p: frozenset(slots) - draw(holes) for p in people}
    caps = {p: draw(st.integers(0, 3)) for p in people if draw(st.booleans())}
    pairs = st.tuples(st.sampled_from(people), st.sampled_from(people)).filter(
        lambda pair: pair[0] != pair[1]
    )
    drawn = draw(
        st.lists(st.tuples(pairs, st.booleans(), st.floats(0, 1)), min_size=1, max_size=14)
    )
    requests = tuple(
        Request(f"r{i}", a, b, accepted, round(score, 2))
        for i, ((a, b), accepted, score) in enumerate(drawn)
    )
    days = None
    if len(slots) > 2 and draw(st.booleans()):
        days = {slot: slot * 2 // len(slots) for slot in slots}
    tables = tuple(f"T{i}" for i in range(draw(st.integers(1, 2))))
    return Problem(slots, tables, availability, caps, requests, days)


def cap(problem: Problem, participant: str) -> int:
    return problem.caps.get(participant, len(problem.slots))


def assert_accepted_first(problem: Problem, result: Schedule) -> None:
    instance = Instance(problem)
    placed = {p.key: p for p in result.placements}
    accepted = [p for p in result.placements if instance.by_key[p.key].accepted]
    for request in instance.requests:
        if not request.accepted or request.key in placed:
            continue
        for slot in instance.common[request.key]:
            here = [p for p in accepted if p.slot == slot]
            busy = {x for p in here for x in (p.a, p.b)}
            owned = Counter(x for p in accepted for x in (p.a, p.b))
            blocked = (
                request.a in busy
                or request.b in busy
                or len(here) >= len(problem.tables)
                or owned[request.a] >= cap(problem, request.a)
                or owned[request.b] >= cap(problem, request.b)
            )
            assert blocked, f"accepted {request.key} could displace suggestions in slot {slot}"


def fits(
    problem: Problem, placements: list[tuple[str, str, int]], a: str, b: str, slot: int
) -> bool:
    busy = {x for pa, pb, s in placements if s == slot for x in (pa, pb)}
    count = Counter(x for pa, pb, _ in placements for x in (pa, pb))
    return (
        a not in busy
        and b not in busy
        and sum(1 for *_, s in placements if s == slot) < len(problem.tables)
        and count[a] < cap(problem, a)
        and count[b] < cap(problem, b)
    )


def assert_fair(
    problem: Problem, result: Schedule, protected: frozenset[str] = frozenset()
) -> None:
    instance = Instance(problem)
    meetings = Counter(x for p in result.placements for x in (p.a, p.b))
    current = [(p.a, p.b, p.slot) for p in result.placements]
    for participant, requests in instance.of_participant.items():
        if meetings[participant] > 0:
            continue
        for request, slot in ((r, s) for r in requests for s in instance.common[r.key]):
            assert not fits(problem, current, request.a, request.b, slot), (
                f"{participant} left without a meeting; {request.key} fits in slot {slot}"
            )
            for i, dropped in enumerate(result.placements):
                if (
                    instance.by_key[dropped.key].accepted
                    or dropped.key in protected
                    or meetings[dropped.a] < 2
                    or meetings[dropped.b] < 2
                ):
                    continue
                rest = current[:i] + current[i + 1 :]
                assert not fits(problem, rest, request.a, request.b, slot), (
                    f"{participant} left without a meeting; dropping {dropped.key} "
                    f"lets {request.key} into slot {slot}"
                )


def assert_all(problem: Problem, result: Schedule, protected: frozenset[str] = frozenset()) -> None:
    assert violations(problem, result) == []
    assert_accepted_first(problem, result)
    assert_fair(problem, result, protected)


@EXAMPLES
@given(problems())
def test_greedy_schedule_invariants(problem: Problem) -> None:
    assert_all(problem, greedy_schedule(problem))


@EXAMPLES
@given(problems())
def test_cp_sat_schedule_invariants(problem: Problem) -> None:
    result = schedule(problem, time_limit_s=5)
    assert_all(problem, result)
    assert result.value >= greedy_schedule(problem).value - 1e-9


def assert_repair_keeps(previous: Schedule, problem: Problem, repaired: Schedule) -> None:
    instance = Instance(problem)
    after = {p.key: (p.slot, p.table) for p in repaired.placements}
    before_keys = {p.key for p in previous.placements}
    still_valid = [
        p
        for p in previous.placements
        if p.key in instance.by_key and p.slot in instance.common[p.key]
    ]
    newly_accepted = sum(
        1 for key in after if key not in before_keys and instance.by_key[key].accepted
    )
    disturbed = [p for p in still_valid if after.get(p.key) != (p.slot, p.table)]
    assert all(not instance.by_key[p.key].accepted for p in disturbed)
    assert len(disturbed) <= 5 * newly_accepted
    assert moved(previous, repaired) <= 5 * newly_accepted


@EXAMPLES
@given(problems(), st.data())
def test_repair_after_a_withdrawal(problem: Problem, data: st.DataObject) -> None:
    solve = data.draw(st.sampled_from([greedy_schedule, schedule]))
    previous = solve(problem)
    gone = data.draw(st.sampled_from(sorted(problem.availability)))
    after = replace(
        problem,
        availability={p: s for p, s in problem.availability.items() if p != gone},
        requests=tuple(r for r in problem.requests if gone not in (r.a, r.b)),
    )
    repaired = repair(after, previous, time_limit_s=5)
    kept = frozenset(p.key for p in previous.placements if gone not in (p.a, p.b))
    assert_all(after, repaired, protected=kept)
    assert_repair_keeps(previous, after, repaired)


@EXAMPLES
@given(problems(), st.data())
def test_repair_after_a_new_acceptance(problem: Problem, data: st.DataObject) -> None:
    previous = schedule(problem, time_limit_s=5)
    people = sorted(problem.availability)
    a, b = data.draw(st.permutations(people))[:2]
    after = replace(problem, requests=(*problem.requests, Request("new", a, b, True, 0.5)))
    repaired = repair(after, previous, time_limit_s=5)
    assert_all(after, repaired, protected=frozenset(p.key for p in previous.placements))
    assert_repair_keeps(previous, after, repaired)


def brute_force_best(problem: Problem) -> int:
    instance = Instance(problem)
    options = [(None, *instance.common[r.key]) for r in instance.requests]
    best = 0
    for choice in itertools.product(*options):
        chosen = [(r, s) for r, s in zip(instance.requests, choice, strict=True) if s is not None]
        busy = Counter((x, s) for r, s in chosen for x in (r.a, r.b))
        per_slot = Counter(s for _, s in chosen)
        count = Counter(x for r, _ in chosen for x in (r.a, r.b))
        if (
            all(n == 1 for n in busy.values())
            and all(n <= len(instance.tables) for n in per_slot.values())
            and all(n <= instance.cap[x] for x, n in count.items())
        ):
            best = max(best, value_units(instance, [(r.key, s) for r, s in chosen]))
    return best


@settings(max_examples=40, deadline=None, derandomize=True)
@given(problems(max_people=5, max_slots=3).filter(lambda p: len(p.requests) <= 6))
def test_cp_sat_finds_the_brute_force_optimum(problem: Problem) -> None:
    result = schedule(problem, time_limit_s=5)
    assert result.optimal or not Instance(problem).requests
    assert round(result.value * SCALE) == brute_force_best(problem)


@EXAMPLES
@given(problems(), st.randoms(use_true_random=False))
def test_polish_makes_any_valid_partial_schedule_fair(problem: Problem, rng: Random) -> None:
    # What a time-limited CP-SAT run may return: any valid placement, here a random one.
    instance = Instance(problem)
    board = Board(instance)
    for request in rng.sample(instance.requests, len(instance.requests)):
        slots = [s for s in instance.common[request.key] if board.fits(request, s)]
        if slots:
            board.place(request, rng.choice(slots))
    polish(board)
    result = Schedule(placements(board), "test", False, 0.0)
    assert_all(problem, result)


def random_board(problem: Problem, rng: Random) -> Board:
    """Any valid placement of the requests, in random order and slots."""
    instance = Instance(problem)
    board = Board(instance)
    for request in rng.sample(instance.requests, len(instance.requests)):
        slots = [s for s in instance.common[request.key] if board.fits(request, s)]
        if slots and rng.random() < 0.8:
            board.place(request, rng.choice(slots))
    return board


def as_schedule(board: Board) -> Schedule:
    return Schedule(placements(board), "test", False, 0.0)


@EXAMPLES
@given(problems(max_people=8, max_slots=6), st.randoms(use_true_random=False))
def test_local_search_keeps_validity_and_never_lowers_the_objective(
    problem: Problem, rng: Random
) -> None:
    board = random_board(problem, rng)
    before = value_units(board.instance, board.placed())
    protected = {key: slot for key, slot in board.slot_of.items() if rng.random() < 0.5}
    board.protected = set(protected)
    accepted_before = {k for k in board.slot_of if board.instance.by_key[k].accepted}
    improve(board)
    improved = value_units(board.instance, board.placed())
    assert improved >= before
    assert_all(problem, as_schedule(board), protected=frozenset(protected))
    # Iterated local search, bounded by tries (not time) so that every run is the same.
    perturb(board, deadline=time.perf_counter() + 600, seed=rng.randrange(100), patience=20)
    assert value_units(board.instance, board.placed()) >= improved
    assert_all(problem, as_schedule(board), protected=frozenset(protected))
    newly_accepted = sum(
        1 for k in board.slot_of if board.instance.by_key[k].accepted and k not in accepted_before
    )
    disturbed = [k for k, slot in protected.items() if board.slot_of.get(k) != slot]
    assert len(disturbed) <= 5 * newly_accepted


@EXAMPLES
@given(problems(max_people=8, max_slots=6), st.randoms(use_true_random=False))
def test_a_move_is_kept_only_when_valid_and_strictly_better(problem: Problem, rng: Random) -> None:
    board = random_board(problem, rng)
    instance = board.instance
    for _ in range(20):
        before = dict(board.slot_of)
        value = value_units(instance, board.placed())
        removals = rng.sample(sorted(before), min(len(before), rng.randint(0, 2)))
        additions = [
            (request, rng.choice(instance.common[request.key]))
            for request in rng.sample(instance.requests, min(len(instance.requests), 2))
            if request.key not in before or request.key in removals
        ]
        if try_move(board, removals, additions):
            assert value_units(instance, board.placed()) > value
        else:
            assert board.slot_of == before
        assert violations(problem, as_schedule(board)) == []
