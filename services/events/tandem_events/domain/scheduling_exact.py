"""The exact solver: CP-SAT, one tier of the objective at a time (pure).

Tiers, in order: fixed meetings placed, fixed + accepted requests placed, participants
covered, break spread excess, breaks, then meeting value minus idle slots. A tier whose
start value already meets its trivial bound (all placed, everyone covered, the isolation
lower bound on breaks) is proven without a solve. Otherwise CP-SAT optimises it from the
best schedule so far (as a hint) and the value found is locked for the tiers after it.

Breaks get the most care, because organisers judge days by them and because the plain
minimisation proves nothing on forum-sized events. Starting from the isolation lower bound
(`scheduling_bounds`), each probe asks CP-SAT for a schedule with at most c breaks, with
every forced agenda restricted to its busy patterns within the slack c - bound: a probe
that succeeds is optimal, one that is infeasible raises the proven bound by one. When a
probe runs out of time, a minimisation from the best schedule uses what is left of the
tier's time.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from tandem_events.domain.scheduling_board import Board, board_of
from tandem_events.domain.scheduling_bounds import breaks_lower_bound, forced_agendas, patterns
from tandem_events.domain.scheduling_cpsat import Expr, Locks, Model
from tandem_events.domain.scheduling_instance import Instance, Measure, measure
from tandem_events.domain.scheduling_local import improve

MIN_SOLVE_S = 0.05  # less time than this left: do not start another solve
QUICK_PROOF_SHARE = 0.1  # a lower-bound proof this cheap (of the time left): climb on
POLISH_SHARE = 0.05  # of the time left, for local search on a probe's schedule
LNS_SHARE = 0.8  # of the time left after the probes, for neighbourhood search on breaks
LNS_START = 8  # agendas freed in the first neighbourhood
LNS_ROUND_S = 1.0  # at most per neighbourhood
Objective = Callable[[Model], Expr]


@dataclass
class Outcome:
    board: Board  # the best schedule found (the start when nothing better was found)
    must_bound: int  # no schedule places more fixed + accepted requests
    breaks_bound: int  # no schedule as good in the tiers above has fewer breaks
    proven: bool  # every tier through breaks is proven
    proven_at: float | None  # the time.perf_counter() value when it was
    optimal: bool  # every tier is proven
    solved: bool  # CP-SAT ran at least once


@dataclass
class _Solve:
    board: Board | None
    bound: float | None
    status: cp_model.CpSolverStatus


class Exact:
    def __init__(
        self,
        instance: Instance,
        start: Board,
        *,
        deadline: float,
        workers: int,
        kept: Mapping[str, int] | None = None,
    ) -> None:
        self.instance = instance
        self.best = start
        self.deadline = deadline
        self.workers = workers
        self.kept = dict(kept or {})
        self.locks = Locks()
        self.proven = True
        self.solved = False
        self.must_bound = sum(1 for group in instance.original if instance.must(group))
        self.breaks_bound = 0
        self._iso = 0  # the isolation lower bound on breaks (when everything must be placed)
        self._lower = 0  # the best proven lower bound on breaks (idem)
        self._per_agenda: dict[str, int] = {}
        self._forced: dict[str, list[frozenset[int]]] | None = None
        self._pattern_cache: dict[tuple[str, int], list[frozenset[int]] | None] = {}

    def now(self) -> Measure:
        return measure(self.instance, self.best.placed())

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    # ------------------------------------------------------------------ tiers

    def run(self) -> Outcome:
        instance = self.instance
        fixed_total = sum(1 for group in instance.original if instance.fixed(group))
        must_total = self.must_bound
        if self.now().must < must_total:
            self._place_all()
        self.locks.fixed, _ = self._maximise(lambda m: m.tiers().fixed, fixed_total, "fixed")
        self.locks.must, self.must_bound = self._maximise(
            lambda m: m.tiers().must, must_total, "must"
        )
        self.locks.all_must = self.locks.must == must_total
        self.locks.covered, _ = self._maximise(
            lambda m: m.tiers().covered, len(instance.participants), "covered"
        )
        if instance.problem.break_spread is not None:
            self.locks.excess = self._minimise_excess()
        self._breaks()
        proven_through_breaks = self.proven
        proven_at = time.perf_counter() if self.proven else None
        self._value()
        return Outcome(
            board=self.best,
            must_bound=self.must_bound,
            breaks_bound=self.breaks_bound,
            proven=proven_through_breaks,
            proven_at=proven_at,
            optimal=self.proven,
            solved=self.solved,
        )

    def _place_all(self) -> None:
        """Look for a schedule placing every fixed and accepted request directly: first
        with the fewest breaks the isolation bound allows (which settles the breaks tier
        too), then with any number. With the pattern tables these probes succeed in about a
        second where maximising placements from a partial schedule does not."""
        self._iso, self._per_agenda = breaks_lower_bound(self.instance)
        full = replace(self.locks, all_must=True)
        anything = self._iso + len(self.instance.slots)  # every pattern an agenda can take
        for most in (self._iso, None):
            allowed = self._patterns(anything if most is None else most, forced=True)
            probe = replace(full, breaks=most, patterns=allowed)
            result = self._solve(None, maximise=False, share=0.35, locks=probe)
            if most is not None and result.status == cp_model.INFEASIBLE:
                self._lower = most + 1  # proven, for when everything is placed
            if result.board is not None:
                self._polish(result.board)
                return

    def _polish(self, board: Board) -> None:
        """Take `board` as the best schedule after a short local search: a probe's answer
        is any schedule within its limit, often with room to close a few more breaks."""
        found = board_of(self.instance, board.placed())
        improve(found, deadline=time.perf_counter() + POLISH_SHARE * self.left())
        if self._measure(found).rank() >= self._measure(board).rank():
            board = found
        if self._measure(board).rank() > self.now().rank():
            self.best = board

    def _maximise(self, objective: Objective, trivial: int, tier: str) -> tuple[int, int]:
        """(value, proven upper bound) of a placement tier after improving it if need be."""
        found = _tier_value(self.now(), tier)
        bound = trivial
        if found < trivial:
            result = self._solve(objective, maximise=True, share=0.25)
            if result.board is not None and _tier_value(self._measure(result.board), tier) > found:
                self.best = result.board
                found = _tier_value(self.now(), tier)
            if result.status == cp_model.OPTIMAL:
                bound = found
            elif result.bound is not None:
                bound = min(trivial, math.floor(result.bound + 1e-6))
            self.proven = self.proven and bound == found
        return found, bound

    def _minimise_excess(self) -> int:
        found = self.now().excess
        if found > 0:
            result = self._solve(_excess, maximise=False, share=0.25)
            if result.board is not None and self._measure(result.board).excess < found:
                self.best = result.board
                found = self.now().excess
            self.proven = self.proven and result.status == cp_model.OPTIMAL
        return found

    def _breaks(self) -> None:
        """Probe "at most c breaks" at the proven lower bound (the optimum, more often than
        not), climbing one at a time while infeasibility proofs are quick, else by bisection
        between it and the best found; once a probe runs out of time, neighbourhood search
        from the best schedule uses the tier's time left."""
        if self.locks.all_must:
            if not self._per_agenda:
                self._iso, self._per_agenda = breaks_lower_bound(self.instance)
            self._lower = max(self._lower, self._iso)
        else:
            self._lower = 0  # a probe with everything placed proves nothing here
        lower, upper = self._lower, self.now().breaks
        climb = True
        while lower < upper and self.left() > MIN_SOLVE_S:
            most = lower if climb else (lower + upper - 1) // 2
            probe = replace(self.locks, breaks=most, patterns=self._patterns(most))
            started, left = time.perf_counter(), self.left()
            share = 0.4 if climb else 0.25  # a bisection probe is the longer shot
            result = self._solve(None, maximise=False, share=share, locks=probe)
            if result.status == cp_model.INFEASIBLE:
                lower = most + 1
                climb = time.perf_counter() - started < QUICK_PROOF_SHARE * left
            elif result.board is not None:
                self._polish(result.board)
                upper = self.now().breaks
            else:
                break  # a hard instance: improving from the best schedule does more now
        if lower < upper:
            self._neighbourhoods(lower)
            upper = self.now().breaks
        self.breaks_bound = min(lower, upper)
        self.proven = self.proven and lower >= upper
        self.locks.breaks = upper
        self.locks.patterns = self._patterns(upper)

    def _neighbourhoods(self, lower: int) -> None:
        """Large-neighbourhood search for the rest of the tier's time: free the meetings of
        a few agendas with breaks and of their partners, keep every other meeting where it
        is, and let CP-SAT re-place the free ones with the fewest breaks. Small models, so
        each round takes a fraction of a second; neighbourhoods grow while rounds fail."""
        rng = random.Random(len(self.instance.requests))
        until = time.perf_counter() + LNS_SHARE * self.left()
        size = LNS_START
        while time.perf_counter() < until - MIN_SOLVE_S:
            upper = self.now().breaks
            broken = sorted(a for a, n in self.best.breaks.items() if n > 0)
            if upper <= lower or not broken:
                return
            free = self._around(rng.sample(broken, 1), size, rng)
            kept = {k: s for k, s in self.best.placed() if self.instance.group[k] not in free}
            locks = replace(self.locks, breaks=upper, patterns=self._patterns(upper))
            result = self._solve(
                lambda m: m.tiers().breaks,
                maximise=False,
                share=1.0,
                locks=locks,
                kept={**kept, **self.kept},
                seconds=min(LNS_ROUND_S, until - time.perf_counter()),
            )
            if result.board is not None and self._measure(result.board).breaks < upper:
                self.best = result.board
            else:
                size = min(size + 2, len(self.instance.of_agenda))

    def _around(self, start: list[str], size: int, rng: random.Random) -> set[str]:
        """Requests of `size` agendas reached from `start` through their meetings."""
        instance = self.instance
        chosen, frontier = set(start), list(start)
        while frontier and len(chosen) < size:
            agenda = frontier.pop(rng.randrange(len(frontier)))
            for variant in instance.of_agenda.get(agenda, ()):
                for other in (variant.a, variant.b):
                    if other not in chosen and len(chosen) < size:
                        chosen.add(other)
                        frontier.append(other)
        return {instance.group[v.key] for a in chosen for v in instance.of_agenda.get(a, ())}

    def _patterns(self, most: int, *, forced: bool = False) -> dict[str, list[frozenset[int]]]:
        """Busy patterns of the forced agendas for schedules with at most `most` breaks:
        every other forced agenda has at least its isolation bound, so each may have at most
        its own bound plus `most` minus their sum. Only when every fixed and accepted
        request is placed (`forced`, or locked so)."""
        if not (forced or self.locks.all_must):
            return {}
        found = {}
        slack = max(0, most - self._iso)
        if self._forced is None:
            self._forced = forced_agendas(self.instance)
        for agenda, options in self._forced.items():
            limit = self._per_agenda.get(agenda, 0) + slack
            if (agenda, limit) not in self._pattern_cache:
                owner = self.instance.owner[agenda]
                self._pattern_cache[agenda, limit] = patterns(self.instance, owner, options, limit)
            allowed = self._pattern_cache[agenda, limit]
            if allowed is not None:
                found[agenda] = allowed
        return found

    def _value(self) -> None:
        if self.left() <= MIN_SOLVE_S:
            self.proven = False
            return
        now = self.now()
        ceiling = sum(
            max(self.instance.worth[key] for key in self.instance.variants[group])
            for group in self.instance.original
        )
        if now.low >= ceiling:
            return
        result = self._solve(lambda m: m.low(), maximise=True, share=1.0)
        if result.board is not None and self._measure(result.board).rank() > now.rank():
            self.best = result.board
        self.proven = self.proven and result.status == cp_model.OPTIMAL

    # ------------------------------------------------------------------ one CP-SAT run

    def _measure(self, board: Board) -> Measure:
        return measure(self.instance, board.placed())

    def _solve(
        self,
        objective: Objective | None,
        *,
        maximise: bool,
        share: float,
        locks: Locks | None = None,
        kept: Mapping[str, int] | None = None,
        seconds: float | None = None,
    ) -> _Solve:
        """One CP-SAT run with `share` of the time left, at most `seconds` (a feasibility
        probe when `objective` is None); `kept` pins variants to slots."""
        if self.left() <= MIN_SOLVE_S:
            return _Solve(None, None, cp_model.UNKNOWN)
        built = Model(self.instance, locks or self.locks, kept=self.kept if kept is None else kept)
        if objective is not None:
            expression = objective(built)
            if maximise:
                built.model.maximize(expression)
            else:
                built.model.minimize(expression)
        built.hint(self.best)
        remaining = self.left()
        if remaining <= MIN_SOLVE_S:
            return _Solve(None, None, cp_model.UNKNOWN)
        solver = cp_model.CpSolver()
        limit = max(MIN_SOLVE_S, remaining * share)
        solver.parameters.max_time_in_seconds = limit if seconds is None else min(limit, seconds)
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = 1
        if objective is None:
            # A feasibility probe: pure propagation and search beat the LP relaxation here
            # (measured on forum events: ~1 s against tens of seconds).
            solver.parameters.linearization_level = 0
        status = solver.solve(built.model)
        self.solved = True
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return _Solve(None, None, status)
        bound = solver.best_objective_bound if objective is not None else None
        return _Solve(built.board(solver), bound, status)


