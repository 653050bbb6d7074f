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


def repair(
    problem: Problem, previous: Schedule, *, time_limit_s: float = 5.0, workers: int = 2
) -> Schedule:
    """Re-schedule `problem` (the new state) moving as few meetings as possible.

    Every previous placement that is still valid (request, participants and slot still
    there; accepted ones first if they conflict) is kept in its slot, and its table when the
    table still exists; only the freed capacity is re-optimised (greedy, then CP-SAT with the
    kept meetings fixed). The one exception: an accepted request that can only be placed by
    displacing suggestions displaces them (at most five per accepted request: both
    participants' meetings in its slot, one table, and one for each participant's cap).
    """
    instance = Instance(problem)
    base = Board(instance)
    for placement in _still_valid(instance, previous):
        request = instance.by_key[placement.key]
        if base.fits(request, placement.slot):
            base.place(request, placement.slot)
    kept = dict(base.slot_of)
    base.protected = set(kept)
    greedy(instance, base)
    # Kept meetings an accepted request displaced in `greedy` are free for CP-SAT too.
    kept = {key: slot for key, slot in kept.items() if base.slot_of.get(key) == slot}
    best = base
    if instance.requests:
        solved = scheduling_cpsat.solve(
            instance, hint=base, time_limit_s=time_limit_s, fixed=kept, workers=workers
        )
        if solved is not None:
            board, _ = solved
            board.protected = set(kept)
            polish(board)
            if value_units(instance, board.placed()) > value_units(instance, base.placed()):
                best = board
    return _finish(best, "repair", previous=previous)


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
