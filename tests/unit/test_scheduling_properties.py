"""Property-based tests of the meeting scheduler on many generated small events, with every
constraint of the model drawn at random: windows, pinned slots and tables, forbidden slots,
two persons with joint or separate agendas (and named attendees), caps and session caps,
precedences, several days and a break-spread limit.

What is proven for every solver path (`greedy_schedule`, `schedule` with CP-SAT, the exact
solver on its own, local search, `repair`), on every example, with `violations` (which
re-derives every rule from the `Problem`) as the oracle:

* validity: no agenda or table double-booked, availability, forbidden slots, windows, pins,
  attending persons, caps, session caps, precedences, each request and pair at most once;
* fixed and accepted first: one left out cannot be added even with every suggestion removed;
* fairness: a participant with a placeable request and no meeting could not get one by
  adding it, nor by removing ONE suggestion whose two participants both have more than one
  meeting (in a repair: not one of the kept previous meetings);
* repair (after a withdrawal, a new accepted request, or new per-meeting constraints): every
  previous meeting still valid stays in its slot, table and person, except what newly placed
  fixed or accepted requests displace (a bounded number each); `moved` obeys the same bound;
* CP-SAT reports `optimal` with the same rank as a brute-force search over every schedule,
  and its bounds (placements, breaks) never cut off that optimum;
* local search from any valid partial schedule never lowers the objective, keeps validity
  and never moves a protected meeting beyond what newly placed accepted requests displace;
  a single `try_move` either leaves the board as it was or makes it valid and strictly better.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from random import Random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem_events.domain import scheduling_exact
from tandem_events.domain.scheduling import (
    Problem,
    Request,
    Schedule,
    greedy_schedule,
    repair,
    schedule,
    violations,
)
from tandem_events.domain.scheduling_board import Board, placements
from tandem_events.domain.scheduling_greedy import polish
from tandem_events.domain.scheduling_instance import Instance, measure, value_units
from tandem_events.domain.scheduling_local import improve, perturb, try_move
from tests.support.scheduling_oracle import (
    assert_all,
    assert_repair_keeps,
    assert_valid,
    brute_force_best,
    brute_force_fewest_moves,
    disturbed,
    must_placed,
    problems,
    search_space,
)

pytestmark = pytest.mark.unit

EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def rank(problem: Problem, result: Schedule) -> tuple[int, ...]:
    instance = Instance(problem)
    chosen = []
    for p in result.placements:
        for key in instance.variants[p.key]:
            variant = instance.by_key[key]
            if (instance.person_of[variant.a], instance.person_of[variant.b]) == (
                p.person_a,
                p.person_b,
            ):
                chosen.append((key, p.slot))
    return measure(instance, chosen).rank()


@EXAMPLES
@given(problems())
def test_greedy_schedule_invariants(problem: Problem) -> None:
    assert_all(problem, greedy_schedule(problem))


@EXAMPLES
@given(problems())
def test_cp_sat_schedule_invariants(problem: Problem) -> None:
    result = schedule(problem, time_limit_s=5)
    assert_all(problem, result)
    assert rank(problem, result) >= rank(problem, greedy_schedule(problem))


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
@given(problems(), st.randoms(use_true_random=False))
def test_the_exact_solver_alone_returns_valid_schedules(problem: Problem, rng: Random) -> None:
    # CP-SAT's own answer, before any clean-up, from a random (valid) warm start.
    start = random_board(problem, rng)
    outcome = scheduling_exact.solve(
        start.instance, start, deadline=time.perf_counter() + 3, workers=1
    )
    assert_valid(problem, as_schedule(outcome.board))
    assert (
        measure(start.instance, outcome.board.placed()).rank()
        >= measure(start.instance, start.placed()).rank()
    )


def protected_only(problem: Problem, previous: Schedule) -> Schedule:
    """The repair without CP-SAT: kept meetings move only for displacements."""
    return repair(problem, previous, time_limit_s=5, cp_sat_max_variables=0)


@st.composite
def full_events(draw: st.DrawFn) -> tuple[Problem, tuple[str, str]]:
    """Tiny events where every meeting is accepted and slots run short, and a pair that
    newly accepts: often the new meeting only fits if others move."""
    people = [f"p{i}" for i in range(draw(st.integers(4, 5)))]
    slots = tuple(range(draw(st.integers(2, 3))))
    pairs = list(itertools.combinations(people, 2))
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=3, max_size=5, unique=True))
    requests = tuple(Request(f"r{i}", a, b, True, 0.5) for i, (a, b) in enumerate(chosen))
    new = draw(st.sampled_from([pair for pair in pairs if pair not in chosen]))
    tables = tuple(f"T{i}" for i in range(draw(st.integers(1, 2))))
    return Problem(slots, tables, {p: frozenset(slots) for p in people}, {}, requests), new


@settings(max_examples=150, deadline=None, derandomize=True)
@given(full_events())
def test_a_repair_that_moves_meetings_moves_the_fewest(
    event: tuple[Problem, tuple[str, str]],
) -> None:
    problem, (a, b) = event
    previous = schedule(problem, time_limit_s=5)
    after = replace(problem, requests=(*problem.requests, Request("new", a, b, True, 0.5)))
    repaired = repair(after, previous, time_limit_s=5)
    assert_valid(after, repaired)
    most, fewest = brute_force_fewest_moves(after, previous)
    assert must_placed(after, repaired) == most  # with or without moving others
    if "moves" in repaired.solver:
        assert disturbed(previous, repaired.placements) == fewest


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
    assert_repair_keeps(previous, after, repaired, protected_only(after, previous))


@EXAMPLES
@given(problems(), st.data())
def test_repair_after_a_new_acceptance(problem: Problem, data: st.DataObject) -> None:
    previous = schedule(problem, time_limit_s=5)
    people = sorted(problem.availability)
    a, b = data.draw(st.permutations(people))[:2]
    after = replace(problem, requests=(*problem.requests, Request("new", a, b, True, 0.5)))
    repaired = repair(after, previous, time_limit_s=5)
    assert_all(after, repaired, protected=frozenset(p.key for p in previous.placements))
    assert_repair_keeps(previous, after, repaired, protected_only(after, previous))


@EXAMPLES
@given(problems(), st.data())
def test_repair_after_new_constraints_on_meetings(problem: Problem, data: st.DataObject) -> None:
    # The organiser narrows a meeting's window and forbids a participant a slot.
    previous = greedy_schedule(problem)
    slots = st.frozensets(st.sampled_from(problem.slots), min_size=1)
    narrowed = data.draw(st.sampled_from(problem.requests))
    requests = tuple(
        replace(r, window=data.draw(slots)) if r.key == narrowed.key else r
        for r in problem.requests
    )
    who = data.draw(st.sampled_from(sorted(problem.availability)))
    forbidden = {**problem.forbidden, who: data.draw(slots)}
    after = replace(problem, requests=requests, forbidden=forbidden)
    repaired = repair(after, previous, time_limit_s=5)
    assert_all(after, repaired, protected=frozenset(p.key for p in previous.placements))
    assert_repair_keeps(previous, after, repaired, protected_only(after, previous))


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much],
)
@given(problems(max_people=5, max_slots=3).filter(lambda p: search_space(p) <= 20_000))
def test_cp_sat_finds_the_brute_force_optimum(problem: Problem) -> None:
    result = schedule(problem, time_limit_s=5)
    best = brute_force_best(problem)
    assert result.optimal or not Instance(problem).requests
    assert rank(problem, result) == best
    quality = result.quality
    assert quality is not None
    _, must, _, _, breaks, _ = best
    assert quality.must_bound >= must == quality.must_placed
    assert quality.breaks_bound <= -breaks == quality.breaks


@EXAMPLES
@given(problems(), st.randoms(use_true_random=False))
def test_polish_makes_any_valid_partial_schedule_fair(problem: Problem, rng: Random) -> None:
    # What a time-limited CP-SAT run may return: any valid placement, here a random one.
    board = random_board(problem, rng)
    polish(board)
    assert_all(problem, as_schedule(board))


@EXAMPLES
@given(problems(max_people=7, max_slots=6), st.randoms(use_true_random=False))
def test_local_search_keeps_validity_and_never_lowers_the_objective(
    problem: Problem, rng: Random
) -> None:
    board = random_board(problem, rng)
    instance = board.instance
    before = value_units(instance, board.placed())
    protected = {key: slot for key, slot in board.slot_of.items() if rng.random() < 0.5}
    board.protected = set(protected)
    accepted_before = {k for k in board.slot_of if instance.must(k)}
    improve(board)
    improved = value_units(instance, board.placed())
    assert improved >= before
    assert_all(
        problem, as_schedule(board), protected=frozenset(instance.group[k] for k in protected)
    )
    # Iterated local search, bounded by tries (not time) so that every run is the same.
    perturb(board, deadline=time.perf_counter() + 600, seed=rng.randrange(100), patience=20)
    assert value_units(instance, board.placed()) >= improved
    assert_all(
        problem, as_schedule(board), protected=frozenset(instance.group[k] for k in protected)
    )
    newly = [k for k in board.slot_of if instance.must(k) and k not in accepted_before]
    partners = sum(len(instance.order.get(instance.group[k], ())) for k in newly)
    disturbed = [k for k, slot in protected.items() if board.slot_of.get(k) != slot]
    assert len(disturbed) <= 7 * len(newly) + partners


@EXAMPLES
@given(problems(max_people=7, max_slots=6), st.randoms(use_true_random=False))
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
