"""A `Problem` prepared for the solvers, and the objective they share (pure).

Agendas. Whoever cannot be in two meetings at once is an agenda: a participant, or for a
participant in `Problem.separate` each of its persons. Breaks and idle slots are counted
per agenda; caps and coverage per participant.

Variants. A request whose participant meets through separate persons becomes one variant
per choice of attending persons (the one named by the request, else each person); a
schedule places at most one variant of a request. Each variant is a `Request` whose `a`
and `b` are agendas and whose key is unique (the request key itself when nobody is
separate), so the boards and models work on variants throughout; `group` maps a variant
back to its request.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import pairwise

from tandem_events.domain.scheduling_model import (
    BREAK,
    FAIRNESS,
    GAP,
    SPREAD,
    Problem,
    Request,
    meeting_units,
    pair_of,
)

SEPARATOR = "\x1f"  # between a participant and a person in an agenda id, and in variant keys


def agenda_id(participant: str, person: str) -> str:
    return f"{participant}{SEPARATOR}{person}"


def _priority(request: Request) -> tuple[bool, bool, float, str]:
    return (request.fixed_slot is not None, request.accepted, request.score, request.key)


class Instance:
    """A problem reduced to what can be placed: each kept request has at least one variant
    with a slot both agendas can take inside its window, both caps > 0 and at least one
    table; one request per key and per pair (fixed first, then accepted, then the higher
    score). `requests` holds the variants in priority order."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.slots = tuple(dict.fromkeys(problem.slots))
        self.tables = tuple(dict.fromkeys(problem.tables))
        self.position = {slot: i for i, slot in enumerate(self.slots)}
        days = problem.day_of_slot or {}
        self.day = {slot: days.get(slot, 0) for slot in self.slots}
        sessions = problem.session_of_slot
        self.session = {s: (sessions.get(s, -1) if sessions else self.day[s]) for s in self.slots}
        per_day: dict[int, list[int]] = defaultdict(list)
        for slot in self.slots:
            per_day[self.day[slot]].append(slot)
        self.days = tuple(tuple(day_slots) for day_slots in per_day.values())
        # Rank of a slot inside its day: breaks and idle slots are counted on ranks.
        self.rank = {slot: i for day_slots in self.days for i, slot in enumerate(day_slots)}
        self._cost_cache: dict[frozenset[int], tuple[int, int]] = {}
        self._agendas(problem)
        self.cap = {p: self._cap(p) for p in self.agendas_of}
        self.session_cap = {
            p: max(0, problem.session_caps[p]) for p in self.agendas_of if p in problem.session_caps
        }
        self._variants(problem)
        self._orders(problem)

    # ------------------------------------------------------------------ preparation

    def _agendas(self, problem: Problem) -> None:
        slot_set = frozenset(self.slots)
        self.owner: dict[str, str] = {}
        self.person_of: dict[str, str | None] = {}
        self.agendas_of: dict[str, tuple[str, ...]] = {}
        self.agenda_slots: dict[str, frozenset[int]] = {}
        for participant, available in problem.availability.items():
            slots = available & slot_set
            slots -= problem.forbidden.get(participant, frozenset())
            persons = problem.persons.get(participant, {})
            if persons and participant in problem.separate:
                agendas = []
                for person, person_slots in sorted(persons.items()):
                    agenda = agenda_id(participant, person)
                    self._agenda(agenda, participant, person, slots & person_slots)
                    agendas.append(agenda)
                self.agendas_of[participant] = tuple(agendas)
                continue
            for person_slots in persons.values():
                slots &= person_slots  # a joint agenda: all of them attend, all must be free
            self._agenda(participant, participant, None, slots)
            self.agendas_of[participant] = (participant,)

    def _agenda(
        self, agenda: str, participant: str, person: str | None, slots: frozenset[int]
    ) -> None:
        self.owner[agenda] = participant
        self.person_of[agenda] = person
        self.agenda_slots[agenda] = slots

    def _cap(self, participant: str) -> int:
        most = len(self.slots) * len(self.agendas_of[participant])
        return max(0, min(self.problem.caps.get(participant, most), most))

    def _sides(self, participant: str, person: str | None) -> list[str]:
        """The agendas that can attend for `participant` (one named person, or any)."""
        agendas = self.agendas_of.get(participant, ())
        if person is None:
            return list(agendas)
        return [a for a in agendas if self.person_of[a] == person]

    def _variants(self, problem: Problem) -> None:
        self.original: dict[str, Request] = {}
        self.variants: dict[str, tuple[str, ...]] = {}
        self.group: dict[str, str] = {}
        self.by_key: dict[str, Request] = {}
        self.common: dict[str, tuple[int, ...]] = {}
        expanded: dict[str, list[Request]] = {}
        candidates = self._deduplicated(problem)
        for request in candidates:
            found = self._expand(request)
            if found:
                expanded[request.key] = found
        kept = sorted((r for r in candidates if r.key in expanded), key=_priority, reverse=True)
        self.requests = tuple(v for request in kept for v in expanded[request.key])
        for request in kept:
            self.original[request.key] = request
            self.variants[request.key] = tuple(v.key for v in expanded[request.key])
        for variant in self.requests:
            self.by_key[variant.key] = variant
        self.allowed = {key: frozenset(slots) for key, slots in self.common.items()}
        self.units = {v.key: meeting_units(v) for v in self.requests}
        # The value of a meeting without its priority weight (score + base).
        self.worth = {
            v.key: meeting_units(replace(v, accepted=False, fixed_slot=None)) for v in self.requests
        }
        self.of_agenda: dict[str, list[Request]] = defaultdict(list)
        for variant in self.requests:
            self.of_agenda[variant.a].append(variant)
            self.of_agenda[variant.b].append(variant)
        self.participants = sorted({self.owner[a] for a in self.of_agenda})

    def _deduplicated(self, problem: Problem) -> list[Request]:
        if not self.tables:
            return []
        best_for_key: dict[str, Request] = {}
        for request in problem.requests:
            if request.a == request.b or request.a not in self.cap or request.b not in self.cap:
                continue
            if self.cap[request.a] == 0 or self.cap[request.b] == 0:
                continue
            held = best_for_key.get(request.key)
            if held is None or _priority(request) > _priority(held):
                best_for_key[request.key] = request
        best_for_pair: dict[frozenset[str], Request] = {}
        for request in best_for_key.values():
            held = best_for_pair.get(pair_of(request))
            if held is None or _priority(request) > _priority(held):
                best_for_pair[pair_of(request)] = request
        return list(best_for_pair.values())

    def _expand(self, request: Request) -> list[Request]:
        if request.fixed_table is not None and request.fixed_table not in self.tables:
            return []
        allowed = frozenset(self.slots)
        if request.window is not None:
            allowed &= request.window
        if request.fixed_slot is not None:
            allowed &= {request.fixed_slot}
        found = []
        sides_a = self._sides(request.a, request.person_a)
        sides_b = self._sides(request.b, request.person_b)
        for agenda_a in sides_a:
            for agenda_b in sides_b:
                options = allowed & self.agenda_slots[agenda_a] & self.agenda_slots[agenda_b]
                if not options:
                    continue
                key = request.key
                if (agenda_a, agenda_b) != (request.a, request.b):
                    person_a, person_b = self.person_of[agenda_a], self.person_of[agenda_b]
                    key = SEPARATOR.join((request.key, person_a or "", person_b or ""))
                variant = replace(
                    request,
                    key=key,
                    a=agenda_a,
                    b=agenda_b,
                    accepted=request.accepted or request.fixed_slot is not None,
                )
                self.group[key] = request.key
                self.common[key] = tuple(s for s in self.slots if s in options)
                found.append(variant)
        return found

    def _orders(self, problem: Problem) -> None:
        """For each request, the others it must precede (True) or follow (False), and its
        depth: the longest chain of requests that must come before it (cycles cut)."""
        self.order: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for before, after in problem.precedences:
            if before in self.variants and after in self.variants and before != after:
                self.order[before].append((after, True))
                self.order[after].append((before, False))
        self.depth: dict[str, int] = {}
        for group in self.variants:
            self._depth(group, set())

    def _depth(self, group: str, path: set[str]) -> int:
        if group not in self.depth:
            path.add(group)
            earlier = [other for other, before in self.order.get(group, ()) if not before]
            self.depth[group] = 1 + max(
                (self._depth(other, path) for other in earlier if other not in path), default=-1
            )
            path.discard(group)
        return self.depth[group]

    # ------------------------------------------------------------------ objective parts

    def must(self, key: str) -> bool:
        """A fixed or accepted request (variant key or request key)."""
        return self.original[self.group.get(key, key)].accepted or self.fixed(key)

    def fixed(self, key: str) -> bool:
        return self.original[self.group.get(key, key)].fixed_slot is not None

    def table_pin(self, key: str) -> str | None:
        """The table a request (variant key or request key) is pinned to, if any."""
        return self.original[self.group.get(key, key)].fixed_table

    def day_cost(self, used: Iterable[int]) -> tuple[int, int]:
        """(breaks, idle slots) of one agenda meeting in the slots `used` (distinct).
        Memoised: local search asks for the same few thousand slot sets again and again."""
        key = frozenset(used)
        found = self._cost_cache.get(key)
        if found is None:
            ranks: dict[int, list[int]] = defaultdict(list)
            for slot in key:
                ranks[self.day[slot]].append(self.rank[slot])
            breaks = idle = 0
            for day_ranks in ranks.values():
                day_ranks.sort()
                idle += day_ranks[-1] - day_ranks[0] + 1 - len(day_ranks)
                breaks += sum(1 for x, y in pairwise(day_ranks) if y > x + 1)
            found = (breaks, idle)
            self._cost_cache[key] = found
        return found

    def day_units(self, used: Iterable[int]) -> int:
        """The weighted cost of an agenda's day: breaks, then idle slots."""
        breaks, idle = self.day_cost(used)
        return BREAK * breaks + GAP * idle

    def gaps(self, used: Iterable[int]) -> int:
        """Idle slots of one agenda meeting in the slots `used`."""
        return self.day_cost(used)[1]

    def excess(self, breaks: Counter[int]) -> int:
        """Spread beyond `break_spread`, from a histogram of breaks per agenda."""
        limit = self.problem.break_spread
        present = [b for b, n in breaks.items() if n > 0]
        if limit is None or not present:
            return 0
        return max(0, max(present) - min(present) - limit)


