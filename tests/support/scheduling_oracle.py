"""Generated scheduling problems with every constraint of the model, and checks of a
schedule that do not use the solvers' code: `violations` (which re-derives every rule from
the `Problem`) is the oracle for "this meeting could be added here"."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Sequence

from hypothesis import strategies as st

from tandem_events.domain.scheduling import (
    Placement,
    Problem,
    Request,
    Schedule,
    moved,
    violations,
)
from tandem_events.domain.scheduling_instance import Instance, measure


@st.composite
def problems(draw: st.DrawFn, max_people: int = 6, max_slots: int = 5) -> Problem:
    people = [f"p{i}" for i in range(draw(st.integers(2, max_people)))]
    slots = tuple(range(draw(st.integers(1, max_slots))))
    some_slots = st.frozensets(st.sampled_from(slots), max_size=max(1, len(slots) // 2))
    availability = {p: frozenset(slots) - draw(some_slots) for p in people}
    caps = {p: draw(st.integers(0, 3)) for p in people if draw(st.booleans())}
    persons, separate = draw(_persons(people, slots))
    pairs = st.tuples(st.sampled_from(people), st.sampled_from(people)).filter(
        lambda pair: pair[0] != pair[1]
    )
    drawn = draw(
        st.lists(st.tuples(pairs, st.booleans(), st.floats(0, 1)), min_size=1, max_size=12)
    )
    requests = [
        Request(f"r{i}", a, b, accepted, round(score, 2))
        for i, ((a, b), accepted, score) in enumerate(drawn)
    ]
    requests = [draw(_constrained(request, slots, persons, separate)) for request in requests]
    keys = [request.key for request in requests]
    precedences = draw(
        st.lists(st.tuples(st.sampled_from(keys), st.sampled_from(keys)), max_size=3).map(
            lambda found: tuple((x, y) for x, y in found if x != y)
        )
    )
    days = None
    if len(slots) > 2 and draw(st.booleans()):
        days = {slot: slot * 2 // len(slots) for slot in slots}
    sessions = (
        {slot: int(slot >= len(slots) // 2) for slot in slots} if draw(st.booleans()) else None
    )
    return Problem(
        slots=slots,
        tables=tuple(f"T{i}" for i in range(draw(st.integers(1, 2)))),
        availability=availability,
        caps=caps,
        requests=tuple(requests),
        day_of_slot=days,
        forbidden={p: draw(some_slots) for p in people if draw(st.integers(0, 3)) == 0},
        persons=persons,
        separate=separate,
        session_of_slot=sessions,
        session_caps={p: draw(st.integers(1, 2)) for p in people if draw(st.integers(0, 3)) == 0},
        precedences=precedences,
        break_spread=draw(st.sampled_from([None, None, 0, 1])),
    )


@st.composite
def _persons(
    draw: st.DrawFn, people: list[str], slots: tuple[int, ...]
) -> tuple[dict[str, dict[str, frozenset[int]]], frozenset[str]]:
    """Some organisations send two persons, with joint or separate agendas."""
    persons: dict[str, dict[str, frozenset[int]]] = {}
    separate = set()
    some = st.frozensets(st.sampled_from(slots), min_size=1)
    for participant in people:
        if draw(st.integers(0, 3)) == 0:
            persons[participant] = {"x": draw(some), "y": draw(some)}
            if draw(st.booleans()):
                separate.add(participant)
    return persons, frozenset(separate)


@st.composite
def _constrained(
    draw: st.DrawFn,
    request: Request,
    slots: tuple[int, ...],
    persons: dict[str, dict[str, frozenset[int]]],
    separate: frozenset[str],
) -> Request:
    """A window, a pin, or a named person, now and then."""
    window = None
    if draw(st.integers(0, 3)) == 0:
        window = draw(st.frozensets(st.sampled_from(slots), min_size=1))
    fixed_slot = fixed_table = None
    if draw(st.integers(0, 7)) == 0:
        fixed_slot = draw(st.sampled_from(slots))
        fixed_table = draw(st.sampled_from([None, "T0"]))
    named = {}
    for side, participant in (("person_a", request.a), ("person_b", request.b)):
        if participant in separate and draw(st.integers(0, 2)) == 0:
            named[side] = draw(st.sampled_from(sorted(persons[participant])))
    return Request(
        request.key,
        request.a,
        request.b,
        request.accepted,
        request.score,
        window=window,
        fixed_slot=fixed_slot,
        fixed_table=fixed_table,
        **named,
    )


# --------------------------------------------------------------------------- oracle


def is_must(request: Request) -> bool:
    return request.accepted or request.fixed_slot is not None


def _people(problem: Problem, participant: str) -> list[str | None]:
    if participant in problem.separate and problem.persons.get(participant):
        return [*sorted(problem.persons[participant])]
    return [None]


def candidates(
    problem: Problem, request: Request, placements: Sequence[Placement]
) -> Iterator[Placement]:
    """Every (slot, persons) the request could take, each at a table free there."""
    for slot in problem.slots:
        taken = {p.table for p in placements if p.slot == slot}
        table = next((t for t in problem.tables if t not in taken), problem.tables[0])
        if request.fixed_table is not None:
            table = request.fixed_table
        for person_a in _people(problem, request.a):
            for person_b in _people(problem, request.b):
                yield Placement(request.key, request.a, request.b, slot, table, person_a, person_b)


def can_add(problem: Problem, placements: Sequence[Placement], request: Request) -> bool:
    return any(
        not violations(problem, Schedule((*placements, candidate), "oracle", False, 0.0))
        for candidate in candidates(problem, request, placements)
    )


def placeable(problem: Problem, request: Request) -> bool:
    return can_add(problem, (), request)


def assert_valid(problem: Problem, result: Schedule) -> None:
    assert violations(problem, result) == []


def assert_must_first(problem: Problem, result: Schedule) -> None:
    """An unplaced fixed or accepted request cannot be placed even with every suggestion
    removed."""
    placed = {p.key for p in result.placements}
    kept = [p for p in result.placements if is_must(_request(problem, p.key))]
    for request in _distinct(problem):
        if is_must(request) and request.key not in placed:
            assert not can_add(problem, kept, request), f"{request.key} could displace suggestions"


def assert_fair(
    problem: Problem, result: Schedule, protected: frozenset[str] = frozenset()
) -> None:
    """A participant with a placeable request and no meeting could not get one directly,
    nor by removing ONE suggestion whose two participants both have more than one meeting
    (in a repair: not one of the kept previous meetings)."""
    meetings = Counter(x for p in result.placements for x in (p.a, p.b))
    current = list(result.placements)
    placed = {p.key for p in current}
    for request in _distinct(problem):
        if request.key in placed or (meetings[request.a] and meetings[request.b]):
            continue
        if not placeable(problem, request) or _pair_met(current, request):
            continue
        assert not can_add(problem, current, request), f"{request.key} fits directly"
        for i, dropped in enumerate(current):
            if (
                is_must(_request(problem, dropped.key))
                or dropped.key in protected
                or meetings[dropped.a] < 2
                or meetings[dropped.b] < 2
            ):
                continue
            rest = current[:i] + current[i + 1 :]
            assert not can_add(problem, rest, request), (
                f"dropping {dropped.key} lets {request.key} in"
            )


def _pair_met(placements: Sequence[Placement], request: Request) -> bool:
    return any({p.a, p.b} == {request.a, request.b} for p in placements)


def _request(problem: Problem, key: str) -> Request:
    return next(r for r in problem.requests if r.key == key)


def _distinct(problem: Problem) -> list[Request]:
    """The requests the solvers consider: one per key (fixed, then accepted, then score)."""
    instance = Instance(problem)
    return [instance.original[key] for key in instance.original]


def assert_all(problem: Problem, result: Schedule, protected: frozenset[str] = frozenset()) -> None:
    assert_valid(problem, result)
    assert_must_first(problem, result)
    assert_fair(problem, result, protected)


def displacement_allowance(problem: Problem, previous: Schedule, result: Schedule) -> int:
    """How many kept meetings newly placed fixed and accepted requests may displace: per
    request its two agendas' meetings in its slot, one table, one per cap and session cap
    of each side, and its precedence partners."""
    before = {p.key for p in previous.placements}
    allowance = 0
    for placement in result.placements:
        request = _request(problem, placement.key)
        if placement.key not in before and is_must(request):
            partners = sum(1 for pair in problem.precedences if request.key in pair)
            allowance += 7 + partners
    return allowance


def must_placed(problem: Problem, result: Schedule) -> tuple[int, int]:
    """(fixed, fixed + accepted) requests placed."""
    requests = {r.key: r for r in problem.requests}
    fixed = sum(1 for p in result.placements if requests[p.key].fixed_slot is not None)
    return fixed, sum(1 for p in result.placements if is_must(requests[p.key]))


def assert_repair_keeps(
    previous: Schedule, problem: Problem, repaired: Schedule, protected_only: Schedule
) -> None:
    """`protected_only` is the same repair without CP-SAT: when the repair moved kept
    meetings to fit requests ("moves"), it must have placed more fixed or accepted
    requests than that (and how few it moved is checked against brute force elsewhere)."""
    if "moves" in repaired.solver:
        assert must_placed(problem, repaired) > must_placed(problem, protected_only)
        return
    after = {p.key: (p.slot, p.table, p.person_a, p.person_b) for p in repaired.placements}
    considered = {request.key for request in _distinct(problem)}  # one request per pair
    still_valid = [
        p
        for p in previous.placements
        if p.key in considered and not violations(problem, Schedule((p,), "oracle", False, 0.0))
    ]
    disturbed = [
        p for p in still_valid if after.get(p.key) != (p.slot, p.table, p.person_a, p.person_b)
    ]
    assert all(not is_must(_request(problem, p.key)) for p in disturbed)
    allowance = displacement_allowance(problem, previous, repaired)
    assert len(disturbed) <= allowance
    # A meeting the new state made invalid may move too (rather than be dropped).
    invalid = len(previous.placements) - len(still_valid)
    assert moved(previous, repaired) <= allowance + invalid


def disturbed(previous: Schedule, placements: Sequence[Placement]) -> int:
    """Previous meetings not in the same slot with the same persons (moved or dropped)."""
    now = {p.key: (p.slot, p.person_a, p.person_b) for p in placements}
    return sum(1 for p in previous.placements if now.get(p.key) != (p.slot, p.person_a, p.person_b))


def brute_force_fewest_moves(problem: Problem, previous: Schedule) -> tuple[tuple[int, int], int]:
    """The most (fixed, fixed + accepted) requests any valid schedule places, and the fewest
    previous meetings such a schedule disturbs (tiny problems only)."""
    instance = Instance(problem)
    groups = list(instance.original)
    options = [
        [None, *((key, slot) for key in instance.variants[g] for slot in instance.common[key])]
        for g in groups
    ]
    best: tuple[tuple[int, int], int] = ((0, 0), len(previous.placements))
    for choice in itertools.product(*options):
        chosen = [item for item in choice if item is not None]
        placements = _placements(problem, instance, chosen)
        if placements is None:
            continue
        found = must_placed(problem, Schedule(tuple(placements), "oracle", False, 0.0))
        moves = disturbed(previous, placements)
        if found > best[0] or (found == best[0] and moves < best[1]):
            best = (found, moves)
    return best


def brute_force_best(problem: Problem) -> tuple[int, ...]:
    """The best rank over every valid schedule (tiny problems only)."""
    instance = Instance(problem)
    groups = list(instance.original)
    options = [
        [None, *((key, slot) for key in instance.variants[g] for slot in instance.common[key])]
        for g in groups
    ]
    best = measure(instance, []).rank()
    for choice in itertools.product(*options):
        chosen = [item for item in choice if item is not None]
        if _valid_choice(problem, instance, chosen):
            best = max(best, measure(instance, chosen).rank())
    return best


def search_space(problem: Problem) -> int:
    instance = Instance(problem)
    size = 1
    for group in instance.original:
        size *= 1 + sum(len(instance.common[key]) for key in instance.variants[group])
    return size


def _valid_choice(problem: Problem, instance: Instance, chosen: list[tuple[str, int]]) -> bool:
    return _placements(problem, instance, chosen) is not None


def _placements(
    problem: Problem, instance: Instance, chosen: list[tuple[str, int]]
) -> list[Placement] | None:
    """The (variant key, slot) pairs as placements if they make a valid schedule: pinned
    tables first, then the free tables in order; else None."""
    placements = []
    for slot in problem.slots:
        here = [
            (instance.by_key[k], instance.original[instance.group[k]])
            for k, s in chosen
            if s == slot
        ]
        pinned = {r.fixed_table for _, r in here if r.fixed_table is not None}
        free = iter(t for t in problem.tables if t not in pinned)
        for variant, request in here:
            table = request.fixed_table or next(free, None)
            if table is None:
                return None
            placements.append(
                Placement(
                    request.key,
                    request.a,
                    request.b,
                    slot,
                    table,
                    instance.person_of[variant.a],
                    instance.person_of[variant.b],
                )
            )
    if violations(problem, Schedule(tuple(placements), "oracle", False, 0.0)):
        return None
    return placements
