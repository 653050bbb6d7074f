"""Checks on problems and schedules, independent of the solvers (pure).

`violations` re-derives every rule from the `Problem` itself (not from the solvers'
`Instance`), so the property tests and the service's last check before storing do not
share the solvers' mistakes. `conflicts` lists what an organiser asked for that cannot
hold together (a pinned meeting outside its window, two pinned meetings of one person at
once, a precedence cycle, ...): the API answers those with a 4xx before solving.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from tandem_events.domain.scheduling_instance import Instance
from tandem_events.domain.scheduling_model import Placement, Problem, Request, Schedule


def participant_slots(problem: Problem, participant: str, person: str | None) -> frozenset[int]:
    """The slots `participant` (through `person`, for separate agendas) can meet in."""
    slots = problem.availability.get(participant, frozenset()) & frozenset(problem.slots)
    slots -= problem.forbidden.get(participant, frozenset())
    persons = problem.persons.get(participant, {})
    if participant in problem.separate and persons:
        return slots & persons.get(person or "", frozenset())
    for person_slots in persons.values():
        slots &= person_slots
    return slots


def _session(problem: Problem, slot: int) -> int:
    if problem.session_of_slot is not None:
        return problem.session_of_slot.get(slot, -1)
    return (problem.day_of_slot or {}).get(slot, 0)


def violations(problem: Problem, schedule: Schedule) -> list[str]:
    """Human-readable broken rules; [] means the schedule is valid for `problem`."""
    found: list[str] = []
    requests = {request.key: request for request in problem.requests}
    for placement in schedule.placements:
        found += _placement_violations(problem, requests.get(placement.key), placement)
    found += _double_bookings(problem, schedule.placements)
    found += _limits(problem, schedule.placements)
    found += _order(problem, schedule.placements)
    return found


def _placement_violations(problem: Problem, request: Request | None, p: Placement) -> list[str]:
    where = f"{p.key} at slot {p.slot} table {p.table}"
    if request is None:
        return [f"unknown request {where}"]
    found = []
    if (request.a, request.b) != (p.a, p.b) and (request.b, request.a) != (p.a, p.b):
        found.append(f"participants of {where} differ from the request")
    if p.a == p.b:
        found.append(f"{where} meets {p.a} with themself")
    if p.slot not in problem.slots:
        found.append(f"unknown slot {where}")
    if p.table not in problem.tables:
        found.append(f"unknown table {where}")
    if request.window is not None and p.slot not in request.window:
        found.append(f"{where} is outside its window")
    if request.fixed_slot is not None and p.slot != request.fixed_slot:
        found.append(f"{where} is pinned to slot {request.fixed_slot}")
    if request.fixed_table is not None and p.table != request.fixed_table:
        found.append(f"{where} is pinned to table {request.fixed_table}")
    named = {request.a: request.person_a, request.b: request.person_b}
    for participant, person in ((p.a, p.person_a), (p.b, p.person_b)):
        found += _attendance(problem, p.slot, (participant, person, named.get(participant)), where)
    return found


def _attendance(
    problem: Problem, slot: int, who: tuple[str, str | None, str | None], where: str
) -> list[str]:
    """`who` is (participant, attending person, person the request names)."""
    participant, person, named = who
    separate = participant in problem.separate and bool(problem.persons.get(participant))
    if separate and person not in problem.persons[participant]:
        return [f"{where} has no attending person of {participant}"]
    if not separate and person is not None:
        return [f"{where} names a person of {participant}, whose persons meet together"]
    if named is not None and person != named:
        return [f"{where} is not attended by {named} of {participant}"]
    if slot not in participant_slots(problem, participant, person):
        return [f"{participant} is not available for {where}"]
    return []


def _double_bookings(problem: Problem, placements: Iterable[Placement]) -> list[str]:
    keys: Counter[str] = Counter()
    pairs: Counter[frozenset[str]] = Counter()
    busy: Counter[tuple[str, str | None, int]] = Counter()
    tables: Counter[tuple[int, str]] = Counter()
    for p in placements:
        keys[p.key] += 1
        pairs[frozenset((p.a, p.b))] += 1
        busy[p.a, p.person_a, p.slot] += 1
        busy[p.b, p.person_b, p.slot] += 1
        tables[p.slot, p.table] += 1
    found = [f"request {key} placed {n} times" for key, n in keys.items() if n > 1]
    found += [f"pair {sorted(pr)} meets {n} times" for pr, n in pairs.items() if n > 1]
    found += [
        f"{who}{'/' + person if person else ''} double-booked in slot {s}"
        for (who, person, s), n in busy.items()
        if n > 1
    ]
    found += [f"table {t} double-booked in slot {s}" for (s, t), n in tables.items() if n > 1]
    return found


def _limits(problem: Problem, placements: Iterable[Placement]) -> list[str]:
    meetings: Counter[str] = Counter()
    per_session: Counter[tuple[str, int]] = Counter()
    for p in placements:
        for participant in (p.a, p.b):
            meetings[participant] += 1
            per_session[participant, _session(problem, p.slot)] += 1
    found = []
    for participant, n in meetings.items():
        cap = problem.caps.get(participant)
        if cap is not None and n > cap:
            found.append(f"{participant} has {n} meetings, cap {cap}")
    for (participant, session), n in per_session.items():
        cap = problem.session_caps.get(participant)
        if cap is not None and n > cap:
            found.append(f"{participant} has {n} meetings in session {session}, cap {cap}")
    return found


def _order(problem: Problem, placements: Iterable[Placement]) -> list[str]:
    position = {slot: i for i, slot in enumerate(problem.slots)}
    slot_of = {p.key: p.slot for p in placements if p.slot in position}
    found = []
    for before, after in problem.precedences:
        both = before in slot_of and after in slot_of
        if both and position[slot_of[before]] >= position[slot_of[after]]:
            found.append(f"{before} must come before {after}")
    return found


def conflicts(problem: Problem) -> list[str]:
    """What the organiser asked for that cannot hold (each a sentence for a 4xx answer)."""
    found: list[str] = []
    requests = {request.key: request for request in problem.requests}
    for request in problem.requests:
        found += _pin_conflicts(problem, request)
    found += _pins_together(problem)
    found += _precedence_conflicts(problem, requests)
    for participant in problem.separate:
        if not problem.persons.get(participant):
            found.append(f"{participant} has separate agendas but no persons")
    return found


def _pin_conflicts(problem: Problem, request: Request) -> list[str]:
    found = []
    key = request.key
    if request.window is not None and not request.window & frozenset(problem.slots):
        found.append(f"{key}: its window has no slot of the event")
    for participant, person in ((request.a, request.person_a), (request.b, request.person_b)):
        if person is not None and person not in problem.persons.get(participant, {}):
            found.append(f"{key}: {person} is not a person of {participant}")
        elif person is not None and participant not in problem.separate:
            found.append(f"{key}: {participant}'s persons meet together; none can be named")
    if request.fixed_table is not None and request.fixed_table not in problem.tables:
        found.append(f"{key}: no table {request.fixed_table}")
    slot = request.fixed_slot
    if slot is None:
        return found
    if slot not in problem.slots:
        found.append(f"{key}: no slot {slot}")
    elif request.window is not None and slot not in request.window:
        found.append(f"{key}: pinned to slot {slot}, outside its window")
    else:
        for participant, person in ((request.a, request.person_a), (request.b, request.person_b)):
            if not _free_person(problem, participant, person, slot):
                found.append(f"{key}: {participant} cannot meet in slot {slot}")
    return found


def _free_person(problem: Problem, participant: str, person: str | None, slot: int) -> bool:
    if participant in problem.separate and problem.persons.get(participant) and person is None:
        return any(
            slot in participant_slots(problem, participant, p) for p in problem.persons[participant]
        )
    return slot in participant_slots(problem, participant, person)


def _pins_together(problem: Problem) -> list[str]:
    """Pinned meetings of one slot: no more than the tables, one per pinned table, and no
    more per participant than it has agendas."""
    per_slot: dict[int, list[Request]] = defaultdict(list)
    for request in problem.requests:
        if request.fixed_slot is not None:
            per_slot[request.fixed_slot].append(request)
    found = []
    for slot, pinned in sorted(per_slot.items()):
        if len(pinned) > len(problem.tables):
            found.append(
                f"slot {slot}: {len(pinned)} pinned meetings, {len(problem.tables)} tables"
            )
        tables = Counter(r.fixed_table for r in pinned if r.fixed_table is not None)
        found += [f"slot {slot}: table {t} pinned {n} times" for t, n in tables.items() if n > 1]
        load = Counter(p for r in pinned for p in (r.a, r.b))
        for participant, n in sorted(load.items()):
            agendas = 1
            if participant in problem.separate:
                agendas = max(1, len(problem.persons.get(participant, {})))
            if n > agendas:
                found.append(f"slot {slot}: {participant} has {n} pinned meetings")
    return found


def _precedence_conflicts(problem: Problem, requests: dict[str, Request]) -> list[str]:
    found = []
    after: dict[str, set[str]] = defaultdict(set)
    for before, later in problem.precedences:
        missing = [key for key in (before, later) if key not in requests]
        if missing:
            found.append(f"precedence {before} -> {later}: unknown {', '.join(missing)}")
            continue
        if before == later:
            found.append(f"precedence {before} -> {later}: a meeting cannot precede itself")
            continue
        after[before].add(later)
        first, second = requests[before].fixed_slot, requests[later].fixed_slot
        position = {slot: i for i, slot in enumerate(problem.slots)}
        if first in position and second in position and position[first] >= position[second]:
            found.append(f"precedence {before} -> {later}: pinned the other way round")
    if _has_cycle(after):
        found.append("the precedences form a cycle")
    return found


def _has_cycle(after: dict[str, set[str]]) -> bool:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str) -> bool:
        state[node] = 1
        for nxt in after.get(node, ()):
            if state.get(nxt) == 1 or (nxt not in state and visit(nxt)):
                return True
        state[node] = 2
        return False

    return any(node not in state and visit(node) for node in list(after))


def agenda_costs(problem: Problem, schedule: Schedule) -> dict[str, tuple[int, int]]:
    """(breaks, idle slots) per agenda ("participant" or "participant/person")."""
    instance = Instance(problem)
    used: dict[str, list[int]] = defaultdict(list)
    for p in schedule.placements:
        for participant, person in ((p.a, p.person_a), (p.b, p.person_b)):
            label = participant if person is None else f"{participant}/{person}"
            used[label].append(p.slot)
    return {label: instance.day_cost(slots) for label, slots in used.items()}


def participant_gaps(problem: Problem, schedule: Schedule) -> dict[str, int]:
    """Idle slots per agenda."""
    return {label: idle for label, (_, idle) in agenda_costs(problem, schedule).items()}