@dataclass(frozen=True, slots=True)
class Measure:
    """The objective's tiers for one schedule; `rank` orders schedules exactly."""

    fixed: int  # fixed meetings placed
    must: int  # fixed and accepted requests placed
    covered: int  # participants with a meeting
    excess: int  # break spread beyond the limit
    breaks: int
    idle: int
    value: int  # meetings' score + base units (accepted and fixed included)
    units: int  # the weighted sum that local search climbs

    def rank(self) -> tuple[int, ...]:
        return (self.fixed, self.must, self.covered, -self.excess, -self.breaks, self.low)

    @property
    def low(self) -> int:
        return self.value - GAP * self.idle


def measure(instance: Instance, placements: Iterable[tuple[str, int]]) -> Measure:
    """The objective for (variant key, slot) pairs."""
    used: dict[str, list[int]] = defaultdict(list)
    fixed = must = value = units = 0
    covered: set[str] = set()
    for key, slot in placements:
        request = instance.by_key[key]
        units += instance.units[key]
        value += instance.worth[key]
        fixed += instance.fixed(key)
        must += instance.must(key)
        for agenda in (request.a, request.b):
            used[agenda].append(slot)
            covered.add(instance.owner[agenda])
    histogram: Counter[int] = Counter({0: len(instance.of_agenda)})
    breaks = idle = 0
    for agenda, slots in used.items():
        agenda_breaks, agenda_idle = instance.day_cost(slots)
        breaks += agenda_breaks
        idle += agenda_idle
        if agenda in instance.of_agenda:
            histogram[0] -= 1
            histogram[agenda_breaks] += 1
    excess = instance.excess(histogram)
    units += FAIRNESS * len(covered) - SPREAD * excess - BREAK * breaks - GAP * idle
    return Measure(fixed, must, len(covered), excess, breaks, idle, value, units)


def value_units(instance: Instance, placements: Iterable[tuple[str, int]]) -> int:
    """The weighted objective in integer units for (variant key, slot) pairs."""
    return measure(instance, placements).units
