"""`Board`: a partial schedule of request variants in slots, kept valid move by move (pure).

Tables are a count per slot until `placements` assigns concrete ones. Every constraint of
the model is checked in `fits`, so every solver path (greedy, local search, repair) that
places through a board stays valid: agendas and tables not double-booked, slots inside the
variant's options (availability, forbidden slots, window, fixed slot), one variant per
request, one meeting per pinned table and slot, caps and session caps per participant, and
precedences.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from tandem_events.domain.scheduling_instance import Instance
from tandem_events.domain.scheduling_model import FAIRNESS, SPREAD, Placement, Request

# (participant, session) -> meetings
SessionKey = tuple[str, int]


class Board:
    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.slot_of: dict[str, int] = {}  # variant key -> slot
        self.placed_variant: dict[str, str] = {}  # request key -> its placed variant
        self.busy: dict[int, dict[str, str]] = {slot: {} for slot in instance.slots}
        self.count: Counter[str] = Counter()  # participant -> meetings
        self.in_session: Counter[SessionKey] = Counter()
        self.used: dict[str, set[int]] = {}  # agenda -> slots
        self.breaks: Counter[str] = Counter()  # agenda -> breaks
        self.histogram: Counter[int] = Counter({0: len(instance.of_agenda)})
        # Kept meetings of a repaired schedule: only an accepted request may displace them.
        self.protected: set[str] = set()

    def placed(self) -> list[tuple[str, int]]:
        return list(self.slot_of.items())

    def is_placed(self, request: Request) -> bool:
        return self.instance.group[request.key] in self.placed_variant

    def tables_free(self, slot: int) -> bool:
        # Each agenda of a slot's meeting appears once in busy[slot]: two per meeting.
        return len(self.busy[slot]) // 2 < len(self.instance.tables)

    def fits(self, request: Request, slot: int) -> bool:
        instance = self.instance
        busy = self.busy[slot]
        if (
            self.is_placed(request)
            or request.a in busy
            or request.b in busy
            or slot not in instance.allowed[request.key]
            or not self.tables_free(slot)
            or self.table_taken(request.key, slot) is not None
        ):
            return False
        for participant in (instance.owner[request.a], instance.owner[request.b]):
            if self.count[participant] >= instance.cap[participant]:
                return False
            limit = instance.session_cap.get(participant)
            if limit is not None and self.in_session[participant, instance.session[slot]] >= limit:
                return False
        return self.in_order(instance.group[request.key], slot)

    def table_taken(self, key: str, slot: int) -> str | None:
        """The meeting in `slot` pinned to the same table as `key`, if any."""
        pin = self.instance.table_pin(key)
        if pin is None:
            return None
        for other in set(self.busy[slot].values()):
            if self.instance.table_pin(other) == pin:
                return other
        return None

    def in_order(self, group: str, slot: int) -> bool:
        """Whether request `group` in `slot` keeps its precedences with placed requests."""
        position = self.instance.position
        for other, before in self.instance.order.get(group, ()):
            variant = self.placed_variant.get(other)
            if variant is None:
                continue
            mine, theirs = position[slot], position[self.slot_of[variant]]
            if (before and mine >= theirs) or (not before and mine <= theirs):
                return False
        return True

    def place(self, request: Request, slot: int) -> None:
        instance = self.instance
        self.slot_of[request.key] = slot
        self.placed_variant[instance.group[request.key]] = request.key
        for agenda in (request.a, request.b):
            participant = instance.owner[agenda]
            self.busy[slot][agenda] = request.key
            self.count[participant] += 1
            self.in_session[participant, instance.session[slot]] += 1
            self.used.setdefault(agenda, set()).add(slot)
            self._recount(agenda)

    def remove(self, key: str) -> None:
        instance = self.instance
        request = instance.by_key[key]
        slot = self.slot_of.pop(key)
        del self.placed_variant[instance.group[key]]
        for agenda in (request.a, request.b):
            participant = instance.owner[agenda]
            del self.busy[slot][agenda]
            self.count[participant] -= 1
            self.in_session[participant, instance.session[slot]] -= 1
            self.used[agenda].discard(slot)
            self._recount(agenda)

    def _recount(self, agenda: str) -> None:
        breaks = self.instance.day_cost(self.used[agenda])[0]
        if agenda in self.instance.of_agenda:
            self.histogram[self.breaks[agenda]] -= 1
            self.histogram[breaks] += 1
        self.breaks[agenda] = breaks

    def excess(self, changes: Mapping[str, int] | None = None) -> int:
        """Break spread beyond the limit, now or with some agendas' breaks changed."""
        if self.instance.problem.break_spread is None:
            return 0
        histogram = Counter(self.histogram)
        for agenda, breaks in (changes or {}).items():
            if agenda in self.instance.of_agenda:
                histogram[self.breaks[agenda]] -= 1
                histogram[breaks] += 1
        return self.instance.excess(histogram)

    def day_delta(self, agenda: str, slot: int) -> int:
        used = self.used.get(agenda, set())
        return self.instance.day_units([*used, slot]) - self.instance.day_units(used)

    def gain(self, request: Request, slot: int) -> int:
        """Change of the objective (integer units) if `request` is added at `slot`."""
        instance = self.instance
        owners = (instance.owner[request.a], instance.owner[request.b])
        covered = sum(1 for participant in owners if self.count[participant] == 0)
        days = self.day_delta(request.a, slot) + self.day_delta(request.b, slot)
        spread = 0
        if instance.problem.break_spread is not None:
            after = {
                agenda: instance.day_cost([*self.used.get(agenda, ()), slot])[0]
                for agenda in (request.a, request.b)
            }
            spread = self.excess(after) - self.excess()
        return instance.units[request.key] + FAIRNESS * covered - days - SPREAD * spread

    def best_slot(self, request: Request) -> tuple[int, int] | None:
        """(gain, slot) of the best slot where this variant fits now; earliest on ties."""
        best: tuple[int, int] | None = None
        for slot in self.instance.common[request.key]:
            if self.fits(request, slot):
                gain = self.gain(request, slot)
                if best is None or gain > best[0]:
                    best = (gain, slot)
        return best

    def best_option(self, group: str) -> tuple[int, Request, int] | None:
        """(gain, variant, slot) of the best place for request `group` now."""
        best: tuple[int, Request, int] | None = None
        for key in self.instance.variants[group]:
            variant = self.instance.by_key[key]
            found = self.best_slot(variant)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], variant, found[1])
        return best

    def meetings_of(self, agenda: str) -> list[str]:
        return [self.busy[slot][agenda] for slot in sorted(self.used.get(agenda, ()))]

    def meetings_of_participant(self, participant: str) -> list[str]:
        agendas = self.instance.agendas_of.get(participant, ())
        return [key for agenda in agendas for key in self.meetings_of(agenda)]

    def blockers(self, request: Request, slot: int) -> set[str]:
        """Placed meetings that may stop `request` fitting in `slot`: any one removal that
        lets it in is among these (its agendas' meetings there, the slot's meetings when
        the tables are full, its participants' meetings at a cap or session cap, and its
        placed precedence partners)."""
        instance = self.instance
        busy = self.busy[slot]
        found = {busy[x] for x in (request.a, request.b) if x in busy}
        pinned = self.table_taken(request.key, slot)
        if pinned is not None:
            found.add(pinned)
        if not self.tables_free(slot):
            found.update(busy.values())
        for participant in (instance.owner[request.a], instance.owner[request.b]):
            mine = self.meetings_of_participant(participant)
            if self.count[participant] >= instance.cap[participant]:
                found.update(mine)
            limit = instance.session_cap.get(participant)
            session = instance.session[slot]
            if limit is not None and self.in_session[participant, session] >= limit:
                found.update(k for k in mine if instance.session[self.slot_of[k]] == session)
        for other, _ in instance.order.get(instance.group[request.key], ()):
            variant = self.placed_variant.get(other)
            if variant is not None:
                found.add(variant)
        return found


