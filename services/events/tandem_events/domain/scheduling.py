"""1:1 meeting scheduler for matching events (pure: no I/O).

Places accepted meeting requests first and then matcher suggestions into (slot, table),
maximising the objective documented in `scheduling_model` (accepted placed, then
participants covered, then mutual score, minus idle gaps), with no participant or table
double-booked, availability and caps respected, and at most one meeting per pair.

Strategy (size-aware, measured with bench/scheduler.py): greedy, then local search
(`scheduling_local`: gap compaction, swaps, eject-and-insert, replace, then iterated local
search for the time left), then — only for small models, where the time limit leaves room
to build the model — CP-SAT warm-started from the local-search schedule (it may find a
little more, and can prove optimality). `Schedule.solver`
names the stages that actually produced the result ("greedy", "greedy+ls",
"greedy+ls+cp-sat", "repair", "repair+cp-sat"); `optimal` is True only when CP-SAT proved
that no schedule has a higher value (never for a repair: it keeps previous placements).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from tandem_events.domain import scheduling_cpsat
from tandem_events.domain.scheduling_greedy import Board, greedy, placements
from tandem_events.domain.scheduling_local import improve, perturb
from tandem_events.domain.scheduling_model import (
    SCALE,
    Instance,
    Placement,
    Problem,
    Request,
    Schedule,
    moved,
    participant_gaps,
    value_units,
    violations,
)

__all__ = [
    "Placement",
    "Problem",
    "Request",
    "Schedule",
    "greedy_schedule",
    "moved",
    "participant_gaps",
    "repair",
    "schedule",
    "violations",
]

# Measured on the bench events (12 slots, 2 shared cores): after local search, CP-SAT still
# closes a few idle gaps at 60-200 participants (≤ ~10,000 x variables) given several
# seconds, and finds nothing better at 300, 500 or 1,000 participants in 8-15 s, while
# building its model takes 0.1-0.16 ms per x variable (≈5 s at 1,000 participants). Even
# at 100 participants iterated local search does far more (152 -> ~45 idle gaps) than
# CP-SAT after it (a few gaps); CP-SAT stays for small events because it can also prove
# optimality.
CP_SAT_MAX_VARIABLES = 10_000
# A repair re-optimises only the freed capacity: local search does it in 0.03-0.12 s at 100-200
# participants; CP-SAT (kept meetings fixed) then needed 1.2 s at 100 and improved 1 repair
# in 4 (slightly), 2-3 s at 200 and improved none of 4.
REPAIR_CP_SAT_MAX_VARIABLES = 5_000
BUILD_S_PER_VARIABLE = 0.0002  # a pessimistic estimate of model building
MIN_CP_SAT_SEARCH_S = 0.5  # less search than this after building is not worth the build
FINISH_S = 0.2  # kept back from CP-SAT for the polish/local search of its result


def _units(board: Board) -> int:
    return value_units(board.instance, board.placed())


def _finish(
    board: Board,
    solver: str,
    *,
    optimal: bool = False,
    previous: Schedule | None = None,
) -> Schedule:
    before = {p.key: (p.slot, p.table) for p in previous.placements} if previous else None
    return Schedule(
        placements=placements(board, before),
        solver=solver,
        optimal=optimal,
        value=_units(board) / SCALE,
    )


def greedy_schedule(problem: Problem) -> Schedule:
    """The baseline and fallback: greedy placement plus the fairness/accepted clean-up."""
    return _finish(greedy(Instance(problem)), "greedy")


def schedule(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    workers: int = 2,
    cp_sat_max_variables: int = CP_SAT_MAX_VARIABLES,
) -> Schedule:
    """Greedy, local search, then CP-SAT for small models; all within `time_limit_s` of
    wall time (the final clean-up of a stage may overrun it by a fraction of a second)."""
    started = time.perf_counter()
    deadline = started + time_limit_s
    instance = Instance(problem)
    board = greedy(instance)
    if not instance.requests:
        return _finish(board, "greedy", optimal=True)  # nothing to place: value 0 is optimal
    stages = ["greedy"]
    start = _units(board)
    # The final polish after the search costs at most about what greedy did: keep that back.
    reserve = min(time.perf_counter() - started, time_limit_s / 4)
    improve(board, deadline=deadline - reserve)
    perturb(board, deadline=_search_until(instance, deadline - reserve, cp_sat_max_variables))
    if _units(board) > start:
        stages.append("ls")
    optimal = False
    if _cp_sat_pays(instance, deadline, cp_sat_max_variables):
        solved = scheduling_cpsat.solve(
            instance, hint=board, deadline=deadline - FINISH_S, workers=workers
        )
        if solved is not None:
            found, proven = solved
            improve(found, deadline=deadline)  # a time-limited result may not be a local optimum
            if _units(found) > _units(board):
                board = found
                stages.append("cp-sat")
            # CP-SAT's proof covers every schedule, so it also proves an equal board optimal.
            optimal = proven and _units(board) >= _units(found)
    return _finish(board, "+".join(stages), optimal=optimal)


def _search_until(instance: Instance, deadline: float, cp_sat_max_variables: int) -> float:
    """When iterated local search must stop: half of the time left when CP-SAT runs next
    (it then gets the other half), else at `deadline`."""
    if scheduling_cpsat.variables(instance) > cp_sat_max_variables:
        return deadline
    now = time.perf_counter()
    return now + (deadline - now) / 2


def _cp_sat_pays(instance: Instance, deadline: float, max_variables: int) -> bool:
    size = scheduling_cpsat.variables(instance)
    if size == 0 or size > max_variables:
        return False
    left = deadline - time.perf_counter() - FINISH_S
    return left >= size * BUILD_S_PER_VARIABLE + MIN_CP_SAT_SEARCH_S


def repair(
    problem: Problem,
    previous: Schedule,
    *,
    time_limit_s: float = 5.0,
    workers: int = 2,
    cp_sat_max_variables: int = REPAIR_CP_SAT_MAX_VARIABLES,
) -> Schedule:
    """Re-schedule `problem` (the new state) moving as few meetings as possible.

    Every previous placement that is still valid (request, participants and slot still
    there; accepted ones first if they conflict) is kept in its slot, and its table when the
    table still exists; only the freed capacity is re-optimised (greedy, then local search
    that never moves a kept meeting, then CP-SAT with the kept meetings fixed for small
    models). The one exception: an accepted request that can only be placed by
    displacing suggestions displaces them (at most five per accepted request: both
    participants' meetings in its slot, one table, and one for each participant's cap).
    """
    deadline = time.perf_counter() + time_limit_s
    instance = Instance(problem)
    board = Board(instance)
    for placement in _still_valid(instance, previous):
        request = instance.by_key[placement.key]
        if board.fits(request, placement.slot):
            board.place(request, placement.slot)
    kept = dict(board.slot_of)
    board.protected = set(kept)
    greedy(instance, board)
    # Kept meetings an accepted request displaced in `greedy` are free from here on.
    kept = {key: slot for key, slot in kept.items() if board.slot_of.get(key) == slot}
    board.protected = set(kept)
    changed = [key for key in board.slot_of if key not in kept]
    changed += [p.key for p in previous.placements if p.key not in kept]
    improve(board, deadline=deadline, focus=_people(instance, previous, changed))
    stages = ["repair"]
    if _cp_sat_pays(instance, deadline, cp_sat_max_variables):
        solved = scheduling_cpsat.solve(
            instance, hint=board, deadline=deadline - FINISH_S, fixed=kept, workers=workers
        )
        if solved is not None:
            found, _ = solved
            found.protected = set(kept)
            improve(found, deadline=deadline)
            if _units(found) > _units(board):
                board = found
                stages.append("cp-sat")
    return _finish(board, "+".join(stages), previous=previous)


def _people(instance: Instance, previous: Schedule, keys: Iterable[str]) -> set[str]:
    """Participants of the given meeting keys, in the new instance or the previous schedule."""
    before = {p.key: (p.a, p.b) for p in previous.placements}
    people: set[str] = set()
    for key in keys:
        request = instance.by_key.get(key)
        people.update((request.a, request.b) if request else before.get(key, ()))
    return people


def _still_valid(instance: Instance, previous: Schedule) -> list[Placement]:
    """Previous placements whose request, participants and slot still exist, accepted
    requests first so that they win any conflict."""
    valid = []
    for placement in previous.placements:
        request = instance.by_key.get(placement.key)
        if request is None or {request.a, request.b} != {placement.a, placement.b}:
            continue
        if placement.slot in instance.common[placement.key]:
            valid.append(placement)
    return sorted(valid, key=lambda p: instance.by_key[p.key].accepted, reverse=True)
