"""Lower bounds on breaks, and the busy patterns an agenda may take (pure).

When every request of an agenda must be placed (all fixed or accepted, all placeable
together: the exact solver knows this once the placement tiers are proven), the agenda's
meetings fill exactly k of its slots. Looked at alone, the fewest breaks it can have is a
lower bound for it in any schedule, and their sum over such "forced" agendas is a lower
bound on the schedule's breaks (`breaks_lower_bound`). The busy patterns with at most that
many breaks plus a slack, in which the agenda's meetings can each get a slot of their own
(a perfect matching of meetings to the pattern's slots), are the only ones a schedule within
the slack can use: handed to CP-SAT as a table constraint they make proofs take about a
second where the plain model finds nothing in a minute (measured with bench/scheduler.py).
Precedences among the agenda's own meetings are ignored here, so the patterns stay a
superset of what a schedule can use and the bound stays a bound.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tandem_events.domain.scheduling_instance import Instance

PATTERN_LIMIT = 3_000  # patterns per agenda; beyond this the agenda gets no table
Options = Sequence[frozenset[int]]  # per meeting of the agenda, the slots it may take


def forced_agendas(instance: Instance) -> dict[str, list[frozenset[int]]]:
    """Agendas whose participant meets through them alone and all of whose requests are
    fixed or accepted, with each request's slot options; only meaningful once every fixed
    and accepted request is known to be placed."""
    forced: dict[str, list[frozenset[int]]] = {}
    for agenda, variants in instance.of_agenda.items():
        participant = instance.owner[agenda]
        if len(instance.agendas_of[participant]) != 1:
            continue
        groups: dict[str, set[int]] = {}
        for variant in variants:
            groups.setdefault(instance.group[variant.key], set()).update(
                instance.common[variant.key]
            )
        if all(instance.must(group) for group in groups):
            forced[agenda] = [frozenset(slots) for _, slots in sorted(groups.items())]
    return forced


def fewest_breaks(instance: Instance, participant: str, options: Options) -> int | None:
    """The fewest breaks an agenda can have with all its meetings placed, looked at alone;
    None if they cannot all be placed even then."""
    allowed = sorted(set().union(*options), key=instance.position.__getitem__)
    most = len(allowed)
    for breaks in range(most):
        found = _patterns(instance, participant, options, allowed, breaks, PATTERN_LIMIT)
        if found is None or found:
            return breaks  # None: too many to look through; all below were ruled out
    return None


def patterns(
    instance: Instance, participant: str, options: Options, max_breaks: int
) -> list[frozenset[int]] | None:
    """Every matchable pattern with at most `max_breaks` breaks; None beyond PATTERN_LIMIT."""
    allowed = sorted(set().union(*options), key=instance.position.__getitem__)
    return _patterns(instance, participant, options, allowed, max_breaks, PATTERN_LIMIT)


def _patterns(
    instance: Instance,
    participant: str,
    options: Options,
    allowed: list[int],
    max_breaks: int,
    limit: int,
) -> list[frozenset[int]] | None:
    """Subsets of `allowed` of size len(options) with at most `max_breaks` breaks, within
    the participant's session cap, in which every meeting gets a slot of its own."""
    found: list[frozenset[int]] = []
    size = len(options)
    session_cap = instance.session_cap.get(participant)
    chosen: list[int] = []
    per_session: Counter[int] = Counter()
    seen = 0

    def walk(index: int, breaks: int) -> bool:
        nonlocal seen
        if len(chosen) == size:
            seen += 1
            if _matchable(options, chosen):
                found.append(frozenset(chosen))
            return seen <= limit
        if len(allowed) - index < size - len(chosen):
            return True
        slot = allowed[index]
        session = instance.session[slot]
        if session_cap is None or per_session[session] < session_cap:
            extra = _starts_break(instance, chosen, slot)
            if breaks + extra <= max_breaks:
                chosen.append(slot)
                per_session[session] += 1
                going = walk(index + 1, breaks + extra)
                chosen.pop()
                per_session[session] -= 1
                if not going:
                    return False
        return walk(index + 1, breaks)

    return found if walk(0, 0) else None


def _starts_break(instance: Instance, chosen: list[int], slot: int) -> int:
    if not chosen:
        return 0
    last = chosen[-1]
    same_day = instance.day[last] == instance.day[slot]
    return int(same_day and instance.rank[slot] > instance.rank[last] + 1)


def _matchable(options: Options, slots: Sequence[int]) -> bool:
    """Whether each meeting can get its own slot among `slots` (Kuhn's augmenting paths)."""
    taken: dict[int, int] = {}
    wanted = set(slots)

    def augment(meeting: int, visited: set[int]) -> bool:
        for slot in options[meeting]:
            if slot in wanted and slot not in visited:
                visited.add(slot)
                if slot not in taken or augment(taken[slot], visited):
                    taken[slot] = meeting
                    return True
        return False

    return all(augment(meeting, set()) for meeting in range(len(options)))


def breaks_lower_bound(instance: Instance) -> tuple[int, dict[str, int]]:
    """Sum and per-agenda fewest breaks of the forced agendas (valid for schedules that
    place every fixed and accepted request)."""
    per_agenda: dict[str, int] = {}
    for agenda, options in forced_agendas(instance).items():
        fewest = fewest_breaks(instance, instance.owner[agenda], options)
        per_agenda[agenda] = fewest or 0
    return sum(per_agenda.values()), per_agenda
