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
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from tandem_events.domain.scheduling_board import Board
from tandem_events.domain.scheduling_bounds import breaks_lower_bound, forced_agendas, patterns
from tandem_events.domain.scheduling_cpsat import Expr, Locks, Model
from tandem_events.domain.scheduling_instance import Instance, Measure, measure

MIN_SOLVE_S = 0.05  # less time than this left: do not start another solve
Objective = Callable[[Model], Expr]


@dataclass
class Outcome:
    board: Board  # the best schedule found (the start when nothing better was found)
    must_bound: int  # no schedule places more fixed + accepted requests
    breaks_bound: int  # no schedule as good in the tiers above has fewer breaks
    proven: bool  # every tier through breaks is proven
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
        self._per_agenda: dict[str, int] = {}

    def now(self) -> Measure:
        return measure(self.instance, self.best.placed())

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    # ------------------------------------------------------------------ tiers

    def run(self) -> Outcome:
        instance = self.instance
        fixed_total = sum(1 for group in instance.original if instance.fixed(group))
        must_total = self.must_bound
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
        self._value()
        return Outcome(
            board=self.best,
            must_bound=self.must_bound,
            breaks_bound=self.breaks_bound,
            proven=proven_through_breaks,
            optimal=self.proven,
            solved=self.solved,
        )

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
        instance = self.instance
        lower, self._per_agenda = breaks_lower_bound(instance) if self.locks.all_must else (0, {})
        upper = self.now().breaks
        while lower < upper and self.left() > MIN_SOLVE_S:
            probe = replace(self.locks, breaks=lower, patterns=self._patterns(lower, lower))
            result = self._solve(None, maximise=False, share=0.4, locks=probe)
            if result.status == cp_model.INFEASIBLE:
                lower += 1
            elif result.board is not None:
                self.best = result.board
                upper = self.now().breaks
            else:
                break
        if lower < upper and self.left() > MIN_SOLVE_S:
            locks = replace(self.locks, breaks=upper, patterns=self._patterns(lower, upper))
            result = self._solve(lambda m: m.tiers().breaks, maximise=False, share=0.7, locks=locks)
            if result.board is not None and self._measure(result.board).breaks < upper:
                self.best = result.board
                upper = self.now().breaks
            if result.status == cp_model.OPTIMAL:
                lower = upper
            elif result.bound is not None:
                lower = max(lower, math.ceil(result.bound - 1e-6))
        self.breaks_bound = min(lower, upper)
        self.proven = self.proven and lower >= upper
        self.locks.breaks = upper
        self.locks.patterns = self._patterns(self.breaks_bound, upper)

    def _patterns(self, lower: int, most: int) -> dict[str, list[frozenset[int]]]:
        """Busy patterns of the forced agendas for schedules with at most `most` breaks,
        given that `lower` is a lower bound (each agenda has slack `most - lower`)."""
        if not self.locks.all_must:
            return {}
        found = {}
        slack = max(0, most - lower)
        for agenda, options in forced_agendas(self.instance).items():
            allowed = patterns(
                self.instance,
                self.instance.owner[agenda],
                options,
                self._per_agenda.get(agenda, 0) + slack,
            )
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
    ) -> _Solve:
        """One CP-SAT run with `share` of the time left (a feasibility probe when
        `objective` is None)."""
        if self.left() <= MIN_SOLVE_S:
            return _Solve(None, None, cp_model.UNKNOWN)
        built = Model(self.instance, locks or self.locks, kept=self.kept)
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
        solver.parameters.max_time_in_seconds = max(MIN_SOLVE_S, remaining * share)
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = 1
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