def _excess(built: Model) -> Expr:
    return cp_model.LinearExpr.sum([built.excess] if built.excess is not None else [])


def _tier_value(found: Measure, tier: str) -> int:
    value: int = getattr(found, tier)
    return value


def solve(
    instance: Instance,
    start: Board,
    *,
    deadline: float,
    workers: int = 2,
    kept: Mapping[str, int] | None = None,
) -> Outcome:
    """Improve `start` tier by tier until `deadline` (a `time.perf_counter()` value);
    `kept` pins variant keys to slots (a repair)."""
    return Exact(instance, start, deadline=deadline, workers=workers, kept=kept).run()


def fewest_moves(
    instance: Instance,
    start: Board,
    kept: Mapping[str, int],
    *,
    deadline: float,
    workers: int = 2,
) -> Board | None:
    """The schedule placing the most fixed, then accepted requests that disturbs (moves or
    drops) the fewest of the `kept` placements (variant key -> slot); None when CP-SAT finds
    nothing by `deadline`. For a repair whose new fixed or accepted request only fits if
    other accepted meetings move."""
    built = Model(instance, Locks())
    tiers = built.tiers()
    stay = [built.x[key, slot] for key, slot in kept.items() if (key, slot) in built.x]
    must = sum(1 for group in instance.original if instance.must(group))
    weight = len(stay) + 1
    built.model.maximize(
        cp_model.LinearExpr.weighted_sum(
            [tiers.fixed, tiers.must, *stay], [weight * (must + 1), weight, *([1] * len(stay))]
        )
    )
    built.hint(start)
    remaining = deadline - time.perf_counter()
    if remaining <= MIN_SOLVE_S:
        return None
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = remaining
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 1
    if solver.solve(built.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return built.board(solver)
