"""1:1 meeting scheduler for matching events (pure: no I/O).

Places accepted meeting requests first and then matcher suggestions into (slot, table),
maximising the objective documented in `scheduling_model` (accepted placed, then
participants covered, then mutual score, minus idle gaps), with no participant or table
double-booked, availability and caps respected, and at most one meeting per pair.
"""

from __future__ import annotations

from tandem_events.domain import scheduling_cpsat
from tandem_events.domain.scheduling_greedy import Board, greedy, placements, polish
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
        value=value_units(board.instance, board.placed()) / SCALE,
    )


def greedy_schedule(problem: Problem) -> Schedule:
    """The baseline and fallback: greedy placement plus local improvements."""
    return _finish(greedy(Instance(problem)), "greedy")


def schedule(problem: Problem, *, time_limit_s: float = 10.0, workers: int = 2) -> Schedule:
    """CP-SAT warm-started from the greedy schedule, within `time_limit_s`; the greedy
    schedule when CP-SAT finds nothing better in time."""
    instance = Instance(problem)
    base = greedy(instance)
    if not instance.requests:
        return _finish(base, "greedy")
    solved = scheduling_cpsat.solve(instance, hint=base, time_limit_s=time_limit_s, workers=workers)
    if solved is None:
        return _finish(base, "greedy")
    board, optimal = solved
    polish(board)  # a no-op on an optimal board; fixes up a time-limited one
    if value_units(instance, board.placed()) < value_units(instance, base.placed()):
        return _finish(base, "greedy")
    return _finish(board, "cp-sat", optimal=optimal)


def repair(problem: Problem, previous: Schedule, *, time_limit_s: float = 5.0) -> Schedule:
    """Re-schedule `problem` (the new state) keeping every previous placement that is still
    valid in its slot and table; new or freed capacity is filled greedily."""
    instance = Instance(problem)
    board = Board(instance)
    for placement in _still_valid(instance, previous):
        request = instance.by_key[placement.key]
        if board.fits(request, placement.slot):
            board.place(request, placement.slot)
    greedy(instance, board)
    polish(board)
    return _finish(board, "repair", previous=previous)


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
