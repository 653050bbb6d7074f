"""The CP-SAT model of the scheduling objective (pure; OR-Tools runs in process).

Variables: x[r, s] = request r meets in slot s, only for slots both participants can attend.
Tables are a count per slot here; concrete tables are assigned afterwards
(`scheduling_greedy.placements`), stable with respect to a previous schedule.

The objective is `scheduling_model.value_units` written linearly: meeting units per x,
FAIRNESS per covered participant (a boolean that may only be 1 when one of the
participant's x is 1) and GAP per idle slot, where idle[p, t] >= seen_before[p, t-1] +
seen_after[p, t+1] - 1 - used[p, t] within a day. seen_before/after are monotone "has a
meeting at or before/after this slot" booleans bounded from below; the penalty keeps them at
their true values in an optimal solution.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping

from ortools.sat.python import cp_model

from tandem_events.domain.scheduling_greedy import Board
from tandem_events.domain.scheduling_model import FAIRNESS, GAP, Instance, meeting_units

Var = cp_model.IntVar
MIN_SEARCH_S = 0.05


class _Model:
    def __init__(self, instance: Instance, hint: Board, fixed: Mapping[str, int]) -> None:
        self.instance = instance
        self.model = cp_model.CpModel()
        self.x: dict[tuple[str, int], Var] = {}
        self.at: dict[tuple[str, int], list[Var]] = defaultdict(list)  # (participant, slot)
        self.terms: list[tuple[Var, int]] = []
        self.hint = hint
        self._requests(fixed)
        self._capacities()
        self._coverage()
        self._gaps()
        self.model.maximize(sum(coefficient * var for var, coefficient in self.terms))

    def _hint(self, var: Var, value: bool) -> None:
        self.model.add_hint(var, value)

    def _requests(self, fixed: Mapping[str, int]) -> None:
        for request in self.instance.requests:
            options = []
            for slot in self.instance.common[request.key]:
                var = self.model.new_bool_var(f"x_{request.key}_{slot}")
                self.x[request.key, slot] = var
                self.at[request.a, slot].append(var)
                self.at[request.b, slot].append(var)
                options.append(var)
                self.terms.append((var, meeting_units(request)))
                self._hint(var, self.hint.slot_of.get(request.key) == slot)
            if request.key in fixed:
                self.model.add(self.x[request.key, fixed[request.key]] == 1)
            self.model.add_at_most_one(options)

    def _capacities(self) -> None:
        per_slot: dict[int, list[Var]] = defaultdict(list)
        per_participant: dict[str, list[Var]] = defaultdict(list)
        for (participant, _slot), options in self.at.items():
            if len(options) > 1:
                self.model.add_at_most_one(options)
            per_participant[participant] += options
        for (_, slot), var in self.x.items():
            per_slot[slot].append(var)
        tables = len(self.instance.tables)
        for options in per_slot.values():
            if len(options) > tables:
                self.model.add(sum(options) <= tables)
        for participant, options in per_participant.items():
            if len(options) > self.instance.cap[participant]:
                self.model.add(sum(options) <= self.instance.cap[participant])

    def _coverage(self) -> None:
        # FAIRNESS is large enough that one more covered participant outweighs the score and
        # gap changes of moving or dropping a few other meetings (see scheduling_model):
        # everyone who can meet gets a first meeting before anyone gets extra ones.
        options: dict[str, list[Var]] = defaultdict(list)
        for (participant, _), vars_ in self.at.items():
            options[participant] += vars_
        for participant, vars_ in options.items():
            covered = self.model.new_bool_var(f"covered_{participant}")
            self.model.add_bool_or(vars_).only_enforce_if(covered)
            self.terms.append((covered, FAIRNESS))
            self._hint(covered, self.hint.count[participant] > 0)

    def _gaps(self) -> None:
        by_day: dict[int, list[int]] = defaultdict(list)
        for slot in self.instance.slots:
            by_day[self.instance.day[slot]].append(slot)
        participants = {participant for participant, _ in self.at}
        for participant in sorted(participants):
            used_slots = self.hint.used.get(participant, set())
            for day_slots in by_day.values():
                possible = [s for s in day_slots if (participant, s) in self.at]
                if len(possible) < 3:
                    continue  # no slot can lie between two meetings
                first = day_slots.index(possible[0])
                last = day_slots.index(possible[-1])
                window = day_slots[first : last + 1]
                self._gap_chain(participant, window, used_slots)

    def _gap_chain(self, participant: str, window: list[int], used_slots: set[int]) -> None:
        def used(slot: int) -> cp_model.LinearExpr:
            return cp_model.LinearExpr.sum(self.at.get((participant, slot), []))

        hinted = [slot in used_slots for slot in window]
        before: list[Var] = []
        for i, slot in enumerate(window):
            var = self.model.new_bool_var("")
            self.model.add(var >= used(slot))
            if before:
                self.model.add(var >= before[-1])
            self._hint(var, any(hinted[: i + 1]))
            before.append(var)
        after: list[Var] = [self.model.new_bool_var("") for _ in window]
        for i, slot in enumerate(window):
            self.model.add(after[i] >= used(slot))
            if i + 1 < len(window):
                self.model.add(after[i] >= after[i + 1])
            self._hint(after[i], any(hinted[i:]))
        for i in range(1, len(window) - 1):
            idle = self.model.new_bool_var("")
            self.model.add(idle >= before[i - 1] + after[i + 1] - 1 - used(window[i]))
            self.terms.append((idle, -GAP))
            self._hint(idle, any(hinted[:i]) and any(hinted[i + 1 :]) and not hinted[i])


def variables(instance: Instance) -> int:
    """Number of x[r, s] variables: the size measure the size-aware strategy uses (the gap
    chain adds about as many again)."""
    return sum(len(slots) for slots in instance.common.values())


def solve(
    instance: Instance,
    *,
    hint: Board,
    deadline: float,
    fixed: Mapping[str, int] | None = None,
    workers: int = 2,
) -> tuple[Board, bool] | None:
    """CP-SAT from the `hint` board, finished by `deadline` (a `time.perf_counter()` value,
    model building included); `fixed` pins request keys to slots. Returns the board and
    whether it is proven optimal, or None when no solution was found in time."""
    built = _Model(instance, hint, fixed or {})
    remaining = deadline - time.perf_counter()
    if remaining < MIN_SEARCH_S:
        return None  # building took the time: searching for a moment cannot beat the hint
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = remaining
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 1
    status = solver.solve(built.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    board = Board(instance)
    for (key, slot), var in built.x.items():
        if solver.boolean_value(var):
            board.place(instance.by_key[key], slot)
    return board, status == cp_model.OPTIMAL
