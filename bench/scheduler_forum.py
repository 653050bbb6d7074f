"""Forum-like B2B meeting-scheduling instances, shaped like the published forum benchmark
(42-60 businesses, 125-237 meetings, 16-27 tables, 8-10 slots, every meeting requested and
to be placed).

Each business asks for 2-11 meetings with random partners (one per pair); the day has 8 or
10 slots, the first half the morning session and the second the afternoon. A random
schedule is planted first, at 85-98 % of the tables (so tables are the binding resource),
and only the meetings it could place are kept: every instance can be placed in full. The
planted schedule is then forgotten; everything the variants add is taken from it, so they
never make an instance infeasible:

* base: 0-2 forbidden slots for 60 % of businesses (where it has no planted meeting: a late
  arrival, an early departure, sometimes a hole in its day);
* sessions: also 15 % of businesses present only in the session of their planted meetings
  (the other session forbidden) and 30 % of meetings restricted to their planted session;
* precedences: also, for 10 % of businesses, one meeting before another (planted order).

    from bench.scheduler_forum import forum
    problem = forum(seed=3, variant="sessions")
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from tandem_events.domain.scheduling import Problem, Request

VARIANTS = ("base", "sessions", "precedences")


@dataclass
class _Plant:
    slots: int
    tables: int
    slot_of: dict[tuple[int, int], int] = field(default_factory=dict)
    busy: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    load: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def place(self, pair: tuple[int, int], rng: random.Random) -> None:
        a, b = pair
        free = [
            s
            for s in range(self.slots)
            if s not in self.busy[a] and s not in self.busy[b] and self.load[s] < self.tables
        ]
        if free:
            slot = rng.choice(free)
            self.slot_of[pair] = slot
            self.busy[a].add(slot)
            self.busy[b].add(slot)
            self.load[slot] += 1


def _pairs(rng: random.Random, businesses: int, slots: int) -> list[tuple[int, int]]:
    """Random partners for 2-11 requested meetings per business (at most one per pair)."""
    stubs = [b for b in range(businesses) for _ in range(min(slots, rng.randint(2, 11)))]
    rng.shuffle(stubs)
    pairs: set[tuple[int, int]] = set()
    while len(stubs) > 1:
        a = stubs.pop()
        for i in range(len(stubs) - 1, -1, -1):
            b = stubs[i]
            pair = (min(a, b), max(a, b))
            if b != a and pair not in pairs:
                pairs.add(pair)
                stubs.pop(i)
                break
    found = sorted(pairs)
    rng.shuffle(found)
    return found


def forum(seed: int, variant: str = "base", businesses: int | None = None) -> Problem:
    rng = random.Random(f"forum-{seed}")
    businesses = businesses or rng.randint(40, 80)
    slots = rng.choice((8, 10))
    pairs = _pairs(rng, businesses, slots)
    tables = max(1, round(len(pairs) / slots / rng.uniform(0.85, 0.98)))
    plant = _Plant(slots, tables)
    for pair in pairs:
        plant.place(pair, rng)
    meetings = list(plant.slot_of)
    half = slots // 2

    def session(slot: int) -> int:
        return int(slot >= half)

    forbidden = {b: _forbidden(rng, plant, b) for b in range(businesses)}
    windows: dict[tuple[int, int], frozenset[int]] = {}
    if variant in ("sessions", "precedences"):
        forbidden = _half_day_businesses(rng, plant, businesses, forbidden, session)
        for pair in meetings:
            if rng.random() < 0.3:
                own = session(plant.slot_of[pair])
                windows[pair] = frozenset(s for s in range(slots) if session(s) == own)
    precedences = _precedences(rng, plant, businesses) if variant == "precedences" else []
    requests = tuple(
        Request(_key(pair), f"b{pair[0]}", f"b{pair[1]}", True, 0.5, window=windows.get(pair))
        for pair in meetings
    )
    return Problem(
        slots=tuple(range(slots)),
        tables=tuple(f"T{i + 1}" for i in range(tables)),
        availability={f"b{b}": frozenset(range(slots)) for b in range(businesses)},
        caps={},
        requests=requests,
        forbidden={f"b{b}": slots_ for b, slots_ in forbidden.items() if slots_},
        session_of_slot={s: session(s) for s in range(slots)},
        precedences=tuple(precedences),
    )


def _key(pair: tuple[int, int]) -> str:
    return f"m{pair[0]}-{pair[1]}"


def _forbidden(rng: random.Random, plant: _Plant, business: int) -> frozenset[int]:
    """0-2 slots without a planted meeting: mostly a late arrival or an early departure,
    sometimes a hole in the day (a talk to give)."""
    busy = plant.busy[business]
    if not busy or rng.random() < 0.4:
        return frozenset()
    wanted = rng.randint(1, 2)
    roll = rng.random()
    if roll < 0.4:
        found = [s for s in range(min(busy))][:wanted]
    elif roll < 0.8:
        found = [s for s in range(max(busy) + 1, plant.slots)][-wanted:]
    else:
        holes = [s for s in range(min(busy), max(busy)) if s not in busy]
        found = rng.sample(holes, min(1, len(holes)))
    return frozenset(found)


def _half_day_businesses(
    rng: random.Random,
    plant: _Plant,
    businesses: int,
    forbidden: dict[int, frozenset[int]],
    session: Callable[[int], int],
) -> dict[int, frozenset[int]]:
    """15 % of the businesses whose planted meetings all fall in one session are there
    only for that session."""
    result = dict(forbidden)
    for b in range(businesses):
        sessions = {session(s) for s in plant.busy[b]}
        if len(sessions) == 1 and rng.random() < 0.15:
            (own,) = sessions
            away = frozenset(s for s in range(plant.slots) if session(s) != own)
            result[b] = result[b] | away
    return result


def _precedences(rng: random.Random, plant: _Plant, businesses: int) -> list[tuple[str, str]]:
    """For 10 % of the businesses, a meeting before a later one (as planted)."""
    found = []
    for b in range(businesses):
        mine = sorted((slot, pair) for pair, slot in plant.slot_of.items() if b in pair)
        if len(mine) >= 2 and rng.random() < 0.1:
            (_, first), (_, second) = sorted(rng.sample(mine, 2))
            found.append((_key(first), _key(second)))
    return found
