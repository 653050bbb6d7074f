"""The CP-SAT model of the schedule (pure; OR-Tools runs in process).

Variables: x[v, s] = variant v meets in slot s, only for the slots in v's options. Tables
are interchangeable, so the model only counts meetings per slot (≤ tables) and concrete
tables are assigned afterwards (`scheduling_board.placements`): this removes the table
symmetry outright. busy[g, s] = agenda g meets in slot s (the sum of its x, at most one).

Breaks, per agenda and day: seen[g, s] ≥ busy[g, s] and ≥ seen[g, s-1] ("met at or before
s"); brk[g, s] ≥ busy[g, s] ∧ ¬busy[g, s-1] ∧ seen[g, s-2] (a meeting after an idle slot
that follows an earlier meeting: one per break). These are bounded from below only, which
is exact under minimisation or an upper bound on their sum. Idle slots likewise, with a
"met at or after" chain. The objective's tiers are expressions (`Tiers`); the exact solver
(`scheduling_exact`) optimises one at a time and locks each before the next.

With every fixed and accepted request placed, an agenda whose requests are all fixed or
accepted also gets a table of the busy patterns it may take (`scheduling_bounds.patterns`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from tandem_events.domain.scheduling_board import Board
from tandem_events.domain.scheduling_instance import Instance
from tandem_events.domain.scheduling_model import GAP

Var = cp_model.IntVar
Expr = cp_model.LinearExpr
Sum = cp_model.LinearExpr.sum


@dataclass
class Locks:
    """Tier values already decided: each later solve must keep them."""

    fixed: int | None = None  # at least this many fixed meetings
    must: int | None = None  # at least this many fixed + accepted requests
    covered: int | None = None  # at least this many participants with a meeting
    excess: int | None = None  # at most this spread excess
    breaks: int | None = None  # at most this many breaks
    all_must: bool = False  # every fixed and accepted request is placed
    patterns: Mapping[str, list[frozenset[int]]] = field(default_factory=dict)  # agenda ->


class Model:
    def __init__(
        self, instance: Instance, locks: Locks, *, kept: Mapping[str, int] | None = None
    ) -> None:
        self.instance = instance
        self.model = cp_model.CpModel()
        self.x: dict[tuple[str, int], Var] = {}
        self.busy: dict[tuple[str, int], Var] = {}
        self.by_group: dict[str, list[Var]] = defaultdict(list)
        self._requests(locks, kept or {})
        self._resources()
        self._precedences()
        self.covered = self._coverage()
        self.brk: dict[str, list[Var]] = {}
        self._breaks()
        self.excess = self._spread()
        self.idle: list[Var] | None = None
        self._lock(locks)

    # ------------------------------------------------------------------ constraints

    def _requests(self, locks: Locks, kept: Mapping[str, int]) -> None:
        """x for every variant and option; a kept (pinned) request gets only its pinned
        variable, so a model around a few free requests is small to build."""
        instance = self.instance
        pinned = {instance.group[key] for key in kept}
        for variant in instance.requests:
            group = instance.group[variant.key]
            if group in pinned and variant.key not in kept:
                continue
            slots = instance.common[variant.key]
            if variant.key in kept:
                slots = (kept[variant.key],)
            for slot in slots:
                var = self.model.new_bool_var("")
                self.x[variant.key, slot] = var
                self.by_group[group].append(var)
            if variant.key in kept:
                self.model.add(self.x[variant.key, kept[variant.key]] == 1)
        for group, options in self.by_group.items():
            if locks.all_must and instance.must(group):
                self.model.add_exactly_one(options)
            else:
                self.model.add_at_most_one(options)

    def _resources(self) -> None:
        instance = self.instance
        at: dict[tuple[str, int], list[Var]] = defaultdict(list)
        per_slot: dict[int, list[Var]] = defaultdict(list)
        per_participant: dict[str, list[Var]] = defaultdict(list)
        per_session: dict[tuple[str, int], list[Var]] = defaultdict(list)
        for (key, slot), var in self.x.items():
            variant = instance.by_key[key]
            per_slot[slot].append(var)
            for agenda in (variant.a, variant.b):
                participant = instance.owner[agenda]
                at[agenda, slot].append(var)
                per_participant[participant].append(var)
                per_session[participant, instance.session[slot]].append(var)
        agendas_at: dict[int, list[Var]] = defaultdict(list)
        for (agenda, slot), options in at.items():
            busy = self.model.new_bool_var("")
            self.model.add(busy == sum(options))
            self.busy[agenda, slot] = busy
            agendas_at[slot].append(busy)
        # Implied by the table limit, but stated on the agendas' busy slots it ties their
        # patterns to the tables directly: with it, break probes on forum events take about
        # a second instead of timing out (bench/scheduler.py).
        for options in agendas_at.values():
            if len(options) > 2 * len(instance.tables):
                self.model.add(sum(options) <= 2 * len(instance.tables))
        pinned: dict[tuple[int, str], list[Var]] = defaultdict(list)
        for (key, slot), var in self.x.items():
            pin = instance.table_pin(key)
            if pin is not None:
                pinned[slot, pin].append(var)
        for options in per_slot.values():
            if len(options) > len(instance.tables):
                self.model.add(sum(options) <= len(instance.tables))
        for options in pinned.values():
            self.model.add_at_most_one(options)
        for participant, options in per_participant.items():
            if len(options) > instance.cap[participant]:
                self.model.add(sum(options) <= instance.cap[participant])
        for (participant, _), options in per_session.items():
            limit = instance.session_cap.get(participant)
            if limit is not None and len(options) > limit:
                self.model.add(sum(options) <= limit)

    def _precedences(self) -> None:
        """No pair of slots out of order: x[first, s] + x[second, t] <= 1 for t <= s."""
        position = self.instance.position
        options: dict[str, list[tuple[int, Var]]] = defaultdict(list)
        for (key, slot), var in self.x.items():
            options[self.instance.group[key]].append((position[slot], var))
        for group, orders in self.instance.order.items():
            for other, before in orders:
                if not before:
                    continue  # each pair once, from the side that comes first
                for s, first in options[group]:
                    for t, second in options[other]:
                        if t <= s:
                            self.model.add_bool_or([first.Not(), second.Not()])

    def _coverage(self) -> dict[str, Var]:
        options: dict[str, list[Var]] = defaultdict(list)
        for (agenda, _), busy in self.busy.items():
            options[self.instance.owner[agenda]].append(busy)
        covered = {}
        for participant, slots in options.items():
            var = self.model.new_bool_var("")
            self.model.add_bool_or(slots).only_enforce_if(var)
            covered[participant] = var
        return covered

    def _breaks(self) -> None:
        agendas = sorted({agenda for agenda, _ in self.busy})
        for agenda in agendas:
            self.brk[agenda] = []
            for day in self.instance.days:
                self._day_breaks(agenda, day)

    def _day_breaks(self, agenda: str, day: tuple[int, ...]) -> None:
        busy = [self.busy.get((agenda, slot)) for slot in day]
        present = [i for i, var in enumerate(busy) if var is not None]
        if len(present) < 2 or present[-1] - present[0] < 2:
            return  # no slot can lie between two meetings
        seen = self._chain(busy)
        for i in range(2, len(day)):
            current, before, previous = busy[i], seen[i - 2], busy[i - 1]
            if current is None or before is None:
                continue
            brk = self.model.new_bool_var("")
            clause = [current.Not(), before.Not(), brk]
            if previous is not None:
                clause.append(previous)
            self.model.add_bool_or(clause)
            self.brk[agenda].append(brk)

    def _spread(self) -> Var | None:
        limit = self.instance.problem.break_spread
        if limit is None:
            return None
        most = len(self.instance.slots)
        top = self.model.new_int_var(0, most, "")
        bottom = self.model.new_int_var(0, most, "")
        for agenda in self.instance.of_agenda:
            breaks = sum(self.brk.get(agenda, []))
            self.model.add(top >= breaks)
            self.model.add(bottom <= breaks)
        excess = self.model.new_int_var(0, most, "")
        self.model.add(excess >= top - bottom - limit)
        return excess

    def _lock(self, locks: Locks) -> None:
        tiers = self.tiers()
        for value, expr in ((locks.fixed, tiers.fixed), (locks.must, tiers.must)):
            if value is not None:
                self.model.add(expr >= value)
        if locks.covered is not None:
            self.model.add(tiers.covered >= locks.covered)
        if locks.excess is not None and self.excess is not None:
            self.model.add(self.excess <= locks.excess)
        if locks.breaks is not None:
            self.model.add(tiers.breaks <= locks.breaks)
        if locks.all_must:
            self._forced(locks.patterns)

    def _forced(self, patterns: Mapping[str, list[frozenset[int]]]) -> None:
        """The allowed busy patterns of forced agendas."""
        for agenda, allowed in patterns.items():
            slots = [slot for slot in self.instance.slots if (agenda, slot) in self.busy]
            present = set(slots)
            rows = [[int(slot in p) for slot in slots] for p in allowed if p <= present]
            self.model.add_allowed_assignments([self.busy[agenda, s] for s in slots], rows)

    # ------------------------------------------------------------------ objective tiers

    def tiers(self) -> Tiers:
        instance = self.instance
        fixed, must = [], []
        for key, _ in self.x:
            fixed.append(int(instance.fixed(key)))
            must.append(int(instance.must(key)))
        xs = list(self.x.values())
        worth = [instance.worth[key] for key, _ in self.x]
        return Tiers(
            fixed=cp_model.LinearExpr.weighted_sum(xs, fixed),
            must=cp_model.LinearExpr.weighted_sum(xs, must),
            covered=Sum(list(self.covered.values())),
            breaks=Sum([var for vars_ in self.brk.values() for var in vars_]),
            value=cp_model.LinearExpr.weighted_sum(xs, worth),
        )

    def idle_slots(self) -> list[Var]:
        """Idle-slot booleans (built on first use: only the last tier needs them)."""
        if self.idle is None:
            self.idle = [var for agenda in sorted(self.brk) for var in self._idle(agenda)]
        return self.idle

    def _idle(self, agenda: str) -> list[Var]:
        found = []
        for day in self.instance.days:
            busy = [self.busy.get((agenda, slot)) for slot in day]
            before = self._chain(busy)
            after = self._chain(busy[::-1])[::-1]
            for i in range(1, len(day) - 1):
                earlier, later, now = before[i - 1], after[i + 1], busy[i]
                if earlier is None or later is None:
                    continue
                idle = self.model.new_bool_var("")
                if now is None:
                    self.model.add(idle >= earlier + later - 1)
                else:
                    self.model.add(idle >= earlier + later - 1 - now)
                found.append(idle)
        return found

    def _chain(self, busy: list[Var | None]) -> list[Var | None]:
        """ "Met at or before" booleans along `busy` (None while nothing can have happened)."""
        chain: list[Var | None] = []
        for var in busy:
            last = chain[-1] if chain else None
            if var is None and last is None:
                chain.append(None)
                continue
            now = self.model.new_bool_var("")
            for earlier in (var, last):
                if earlier is not None:
                    self.model.add_implication(earlier, now)
            chain.append(now)
        return chain

    def low(self) -> Expr:
        idle = self.idle_slots()
        return cp_model.LinearExpr.weighted_sum(
            [self.tiers().value, *idle], [1, *([-GAP] * len(idle))]
        )

    # ------------------------------------------------------------------ hints and results

    def hint(self, board: Board) -> None:
        """Start the search from `board` (only the decision variables: CP-SAT completes the
        rest, and a partial hint cannot contradict the lower-bounded helpers)."""
        for (key, slot), var in self.x.items():
            self.model.add_hint(var, board.slot_of.get(key) == slot)

    def board(self, solver: cp_model.CpSolver) -> Board:
        board = Board(self.instance)
        for (key, slot), var in self.x.items():
            if solver.boolean_value(var):
                board.place(self.instance.by_key[key], slot)
        return board


@dataclass(frozen=True)
class Tiers:
    fixed: Expr
    must: Expr
    covered: Expr
    breaks: Expr
    value: Expr


def variables(instance: Instance) -> int:
    """Number of x[v, s] variables: the size measure of the size-aware strategy."""
    return sum(len(slots) for slots in instance.common.values())
