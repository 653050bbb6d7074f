"""The scheduling problem, its prepared form, the objective and the invariants (pure).

The public names are re-exported by `scheduling.py`; import them from there.

Objective (`Schedule.value`, the same for every solver so results compare):

    value = ACCEPTED  * accepted requests placed
          + FAIRNESS  * participants with at least one meeting
          + sum over placed meetings of (score + MEETING_BASE)
          - GAP       * idle gaps (per participant per day: slots between the first and the
                        last meeting that the participant does not use)

The weights make it lexicographic in practice: one accepted request outweighs any change in
coverage a local exchange can cause (at most six participants lose their only meeting when a
slot, a table and two caps are freed for it), and covering one more participant outweighs
every score and gap change such an exchange causes (a meeting is worth at most 1.01 and a
participant's gaps are bounded by the slots of a day). MEETING_BASE makes a zero-score
suggestion still worth placing when it costs no gaps.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Integer units (CP-SAT needs integers): 1.0 of value = SCALE units.
SCALE = 1000
MEETING_BASE = 10  # 0.01
GAP = 50  # 0.05 per idle slot
FAIRNESS = 100_000  # 100 per covered participant
ACCEPTED = 10_000_000  # 10,000 per accepted request placed


@dataclass(frozen=True, slots=True)
class Request:
    key: str  # stable id of the meeting (meeting-request id, or "suggested:<pair_id>")
    a: str  # participant id (registration id)
    b: str  # participant id, != a
    accepted: bool  # an accepted meeting request (placed first) or a matcher suggestion
    score: float  # mutual score in [0, 1] (tie-break / value within a priority class)


@dataclass(frozen=True, slots=True)
class Problem:
    slots: tuple[int, ...]  # slot indexes in time order
    tables: tuple[str, ...]  # table labels
    availability: Mapping[str, frozenset[int]]  # participant -> slots they can meet in
    caps: Mapping[str, int]  # participant -> max meetings (missing = no cap beyond slots)
    requests: tuple[Request, ...]
    day_of_slot: Mapping[int, int] | None = None  # slot -> day number (None = all one day)


@dataclass(frozen=True, slots=True)
class Placement:
    key: str
    a: str
    b: str
    slot: int
    table: str


@dataclass(frozen=True, slots=True)
class Schedule:
    placements: tuple[Placement, ...]
    solver: (
        str  # the stages that produced it: "greedy", "greedy+ls", "greedy+ls+cp-sat", "repair", ...
    )
    optimal: bool  # proven optimal by the solver
    value: float  # see the module docstring


def pair_of(request: Request) -> frozenset[str]:
    return frozenset((request.a, request.b))


def meeting_units(request: Request) -> int:
    """Integer value of placing `request`, without coverage and gaps."""
    score = min(max(request.score, 0.0), 1.0)
    return (ACCEPTED if request.accepted else 0) + round(score * SCALE) + MEETING_BASE


def _priority(request: Request) -> tuple[bool, float, str]:
    return (request.accepted, request.score, request.key)


class Instance:
    """A problem reduced to what can be placed: each kept request has ≥ 1 common slot, both
    caps > 0 and at least one table; one request per key and per pair (accepted first, then
    the higher score)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.slots = tuple(dict.fromkeys(problem.slots))
        self.tables = tuple(dict.fromkeys(problem.tables))
        days = problem.day_of_slot or {}
        self.day = {slot: days.get(slot, 0) for slot in self.slots}
        per_day: dict[int, list[int]] = defaultdict(list)
        for slot in self.slots:
            per_day[self.day[slot]].append(slot)
        # Rank of a slot inside its day: gaps are counted on ranks.
        self.rank = {slot: i for day_slots in per_day.values() for i, slot in enumerate(day_slots)}
        self.position = {slot: i for i, slot in enumerate(self.slots)}
        self._gap_cache: dict[frozenset[int], int] = {}
        self.cap: dict[str, int] = {
            participant: max(
                0, min(problem.caps.get(participant, len(self.slots)), len(self.slots))
            )
            for participant in problem.availability
        }
        self.requests = self._placeable(problem)
        self.by_key = {request.key: request for request in self.requests}
        self.common = {
            request.key: tuple(
                slot
                for slot in self.slots
                if slot in problem.availability[request.a]
                and slot in problem.availability[request.b]
            )
            for request in self.requests
        }
        self.units = {request.key: meeting_units(request) for request in self.requests}
        self.of_participant: dict[str, list[Request]] = defaultdict(list)
        for request in self.requests:
            self.of_participant[request.a].append(request)
            self.of_participant[request.b].append(request)

    def _placeable(self, problem: Problem) -> tuple[Request, ...]:
        if not self.tables:
            return ()
        slot_set = set(self.slots)
        best_for_key: dict[str, Request] = {}
        for request in problem.requests:
            if request.a == request.b or not self._known(request.a) or not self._known(request.b):
                continue
            if self.cap[request.a] == 0 or self.cap[request.b] == 0:
                continue
            common = problem.availability[request.a] & problem.availability[request.b] & slot_set
            if not common:
                continue
            held = best_for_key.get(request.key)
            if held is None or _priority(request) > _priority(held):
                best_for_key[request.key] = request
        best_for_pair: dict[frozenset[str], Request] = {}
        for request in best_for_key.values():
            held = best_for_pair.get(pair_of(request))
            if held is None or _priority(request) > _priority(held):
                best_for_pair[pair_of(request)] = request
        return tuple(sorted(best_for_pair.values(), key=_priority, reverse=True))

    def _known(self, participant: str) -> bool:
        return participant in self.problem.availability

    def gaps(self, used: Iterable[int]) -> int:
        """Idle slots of one participant who meets in the slots `used` (distinct slots).
        Memoised: local search asks for the same few thousand slot sets again and again."""
        key = frozenset(used)
        found = self._gap_cache.get(key)
        if found is None:
            ranks: dict[int, list[int]] = defaultdict(list)
            for slot in key:
                ranks[self.day[slot]].append(self.rank[slot])
            found = sum(max(r) - min(r) + 1 - len(r) for r in ranks.values())
            self._gap_cache[key] = found
        return found