def placements(
    board: Board, previous: Mapping[str, tuple[int, str]] | None = None
) -> tuple[Placement, ...]:
    """Concrete tables: a fixed meeting takes its fixed table; a meeting keeps its previous
    table when it stays in the same slot and the table is still there; the others take the
    free tables in order. `previous` maps request keys to (slot, table)."""
    instance = board.instance
    previous = previous or {}
    result: list[Placement] = []
    for slot in instance.slots:
        keys = sorted(set(board.busy[slot].values()))
        wishes = sorted(
            (rank, table, key)
            for key in keys
            if (wish := _wanted_table(instance, key, slot, previous)) is not None
            for rank, table in [wish]
        )
        taken: dict[str, str] = {}
        for _, table, key in wishes:
            if table not in taken.values():
                taken[key] = table
        free = iter(t for t in instance.tables if t not in set(taken.values()))
        for key in keys:
            if key not in taken:
                taken[key] = next(free)
        result += [_placement(instance, key, slot, taken[key]) for key in keys]
    order = {table: i for i, table in enumerate(instance.tables)}
    return tuple(sorted(result, key=lambda p: (instance.position[p.slot], order[p.table])))


def _wanted_table(
    instance: Instance, key: str, slot: int, previous: Mapping[str, tuple[int, str]]
) -> tuple[int, str] | None:
    """(0, its fixed table) or (1, the table it had in this slot before), if any."""
    request = instance.original[instance.group[key]]
    if request.fixed_table is not None and request.fixed_table in instance.tables:
        return (0, request.fixed_table)
    before = previous.get(request.key)
    if before is not None and before[0] == slot and before[1] in instance.tables:
        return (1, before[1])
    return None


def _placement(instance: Instance, key: str, slot: int, table: str) -> Placement:
    variant = instance.by_key[key]
    request = instance.original[instance.group[key]]
    return Placement(
        key=request.key,
        a=request.a,
        b=request.b,
        slot=slot,
        table=table,
        person_a=instance.person_of[variant.a],
        person_b=instance.person_of[variant.b],
    )


def board_of(instance: Instance, placed: Iterable[tuple[str, int]]) -> Board:
    """A board with the given (variant key, slot) pairs placed (trusted to be valid)."""
    board = Board(instance)
    for key, slot in placed:
        board.place(instance.by_key[key], slot)
    return board
