"""1:1 meeting scheduler for matching events (pure: no I/O).

Places fixed meetings and accepted requests first, then gives everyone who can meet a
meeting, then minimises breaks in people's days (and their spread, when limited), then
places the most valuable suggestions with the fewest idle slots (`scheduling_model`), with
no agenda or table double-booked and every constraint of the model kept.

Strategy (size-aware, measured with bench/scheduler.py): greedy, then local search
(`scheduling_local`), then for models CP-SAT can build in the time, the exact solver
(`scheduling_exact`: tier by tier, warm-started from the local search, with a proven lower
bound on breaks). `Schedule.solver` names the stages that produced the result ("greedy",
"greedy+ls", "greedy+ls+cp-sat", "repair", "repair+cp-sat"); `optimal` is True only when
every tier is proven; `quality` has the counts and the proven bounds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from tandem_events.domain import scheduling_cpsat, scheduling_exact
from tandem_events.domain.scheduling_board import Board, board_of, placements
from tandem_events.domain.scheduling_bounds import breaks_lower_bound
from tandem_events.domain.scheduling_checks import (
    agenda_costs,
    conflicts,
    participant_gaps,
    violations,
)
from tandem_events.domain.scheduling_greedy import greedy
from tandem_events.domain.scheduling_instance import Instance, measure
from tandem_events.domain.scheduling_local import improve, perturb
from tandem_events.domain.scheduling_model import (
    SCALE,
    Placement,
    Problem,
    Quality,
    Request,
    Schedule,
    moved,
    slots_of_sessions,
)

__all__ = [
    "Placement",
    "Problem",
    "Quality",
    "Request",
    "Schedule",
    "agenda_costs",
    "conflicts",
    "greedy_schedule",
    "moved",
    "participant_gaps",
    "repair",
    "schedule",
    "slots_of_sessions",
    "violations",
]

# Building the CP-SAT model costs 0.1-0.2 ms per x variable; past ~10,000 of them (about
# 200 participants with suggestions over 12 slots) the build eats the time limit and local
# search does more with the time (measured with bench/scheduler.py).
CP_SAT_MAX_VARIABLES = 10_000
REPAIR_CP_SAT_MAX_VARIABLES = 5_000
BUILD_S_PER_VARIABLE = 0.0002  # a pessimistic estimate of one model build
MIN_CP_SAT_SEARCH_S = 0.5  # less search than this after building is not worth the build
FINISH_SHARE = 0.05  # of the time limit, kept back from CP-SAT for the clean-up of its result
# With CP-SAT to follow, local search only prepares its warm start: on forum-sized events the
# exact solver proves the best breaks in about a second from there.
SEARCH_SHARE_BEFORE_CP_SAT = 0.2


def greedy_schedule(problem: Problem) -> Schedule:
    """The baseline and fallback: greedy placement plus the fairness/accepted clean-up."""
    instance = Instance(problem)
    return _finish(greedy(instance), "greedy")


def schedule(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    workers: int = 2,
    cp_sat_max_variables: int = CP_SAT_MAX_VARIABLES,
) -> Schedule:
    """Greedy, local search, then the exact solver for models it can build in time; all
    within `time_limit_s` of wall time (the final clean-up may overrun it by a fraction of
    a second)."""
    started = time.perf_counter()
    deadline = started + time_limit_s
    instance = Instance(problem)
    board = greedy(instance)
    if not instance.requests:
        return _finish(board, "greedy", optimal=True, started=started)  # nothing to place
    stages = ["greedy"]
    start = _rank(board)
    exact = _cp_sat_pays(instance, deadline, cp_sat_max_variables)
    # The final polish after the search costs at most about what greedy did: keep that back.
    reserve = min(time.perf_counter() - started, time_limit_s / 4)
    until = deadline - reserve
    if exact:
        until = min(until, started + time_limit_s * SEARCH_SHARE_BEFORE_CP_SAT)
    improve(board, deadline=until)
    perturb(board, deadline=until)
    if _rank(board) > start:
        stages.append("ls")
    if not (exact and _cp_sat_pays(instance, deadline, cp_sat_max_variables)):
        return _finish(board, "+".join(stages), started=started)
    outcome = scheduling_exact.solve(
        instance, board, deadline=deadline - FINISH_SHARE * time_limit_s, workers=workers
    )
    found = board_of(instance, outcome.board.placed())
    improve(found, deadline=deadline)  # a time-limited result may not be a local optimum
    if _rank(found) > _rank(board):
        board = found
        stages.append("cp-sat")
    # The proofs cover every schedule, so they also hold for an equally good board.
    proven = _rank(board) >= _rank(found)
    proven_at = outcome.proven_at if proven else None
    return _finish(
        board,
        "+".join(stages),
        optimal=proven and outcome.optimal,
        bounds=(outcome.must_bound, outcome.breaks_bound, proven and outcome.proven),
        started=started,
        proven_at=proven_at,
    )


def _rank(board: Board) -> tuple[int, ...]:
    return measure(board.instance, board.placed()).rank()


def _cp_sat_pays(instance: Instance, deadline: float, max_variables: int) -> bool:
    size = scheduling_cpsat.variables(instance)
    if size == 0 or size > max_variables:
        return False
    left = deadline - time.perf_counter()
    return left >= size * BUILD_S_PER_VARIABLE + MIN_CP_SAT_SEARCH_S


def _finish(
    board: Board,
    solver: str,
    *,
    optimal: bool = False,
    previous: Schedule | None = None,
    bounds: tuple[int, int, bool] | None = None,
    started: float | None = None,
    proven_at: float | None = None,
) -> Schedule:
    """The schedule of `board`; `bounds` = (must bound, breaks bound, proven) from the exact
    solver, else the trivial bound on placements and the isolation bound on breaks."""
    instance = board.instance
    found = measure(instance, board.placed())
    must_total = sum(1 for group in instance.original if instance.must(group))
    if bounds is None:
        all_placed = found.must == must_total
        # The isolation bound takes ~1 s at 2,000 participants: only where CP-SAT would run.
        small = scheduling_cpsat.variables(instance) <= CP_SAT_MAX_VARIABLES
        breaks_bound = breaks_lower_bound(instance)[0] if all_placed and small else 0
        breaks_bound = min(breaks_bound, found.breaks)
        # Trivially proven: everything placed, everyone covered, the bound on breaks met.
        trivial = all_placed and found.covered == len(instance.participants)
        trivial = trivial and found.excess == 0 and found.breaks == breaks_bound
        bounds = (must_total, breaks_bound, optimal or trivial)
    must_bound, breaks_bound, proven = bounds
    before = {p.key: (p.slot, p.table) for p in previous.placements} if previous else None
    histogram = [board.breaks[agenda] for agenda in instance.of_agenda]
    quality = Quality(
        placed=len(board.slot_of),
        placeable=len(instance.original),
        must=must_total,
        must_placed=found.must,
        must_bound=must_bound,
        covered=found.covered,
        breaks=found.breaks,
        breaks_bound=breaks_bound,
        idle=found.idle,
        spread=max(histogram) - min(histogram) if histogram else 0,
        proven=proven,
        proof_s=_seconds(started, proven_at if proven_at is not None else time.perf_counter())
        if proven
        else None,
    )
    return Schedule(
        placements=placements(board, before),
        solver=solver,
        optimal=optimal,
        value=found.units / SCALE,
        quality=quality,
    )


def _seconds(started: float | None, at: float) -> float | None:
    return None if started is None else round(at - started, 3)


def repair(
    problem: Problem,
    previous: Schedule,
    *,
    time_limit_s: float = 5.0,
    workers: int = 2,
    cp_sat_max_variables: int = REPAIR_CP_SAT_MAX_VARIABLES,
) -> Schedule:
    """Re-schedule `problem` (the new state) moving as few meetings as possible.

    Every previous placement that is still valid (request, participants, attending person
    and slot still possible; fixed and accepted ones first if they conflict) is kept in its
    slot, and its table when the table still exists; only the freed capacity is re-optimised
    (greedy, then local search that never moves a kept meeting, then the exact solver with
    the kept meetings pinned, for small models). The exceptions: a fixed or accepted
    request that can only be placed by displacing suggestions displaces them (at most those
    of its agendas in its slot, one table, one per cap and session cap, and its precedence
    partners); and when fixed or accepted requests are still unplaced after that, CP-SAT
    (small models) looks for the schedule that places more of them disturbing the fewest
    kept meetings ("moves" in the solver label). The breaks bound reported is the isolation
    bound, which holds for every schedule (the exact solver's would only hold given the
    kept meetings).
    """
    deadline = time.perf_counter() + time_limit_s
    instance = Instance(problem)
    board = Board(instance)
    for key, slot in _still_valid(instance, previous):
        request = instance.by_key[key]
        if board.fits(request, slot):
            board.place(request, slot)
    valid = dict(board.slot_of)
    board.protected = set(valid)
    greedy(instance, board)
    # Kept meetings a fixed or accepted request displaced in `greedy` are free from here on.
    kept = {key: slot for key, slot in valid.items() if board.slot_of.get(key) == slot}
    board.protected = set(kept)
    changed = [key for key in board.slot_of if key not in kept]
    improve(board, deadline=deadline, focus=_agendas(instance, previous, changed, kept))
    stages = ["repair"]
    pays = _cp_sat_pays(instance, deadline, cp_sat_max_variables)
    moved_for = _place_by_moving(board, valid, deadline, workers) if pays else None
    if moved_for is not None:
        board, kept = moved_for
        stages.append("moves")
    if pays and _cp_sat_pays(instance, deadline, cp_sat_max_variables):
        outcome = scheduling_exact.solve(
            instance,
            board,
            deadline=deadline - FINISH_SHARE * time_limit_s,
            workers=workers,
            kept=kept,
        )
        found = board_of(instance, outcome.board.placed())
        found.protected = set(kept)
        improve(found, deadline=deadline)
        if _rank(found) > _rank(board):
            board = found
            stages.append("cp-sat")
    return _finish(board, "+".join(stages), previous=previous)


def _place_by_moving(
    board: Board, valid: dict[str, int], deadline: float, workers: int
) -> tuple[Board, dict[str, int]] | None:
    """When fixed or accepted requests are still unplaced, the schedule that places more of
    them disturbing the fewest still-valid previous meetings, and what it keeps; None when
    nothing better is found (in at most half the time left)."""
    instance = board.instance
    before = measure(instance, board.placed())
    if before.must == sum(1 for group in instance.original if instance.must(group)):
        return None
    until = time.perf_counter() + (deadline - time.perf_counter()) / 2
    found = scheduling_exact.fewest_moves(instance, board, valid, deadline=until, workers=workers)
    if found is None:
        return None
    after = measure(instance, found.placed())
    if (after.fixed, after.must) <= (before.fixed, before.must):
        return None
    kept = {key: slot for key, slot in valid.items() if found.slot_of.get(key) == slot}
    result = board_of(instance, found.placed())
    result.protected = set(kept)
    improve(result, deadline=deadline)
    return result, kept


def _agendas(
    instance: Instance, previous: Schedule, changed: Iterable[str], kept: dict[str, int]
) -> set[str]:
    """Agendas of the changed variants, and of the previous meetings not kept."""
    agendas: set[str] = set()
    for key in changed:
        variant = instance.by_key[key]
        agendas.update((variant.a, variant.b))
    kept_groups = {instance.group[key] for key in kept}
    for placement in previous.placements:
        if placement.key in kept_groups:
            continue
        for participant, person in (
            (placement.a, placement.person_a),
            (placement.b, placement.person_b),
        ):
            for agenda in instance.agendas_of.get(participant, ()):
                if person is None or instance.person_of[agenda] == person:
                    agendas.add(agenda)
    return agendas


def _still_valid(instance: Instance, previous: Schedule) -> list[tuple[str, int]]:
    """(variant key, slot) of the previous placements whose request, participants, persons
    and slot are still possible, fixed and accepted requests first so that they win any
    conflict."""
    valid = []
    for placement in previous.placements:
        request = instance.original.get(placement.key)
        if request is None or {request.a, request.b} != {placement.a, placement.b}:
            continue
        persons = {placement.a: placement.person_a, placement.b: placement.person_b}
        for key in instance.variants[request.key]:
            variant = instance.by_key[key]
            same = all(
                instance.person_of[agenda] == persons[instance.owner[agenda]]
                for agenda in (variant.a, variant.b)
            )
            if same and placement.slot in instance.allowed[key]:
                valid.append((key, placement.slot))
                break
    return sorted(valid, key=lambda item: instance.must(item[0]), reverse=True)
