"""Greedy placement and the local improvements every solver's result goes through (pure).

`Board` is a partial schedule of request keys in slots (tables are a count per slot until
`placements` assigns concrete ones). `polish` brings any board to the state the property
tests check:

* accepted: an unplaced accepted request cannot be placed by removing suggestions only;
* fairness: a participant with a placeable request and no meeting cannot get one directly,
  nor by removing ONE suggestion whose two participants both keep at least one meeting
  (in a repair, not one of the kept previous meetings);
* no single remaining request can be added with a positive gain in the objective.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from tandem_events.domain.scheduling_model import (
    FAIRNESS,
    GAP,
    Instance,
    Placement,
    Request,
    meeting_units,
)


class Board:
    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.slot_of: dict[str, int] = {}
        self.busy: dict[int, dict[str, str]] = {slot: {} for slot in instance.slots}
        self.count: Counter[str] = Counter()
        self.used: dict[str, set[int]] = {}
        # Kept meetings of a repaired schedule: only an accepted request may displace them.
        self.protected: set[str] = set()

    def placed(self) -> list[tuple[str, int]]:
        return list(self.slot_of.items())

    def tables_free(self, slot: int) -> bool:
        # Each participant of a slot's meeting appears once in busy[slot]: two per meeting.
        return len(self.busy[slot]) // 2 < len(self.instance.tables)

    def fits(self, request: Request, slot: int) -> bool:
        cap = self.instance.cap
        busy = self.busy[slot]
        return (
            request.key not in self.slot_of
            and request.a not in busy
            and request.b not in busy
            and self.tables_free(slot)
            and self.count[request.a] < cap[request.a]
            and self.count[request.b] < cap[request.b]
        )

    def place(self, request: Request, slot: int) -> None:
        self.slot_of[request.key] = slot
        for participant in (request.a, request.b):
            self.busy[slot][participant] = request.key
            self.count[participant] += 1
            self.used.setdefault(participant, set()).add(slot)

    def remove(self, key: str) -> None:
        request = self.instance.by_key[key]
        slot = self.slot_of.pop(key)
        for participant in (request.a, request.b):
            del self.busy[slot][participant]
            self.count[participant] -= 1
            self.used[participant].discard(slot)

    def gap_delta(self, participant: str, slot: int) -> int:
        used = self.used.get(participant, set())
        return self.instance.gaps([*used, slot]) - self.instance.gaps(used)

    def gain(self, request: Request, slot: int) -> int:
        """Change of the objective (integer units) if `request` is added at `slot`."""
        covered = (self.count[request.a] == 0) + (self.count[request.b] == 0)
        gaps = self.gap_delta(request.a, slot) + self.gap_delta(request.b, slot)
        return meeting_units(request) + FAIRNESS * covered - GAP * gaps

    def best_slot(self, request: Request) -> tuple[int, int] | None:
        """(gain, slot) of the best slot where `request` fits now; earliest on ties."""
        best: tuple[int, int] | None = None
        for slot in self.instance.common[request.key]:
            if self.fits(request, slot):
                gain = self.gain(request, slot)
                if best is None or gain > best[0]:
                    best = (gain, slot)
        return best

    def meetings_of(self, participant: str) -> list[str]:
        return [self.busy[slot][participant] for slot in self.used.get(participant, ())]


def greedy(instance: Instance, board: Board | None = None) -> Board:
    """Accepted requests first, then first meetings for uncovered participants (those with
    fewest options first), then the remaining suggestions by score; then `polish`."""
    board = board or Board(instance)
    for request in instance.requests:
        if request.accepted and request.key not in board.slot_of:
            _place_best(board, request, min_gain=None)
    options = {p: len(rs) for p, rs in instance.of_participant.items()}

    def scarcity(request: Request) -> tuple[int, float]:
        uncovered = [p for p in (request.a, request.b) if board.count[p] == 0]
        return (min(options[p] for p in uncovered), -request.score)

    first = [r for r in instance.requests if not r.accepted]
    first = [r for r in first if board.count[r.a] == 0 or board.count[r.b] == 0]
    for request in sorted(first, key=scarcity):
        if board.count[request.a] == 0 or board.count[request.b] == 0:
            _place_best(board, request, min_gain=None)
    polish(board)
    return board


def _place_best(board: Board, request: Request, *, min_gain: int | None) -> bool:
    best = board.best_slot(request)
    if best is None or (min_gain is not None and best[0] < min_gain):
        return False
    board.place(request, best[1])
    return True


def polish(board: Board) -> None:
    """Apply the local improvements until none applies. Each step raises (accepted placed,
    participants covered, meetings) lexicographically, so this terminates."""
    changed = True
    while changed:
        changed = insert_accepted(board)
        changed = fill(board) or changed
        changed = fair_swaps(board) or changed


def fill(board: Board) -> bool:
    """Add every unplaced request whose best slot has a positive gain."""
    changed = False
    for request in board.instance.requests:
        if request.key not in board.slot_of:
            changed = _place_best(board, request, min_gain=1) or changed
    return changed


def insert_accepted(board: Board) -> bool:
    """Place unplaced accepted requests by removing the cheapest suggestions in the way."""
    changed = False
    for request in board.instance.requests:
        if not request.accepted or request.key in board.slot_of:
            continue
        options = []
        for slot in board.instance.common[request.key]:
            removal = _displace_for(board, request, slot)
            if removal is not None:
                cost = sum(meeting_units(board.instance.by_key[key]) for key in removal)
                options.append((cost, board.instance.position[slot], slot, removal))
        if options:
            _, _, slot, removal = min(options, key=lambda option: option[:2])
            for key in removal:
                board.remove(key)
            board.place(request, slot)
            changed = True
    return changed


def _displace_for(board: Board, request: Request, slot: int) -> set[str] | None:
    """The suggestions to remove so that `request` fits in `slot`; None if only accepted
    meetings block it."""
    by_key = board.instance.by_key
    removal: set[str] = set()
    for participant in (request.a, request.b):
        key = board.busy[slot].get(participant)
        if key is not None:
            if by_key[key].accepted:
                return None
            removal.add(key)

    def cheapest(keys: Iterable[str]) -> str | None:
        candidates = [k for k in keys if k not in removal and not by_key[k].accepted]
        return min(candidates, key=lambda k: (meeting_units(by_key[k]), k), default=None)

    at_slot = set(board.busy[slot].values())
    if len(at_slot - removal) >= len(board.instance.tables):
        key = cheapest(at_slot)
        if key is None:
            return None
        removal.add(key)
    for participant in (request.a, request.b):
        mine = board.meetings_of(participant)
        if len(set(mine) - removal) >= board.instance.cap[participant]:
            key = cheapest(mine)
            if key is None:
                return None
            removal.add(key)
    return removal


def fair_swaps(board: Board) -> bool:
    """Give uncovered participants a meeting: directly, or by removing one suggestion whose
    two participants both keep another meeting."""
    instance = board.instance
    changed = False
    for participant, requests in instance.of_participant.items():
        if board.count[participant] > 0:
            continue
        direct = [(best, r) for r in requests if (best := board.best_slot(r)) is not None]
        if direct:
            (_, slot), request = max(direct, key=lambda option: option[0][0])
            board.place(request, slot)
            changed = True
            continue
        swaps = [swap for r in requests for swap in _single_swaps(board, r, participant)]
        if swaps:
            _, _, drop, request, slot = min(swaps, key=lambda swap: swap[:2])
            board.remove(drop)
            board.place(request, slot)
            changed = True
    return changed


def _single_swaps(
    board: Board, request: Request, uncovered: str
) -> list[tuple[int, int, str, Request, int]]:
    """(cost, position, key to drop, request, slot) for each single removal that lets the
    uncovered participant's `request` in without leaving anyone else without a meeting."""
    instance = board.instance
    other = request.b if request.a == uncovered else request.a

    def droppable(key: str) -> bool:
        dropped = instance.by_key[key]
        return (
            not dropped.accepted
            and key not in board.protected
            and board.count[dropped.a] > 1
            and board.count[dropped.b] > 1
        )

    found = []
    for slot in instance.common[request.key]:
        candidates: list[str]
        if other in board.busy[slot]:
            candidates = [board.busy[slot][other]]
        else:
            tables_full = not board.tables_free(slot)
            at_cap = board.count[other] >= instance.cap[other]
            if tables_full and at_cap:
                continue
            candidates = sorted(set(board.busy[slot].values())) if tables_full else []
            candidates += board.meetings_of(other) if at_cap else []
        for key in candidates:
            if droppable(key):
                cost = meeting_units(instance.by_key[key])
                found.append((cost, instance.position[slot], key, request, slot))
    return found


def placements(
    board: Board, previous: Mapping[str, tuple[int, str]] | None = None
) -> tuple[Placement, ...]:
    """Concrete tables: a meeting keeps its previous table when it stays in the same slot
    and the table is still there; the others take the free tables in order."""
    instance = board.instance
    previous = previous or {}
    result: list[Placement] = []
    for slot in instance.slots:
        keys = sorted(set(board.busy[slot].values()))
        taken: dict[str, str] = {}
        for key in keys:
            before = previous.get(key)
            if (
                before is not None
                and before[0] == slot
                and before[1] in instance.tables
                and before[1] not in taken.values()
            ):
                taken[key] = before[1]
        free = iter(t for t in instance.tables if t not in set(taken.values()))
        for key in keys:
            if key not in taken:
                taken[key] = next(free)
        for key in keys:
            request = instance.by_key[key]
            result.append(Placement(key, request.a, request.b, slot, taken[key]))
    order = {table: i for i, table in enumerate(instance.tables)}
    return tuple(sorted(result, key=lambda p: (instance.position[p.slot], order[p.table])))
