"""Greedy placement and the clean-up every solver's result goes through (pure).

`polish` brings any board to the state the property tests check:

* accepted: an unplaced fixed or accepted request cannot be placed by removing suggestions
  only (the meetings of its agendas in a slot, one of the slot's tables, one meeting per cap
  or session cap, and its precedence partners);
* fairness: a participant with a placeable request and no meeting cannot get one directly,
  nor by removing ONE suggestion whose two participants both keep at least one meeting
  (in a repair, not one of the kept previous meetings);
* no single remaining request can be added with a positive gain in the objective.
"""

from __future__ import annotations

from collections.abc import Iterable

from tandem_events.domain.scheduling_board import Board
from tandem_events.domain.scheduling_instance import Instance
from tandem_events.domain.scheduling_model import Request


def greedy(instance: Instance, board: Board | None = None) -> Board:
    """Fixed and accepted requests first (after those they must follow), then first
    meetings for uncovered participants (those with fewest options first), then the
    remaining suggestions by score; `polish`."""
    board = board or Board(instance)
    # Priority order, except that a request comes after those it must follow.
    for group in sorted(instance.original, key=instance.depth.__getitem__):
        if instance.must(group) and group not in board.placed_variant:
            _place_best(board, group, min_gain=None)
    options: dict[str, int] = {}
    for request in instance.original.values():
        for participant in (request.a, request.b):
            options[participant] = options.get(participant, 0) + 1

    def uncovered(request: Request) -> list[str]:
        return [p for p in (request.a, request.b) if board.count[p] == 0]

    first = [r for r in instance.original.values() if not instance.must(r.key) and uncovered(r)]
    first.sort(key=lambda r: (min(options[p] for p in uncovered(r)), -r.score))
    for request in first:
        if uncovered(request) and request.key not in board.placed_variant:
            _place_best(board, request.key, min_gain=None)
    polish(board)
    return board


def _place_best(board: Board, group: str, *, min_gain: int | None) -> bool:
    best = board.best_option(group)
    if best is None or (min_gain is not None and best[0] < min_gain):
        return False
    board.place(best[1], best[2])
    return True


def polish(board: Board) -> None:
    """Apply the local improvements until none applies. Each step raises (fixed and accepted
    placed, participants covered, meetings) lexicographically, so this terminates."""
    changed = True
    while changed:
        changed = insert_accepted(board)
        changed = fill(board) or changed
        changed = fair_swaps(board) or changed


def fill(board: Board) -> bool:
    """Add every unplaced request whose best place has a positive gain."""
    changed = False
    for group in board.instance.original:
        if group not in board.placed_variant:
            changed = _place_best(board, group, min_gain=1) or changed
    return changed


def insert_accepted(board: Board) -> bool:
    """Place unplaced fixed and accepted requests by removing the cheapest suggestions in
    the way."""
    instance = board.instance
    changed = False
    for group in instance.original:
        if not instance.must(group) or group in board.placed_variant:
            continue
        options = []
        for key in instance.variants[group]:
            variant = instance.by_key[key]
            for slot in instance.common[key]:
                removal = _displace_for(board, variant, slot)
                if removal is not None:
                    cost = sum(instance.units[k] for k in removal)
                    options.append((cost, instance.position[slot], key, slot, removal))
        for _, _, key, slot, removal in sorted(options, key=lambda option: option[:4]):
            if exchange(board, removal, instance.by_key[key], slot):
                changed = True
                break
    return changed


def exchange(board: Board, removal: Iterable[str], request: Request, slot: int) -> bool:
    """Remove `removal` and place `request` at `slot` if it then fits; else change nothing."""
    old = [(key, board.slot_of[key]) for key in sorted(removal)]
    for key, _ in old:
        board.remove(key)
    if board.fits(request, slot):
        board.place(request, slot)
        return True
    for key, at in old:
        board.place(board.instance.by_key[key], at)
    return False