def value_units(instance: Instance, placements: Iterable[tuple[str, int]]) -> int:
    """The objective in integer units for (request key, slot) pairs."""
    total = 0
    used: dict[str, list[int]] = defaultdict(list)
    units = instance.units
    for key, slot in placements:
        request = instance.by_key[key]
        total += units[key]
        used[request.a].append(slot)
        used[request.b].append(slot)
    total += FAIRNESS * len(used)
    total -= GAP * sum(instance.gaps(slots) for slots in used.values())
    return total


def participant_gaps(problem: Problem, schedule: Schedule) -> dict[str, int]:
    instance = Instance(problem)
    used: dict[str, list[int]] = defaultdict(list)
    for placement in schedule.placements:
        used[placement.a].append(placement.slot)
        used[placement.b].append(placement.slot)
    return {participant: instance.gaps(slots) for participant, slots in used.items()}


def violations(problem: Problem, schedule: Schedule) -> list[str]:
    """Human-readable broken invariants; [] means the schedule is valid for `problem`."""
    found: list[str] = []
    requests = {request.key: request for request in problem.requests}
    slots = set(problem.slots)
    tables = set(problem.tables)
    keys: Counter[str] = Counter()
    pairs: Counter[frozenset[str]] = Counter()
    busy: Counter[tuple[str, int]] = Counter()
    table_use: Counter[tuple[int, str]] = Counter()
    meetings: Counter[str] = Counter()
    for p in schedule.placements:
        where = f"{p.key} at slot {p.slot} table {p.table}"
        request = requests.get(p.key)
        if request is None:
            found.append(f"unknown request {where}")
        elif {request.a, request.b} != {p.a, p.b}:
            found.append(f"participants of {where} differ from the request")
        if p.a == p.b:
            found.append(f"{where} meets {p.a} with themself")
        if p.slot not in slots:
            found.append(f"unknown slot {where}")
        if p.table not in tables:
            found.append(f"unknown table {where}")
        for participant in (p.a, p.b):
            if p.slot not in problem.availability.get(participant, frozenset()):
                found.append(f"{participant} is not available for {where}")
            busy[participant, p.slot] += 1
            meetings[participant] += 1
        keys[p.key] += 1
        pairs[frozenset((p.a, p.b))] += 1
        table_use[p.slot, p.table] += 1
    found += [f"request {key} placed {n} times" for key, n in keys.items() if n > 1]
    found += [f"pair {sorted(pr)} meets {n} times" for pr, n in pairs.items() if n > 1]
    found += [f"{who} double-booked in slot {s}" for (who, s), n in busy.items() if n > 1]
    found += [f"table {t} double-booked in slot {s}" for (s, t), n in table_use.items() if n > 1]
    for participant, n in meetings.items():
        cap = problem.caps.get(participant)
        if cap is not None and n > cap:
            found.append(f"{participant} has {n} meetings, cap {cap}")
    return found


def moved(previous: Schedule, new: Schedule) -> int:
    """How many meetings present in both schedules changed (slot, table)."""
    before = {p.key: (p.slot, p.table) for p in previous.placements}
    return sum(1 for p in new.placements if p.key in before and before[p.key] != (p.slot, p.table))
