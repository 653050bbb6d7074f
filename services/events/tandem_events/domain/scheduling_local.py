"""Local search on a `Board`: small moves that strictly raise the documented objective (pure).

Every move is tried on the board (whose `fits` checks every constraint of the model) and
kept only when `value_units` (computed exactly on the agendas it touches, plus the break
spread) goes up, so a run never makes a schedule worse, never breaks a rule, and always
ends. Meetings in `board.protected` (the kept meetings of a repair) never move and are
never dropped, so a repair stays minimal-move. Moves work on request variants (for separate
agendas, the attending persons stay as placed); the moves:

* relocate: move a meeting to another slot both agendas can attend (closes breaks and idle
  slots);
* swap: exchange the slots of two meetings (the one blocking the target slot, or any meeting
  of a full slot) — for breaks the relocation alone cannot close;
* eject-and-insert: place an unplaced request in a slot where one or two meetings (or a full
  set of tables) block it, after relocating those meetings to other slots — places more
  meetings, and accepted requests that only accepted meetings blocked;
* replace: drop a capped participant's cheapest suggestion for a more valuable unplaced one.

`improve` alternates these passes with `polish` (which restores the accepted-first and
fairness properties the tests check) until nothing improves or the deadline passes;
`perturb` then uses the time left to escape its local optimum (iterated local search).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence

from tandem_events.domain.scheduling_board import Board
from tandem_events.domain.scheduling_greedy import polish
from tandem_events.domain.scheduling_instance import value_units
from tandem_events.domain.scheduling_model import FAIRNESS, SPREAD, Request

Addition = tuple[Request, int]


def improve(
    board: Board, *, deadline: float | None = None, focus: Iterable[str] | None = None
) -> bool:
    """Run the local moves until none improves the objective (or `deadline`, a
    `time.perf_counter()` value, passes). Returns whether the board changed.

    The first round looks at the participants in `focus` (everyone when None: a repair
    passes those whose meetings changed); later rounds only at the participants a kept move
    touched (and their unplaced requests), which is where new improvements can appear."""
    run = _Run(deadline)
    run.dirty = None if focus is None else set(focus)
    changed = False
    while not run.up():
        polish(board)
        if not _round(board, run):
            break
        changed = True
    polish(board)
    return changed


def _round(board: Board, run: _Run) -> bool:
    """One pass of every move over the participants in view; True if any move was kept."""
    run.touched = set()
    _compact(board, run)
    _insert_with_ejection(board, run)
    _replace_capped(board, run)
    run.dirty = run.touched
    return bool(run.touched)


def perturb(
    board: Board, *, deadline: float, seed: int = 0, size: int = 5, patience: int = 200
) -> bool:
    """Iterated local search, for the time left after `improve`: free the suggestions of a
    few random participants with idle gaps, re-place them (best slot first) and run the
    moves around them; keep the result when the objective did not drop, else restore.
    Stops at `deadline`, when nobody has a gap, or after `patience` tries in a row without a
    strict improvement. The board never gets worse; the last `polish` keeps the accepted
    and fairness properties. Returns whether the objective rose."""
    instance = board.instance
    rng = random.Random(seed)
    best = value_units(instance, board.placed())
    start, stale = best, 0
    while time.perf_counter() < deadline and stale < patience:
        gapped = sorted(a for a, used in board.used.items() if used and instance.day_units(used))
        if not gapped:
            break
        snapshot = dict(board.slot_of)
        freed = _free_suggestions(board, rng.sample(gapped, min(size, len(gapped))))
        _refill(board, freed)
        run = _Run(deadline)
        run.dirty = freed
        while not run.up() and _round(board, run):
            pass
        value = value_units(instance, board.placed())
        stale = 0 if value > best else stale + 1
        if value >= best:
            best = value
        else:
            _restore(board, snapshot)
    polish(board)
    return value_units(instance, board.placed()) > start


def _free_suggestions(board: Board, agendas: Iterable[str]) -> set[str]:
    """Remove the movable suggestions of `agendas`; the agendas they involved."""
    freed: set[str] = set()
    for agenda in agendas:
        for key in board.meetings_of(agenda):
            request = board.instance.by_key[key]
            if not request.accepted and key not in board.protected:
                board.remove(key)
                freed.update((request.a, request.b))
    return freed


def _refill(board: Board, agendas: set[str]) -> None:
    """Place the unplaced requests of `agendas` (priority order) where they gain the most."""
    instance = board.instance
    groups = {instance.group[r.key] for a in agendas for r in instance.of_agenda.get(a, ())}
    for group in instance.original:  # priority order
        if group not in groups or group in board.placed_variant:
            continue
        best = board.best_option(group)
        if best is not None and best[0] > 0:
            board.place(best[1], best[2])


def _restore(board: Board, snapshot: dict[str, int]) -> None:
    """Put the board back to `snapshot` (request key -> slot), touching only the changes."""
    for key, slot in list(board.slot_of.items()):
        if snapshot.get(key) != slot:
            board.remove(key)
    for key, slot in snapshot.items():
        if key not in board.slot_of:
            board.place(board.instance.by_key[key], slot)


class _Run:
    """The deadline, and which participants the current round looks at (None: all)."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.dirty: set[str] | None = None
        self.touched: set[str] = set()

    def up(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline

    def looks_at(self, *people: str) -> bool:
        return self.dirty is None or any(p in self.dirty for p in people)

    def move(self, board: Board, removals: Sequence[str], additions: Sequence[Addition]) -> bool:
        if not try_move(board, removals, additions):
            return False
        by_key = board.instance.by_key
        self.touched.update(x for key in removals for x in (by_key[key].a, by_key[key].b))
        self.touched.update(x for request, _ in additions for x in (request.a, request.b))
        return True


def _local_units(board: Board, agendas: Iterable[str]) -> int:
    """Coverage, breaks and idle terms of the objective for `agendas` and their
    participants, and the spread term (the rest does not change)."""
    instance = board.instance
    total = 0
    owners = set()
    for agenda in agendas:
        owners.add(instance.owner[agenda])
        used = board.used.get(agenda)
        if used:
            total -= instance.day_units(used)
    total += FAIRNESS * sum(1 for participant in owners if board.count[participant] > 0)
    return total - SPREAD * board.excess()


def try_move(board: Board, removals: Sequence[str], additions: Sequence[Addition]) -> bool:
    """Remove `removals`, then place `additions` (a removed key may come back in another
    slot); keep the result only if every addition fits and the objective strictly rises."""
    by_key = board.instance.by_key
    units = board.instance.units
    if any(key in board.protected for key in removals):
        return False
    people = {x for key in removals for x in (by_key[key].a, by_key[key].b)}
    people |= {x for request, _ in additions for x in (request.a, request.b)}
    before = _local_units(board, people)
    before += sum(units[key] for key in removals)
    old = [(key, board.slot_of[key]) for key in removals]
    for key in removals:
        board.remove(key)
    done: list[str] = []
    for request, slot in additions:
        if not board.fits(request, slot):
            break
        board.place(request, slot)
        done.append(request.key)
    if len(done) == len(additions):
        after = _local_units(board, people)
        after += sum(units[request.key] for request, _ in additions)
        if after > before:
            return True
    for key in done:
        board.remove(key)
    for key, slot in old:
        board.place(by_key[key], slot)
    return False


def _compact(board: Board, run: _Run) -> None:
    """Move the first or last meeting of a participant's day into one of their idle slots
    (relocating, or swapping with what blocks it there). Only such moves can shorten that
    participant's span, so only they are tried."""
    instance = board.instance
    people = board.used if run.dirty is None else run.dirty
    for agenda in sorted(people):
        if run.up():
            break
        if not board.used.get(agenda) or instance.gaps(board.used[agenda]) == 0:
            continue
        for day_slots in instance.days:
            _compact_day(board, run, agenda, day_slots)


def _compact_day(board: Board, run: _Run, participant: str, day_slots: tuple[int, ...]) -> None:
    used = [slot for slot in day_slots if slot in board.used[participant]]
    if len(used) < 2:
        return
    start, end = day_slots.index(used[0]), day_slots.index(used[-1])
    idle = [slot for slot in day_slots[start:end] if slot not in board.used[participant]]
    for edge in (used[0], used[-1]):
        key = board.busy[edge].get(participant)
        if key is None or key in board.protected:
            continue  # moved away by an earlier move of this loop, or kept by a repair
        common = board.instance.common[key]
        for target in idle:
            if target in common and _relocate_or_swap(board, run, key, edge, target):
                return  # the idle slots changed; the next round looks again


def _relocate_or_swap(board: Board, run: _Run, key: str, slot: int, target: int) -> bool:
    instance = board.instance
    request = instance.by_key[key]
    busy = board.busy[target]
    blockers = {busy[x] for x in (request.a, request.b) if x in busy}
    if not blockers:
        own = _gap_change(board, [(key, slot, target)])
        if own >= 0 and not board.tables_free(target):
            return False  # a table swap only pays when this meeting's own gaps shrink
        if board.tables_free(target):
            return own < 0 and run.move(board, [key], [(request, target)])
        free = board.busy[slot]
        for other in sorted(set(busy.values())):
            mate = instance.by_key[other]
            if (
                other not in board.protected
                and slot in instance.common[other]
                and mate.a not in free
                and mate.b not in free
                and _gap_change(board, [(key, slot, target), (other, target, slot)]) < 0
                and run.move(board, [key, other], [(request, target), (mate, slot)])
            ):
                return True
        return False
    if len(blockers) == 1:
        (other,) = blockers
        if slot in instance.common[other]:
            return _swap_or_chain(board, run, key, other, slot, target)
    return False


def _swap_or_chain(board: Board, run: _Run, key: str, other: str, slot: int, target: int) -> bool:
    """Swap `key` (slot -> target) with `other` (target -> slot); when `other`'s second
    participant is busy in `slot`, also move that meeting to a slot with room (a chain)."""
    by_key = board.instance.by_key
    request, mate = by_key[key], by_key[other]
    moves = [(key, slot, target), (other, target, slot)]
    busy = board.busy[slot]
    third = {busy[x] for x in (mate.a, mate.b) if x in busy} - {key}
    if not third:
        if _gap_change(board, moves) >= 0:
            return False
        return run.move(board, [key, other], [(request, target), (mate, slot)])
    if len(third) > 1:
        return False
    (last,) = third
    if last in board.protected:
        return False
    for free in _free_slots(board, last, slot):
        chain = [*moves, (last, slot, free)]
        if _gap_change(board, chain) < 0 and run.move(
            board,
            [key, other, last],
            [(request, target), (mate, slot), (by_key[last], free)],
        ):
            return True
    return False


def _gap_change(board: Board, moves: Sequence[tuple[str, int, int]]) -> int:
    """Change in the agendas' day costs (breaks, idle slots) if each (key, from, to)
    meeting moves; feasibility and spread unchecked (`try_move` checks them)."""
    by_key = board.instance.by_key
    after: dict[str, set[int]] = {}
    for key, source, _ in moves:
        for x in (by_key[key].a, by_key[key].b):
            after.setdefault(x, set(board.used[x])).discard(source)
    for key, _, target in moves:
        for x in (by_key[key].a, by_key[key].b):
            after[x].add(target)
    cost = board.instance.day_units
    return sum(cost(used) - cost(board.used[x]) for x, used in after.items())


def _unplaced(board: Board, run: _Run) -> list[Request]:
    """Unplaced requests of the participants in view, most valuable first."""
    instance = board.instance
    if run.dirty is None:
        pool: Iterable[Request] = instance.requests
    else:
        keys = {r.key for p in run.dirty for r in instance.of_agenda.get(p, ())}
        pool = [instance.by_key[key] for key in sorted(keys)]
    requests = [r for r in pool if not board.is_placed(r)]
    return sorted(requests, key=lambda r: instance.units[r.key], reverse=True)


def _insert_with_ejection(board: Board, run: _Run) -> None:
    """Place unplaced requests by first relocating what blocks them."""
    instance = board.instance
    for request in _unplaced(board, run):
        if run.up():
            break
        if board.is_placed(request) or not run.looks_at(request.a, request.b):
            continue
        owners = (instance.owner[request.a], instance.owner[request.b])
        if any(board.count[p] >= instance.cap[p] for p in owners):
            continue  # `_replace_capped` handles these
        for slot in instance.common[request.key]:
            if _eject_into(board, run, request, slot):
                break


def _eject_into(board: Board, run: _Run, request: Request, slot: int) -> bool:
    busy = board.busy[slot]
    blockers = sorted({busy[x] for x in (request.a, request.b) if x in busy})
    if any(key in board.protected for key in blockers):
        return False
    if not blockers:
        if board.tables_free(slot):
            return run.move(board, [], [(request, slot)])
        return any(
            run.move(board, [other], [(board.instance.by_key[other], target), (request, slot)])
            for other in sorted(set(busy.values()))
            if other not in board.protected
            for target in _free_slots(board, other, slot)
        )
    options = [_free_slots(board, key, slot) for key in blockers]
    moving = [board.instance.by_key[key] for key in blockers]
    if len(blockers) == 1:
        return any(
            run.move(board, blockers, [(moving[0], target), (request, slot)])
            for target in options[0]
        )
    return any(
        run.move(board, blockers, [(moving[0], first), (moving[1], second), (request, slot)])
        for first in options[0]
        for second in options[1]
        if first != second or board.tables_free(first)
    )


def _free_slots(board: Board, key: str, slot: int) -> list[int]:
    """Other slots where meeting `key` could go now: both participants free and a free
    table. A cheap filter; `try_move` checks exactly."""
    instance = board.instance
    request = instance.by_key[key]
    result = []
    for target in instance.common[key]:
        busy = board.busy[target]
        if target == slot or request.a in busy or request.b in busy:
            continue
        if board.tables_free(target):
            result.append(target)
    return result


def _replace_capped(board: Board, run: _Run) -> None:
    """Swap a capped participant's cheapest droppable suggestion for a better request."""
    instance = board.instance
    units = instance.units
    for request in _unplaced(board, run):
        if run.up():
            break
        owners = [instance.owner[request.a], instance.owner[request.b]]
        capped = [p for p in owners if board.count[p] >= instance.cap[p] > 0]
        if not capped or board.is_placed(request) or not run.looks_at(request.a, request.b):
            continue
        drops = []
        for participant in capped:
            options = [
                key
                for key in board.meetings_of_participant(participant)
                if key not in board.protected and not instance.by_key[key].accepted
            ]
            if not options:
                break
            drops.append(min(options, key=lambda k: (units[k], k)))
        else:
            removal = sorted(set(drops))
            if sum(units[k] for k in removal) >= units[request.key]:
                continue
            for slot in instance.common[request.key]:
                if run.move(board, removal, [(request, slot)]):
                    break