def _displace_for(board: Board, request: Request, slot: int) -> set[str] | None:
    """The suggestions to remove so that `request` fits in `slot`; None if a fixed or
    accepted meeting blocks it."""
    instance = board.instance
    removal: set[str] = set()
    in_the_way = [board.busy[slot].get(agenda) for agenda in (request.a, request.b)]
    in_the_way.append(board.table_taken(request.key, slot))
    for key in in_the_way:
        if key is not None:
            if instance.must(key):
                return None
            removal.add(key)
    for other, before in instance.order.get(instance.group[request.key], ()):
        key = board.placed_variant.get(other)
        if key is None or key in removal:
            continue
        mine, theirs = instance.position[slot], instance.position[board.slot_of[key]]
        if (before and mine >= theirs) or (not before and mine <= theirs):
            if instance.must(key):
                return None
            removal.add(key)

    def cheapest(keys: Iterable[str]) -> str | None:
        candidates = [k for k in keys if k not in removal and not instance.must(k)]
        return min(candidates, key=lambda k: (instance.units[k], k), default=None)

    for pool, limit in _limits(board, request, slot):
        if len(set(pool) - removal) >= limit:
            key = cheapest(pool)
            if key is None:
                return None
            removal.add(key)
    return removal


def _limits(board: Board, request: Request, slot: int) -> list[tuple[list[str], int]]:
    """(meetings, how many of them may stay) for the tables of `slot`, each participant's
    cap and each participant's session cap."""
    instance = board.instance
    limits = [(sorted(set(board.busy[slot].values())), len(instance.tables))]
    for participant in (instance.owner[request.a], instance.owner[request.b]):
        mine = board.meetings_of_participant(participant)
        limits.append((mine, instance.cap[participant]))
        limit = instance.session_cap.get(participant)
        if limit is not None:
            session = instance.session[slot]
            same = [k for k in mine if instance.session[board.slot_of[k]] == session]
            limits.append((same, limit))
    return limits


def fair_swaps(board: Board) -> bool:
    """Give uncovered participants a meeting: directly, or by removing one suggestion whose
    two participants both keep another meeting."""
    instance = board.instance
    changed = False
    for participant in instance.participants:
        if board.count[participant] > 0:
            continue
        groups = _groups_of(instance, participant)
        direct = [(best, g) for g in groups if (best := board.best_option(g)) is not None]
        if direct:
            (_, request, slot), _ = max(direct, key=lambda option: option[0][0])
            board.place(request, slot)
            changed = True
            continue
        swaps = [swap for g in groups for swap in _single_swaps(board, g)]
        for _, _, drop, key, slot in sorted(swaps):
            if exchange(board, [drop], instance.by_key[key], slot):
                changed = True
                break
    return changed


def _groups_of(instance: Instance, participant: str) -> list[str]:
    groups = {
        instance.group[variant.key]
        for agenda in instance.agendas_of.get(participant, ())
        for variant in instance.of_agenda.get(agenda, ())
    }
    return sorted(groups)


def _single_swaps(board: Board, group: str) -> list[tuple[int, int, str, str, int]]:
    """(cost, position, key to drop, variant key, slot) for each single removal that lets
    request `group` in without leaving anyone else without a meeting."""
    instance = board.instance

    def droppable(key: str) -> bool:
        dropped = instance.by_key[key]
        return (
            not instance.must(key)
            and key not in board.protected
            and board.count[instance.owner[dropped.a]] > 1
            and board.count[instance.owner[dropped.b]] > 1
        )

    found = []
    for key in instance.variants[group]:
        request = instance.by_key[key]
        for slot in instance.common[key]:
            for drop in sorted(board.blockers(request, slot)):
                if droppable(drop) and _fits_without(board, drop, request, slot):
                    cost = instance.units[drop]
                    found.append((cost, instance.position[slot], drop, key, slot))
    return found


def _fits_without(board: Board, drop: str, request: Request, slot: int) -> bool:
    at = board.slot_of[drop]
    board.remove(drop)
    fits = board.fits(request, slot)
    board.place(board.instance.by_key[drop], at)
    return fits
