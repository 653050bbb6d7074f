"""The scheduling problem and its result (pure). Import the names from `scheduling.py`.

What an organiser can say, beyond who wants to meet whom:

* per meeting: a window of allowed slots (a session is the set of its slots, see
  `slots_of_sessions`); a fixed slot (and table) the meeting is pinned to;
* per participant: the slots they can meet in (`availability`, their own say) minus the
  organiser's `forbidden` slots; a cap on meetings, overall and per session;
* between meetings: precedences (A strictly before B when both take place);
* per organisation: one or more persons (`persons`); by default they attend together, so
  the organisation can meet when all of them can (joint agenda); for a participant in
  `separate` each person keeps an agenda of their own and each meeting is attended by one
  of them (the solver chooses, unless the request names the person), so the organisation
  can hold two meetings at once;
* for the event: the most the number of breaks may differ between two agendas
  (`break_spread`; the published forum model uses 2).

A break is a run of idle slots between an agenda's first and last meeting of a day; idle
slots are the slots of those runs. The objective is lexicographic (`Measure` in
`scheduling_instance`): fixed meetings placed, then accepted requests placed, then
participants with at least one meeting, then the excess of the break spread, then breaks,
then the value of the meetings (mutual score + a base) minus a small penalty per idle slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Integer units (CP-SAT needs integers): 1.0 of value = SCALE units. The weights make the
# sum lexicographic for every change a local-search move can make (at most a few meetings
# and six agendas; see scheduling_instance.Measure); the exact solver ranks tier by tier.
SCALE = 1000
MEETING_BASE = 10  # 0.01: a zero-score suggestion is still worth placing
GAP = 50  # 0.05 per idle slot
BREAK = 20_000  # 20 per break: above any exchange of a few meetings' value and idle slots
SPREAD = 1_000_000  # per break of spread beyond `break_spread`
FAIRNESS = 100_000_000  # per participant with at least one meeting
ACCEPTED = 10_000_000_000  # per accepted request placed
FIXED = 1_000_000_000_000  # per fixed (pinned) meeting placed


@dataclass(frozen=True, slots=True)
class Request:
    key: str  # stable id of the meeting (meeting-request id, or "suggested:<pair_id>")
    a: str  # participant id (registration id)
    b: str  # participant id, != a
    accepted: bool  # an accepted meeting request (placed first) or a matcher suggestion
    score: float  # mutual score in [0, 1] (tie-break / value within a priority class)
    window: frozenset[int] | None = None  # the slots the meeting may take (None: any)
    fixed_slot: int | None = None  # pinned by the organiser: this slot or not at all
    fixed_table: str | None = None  # and this table (only with `fixed_slot`)
    person_a: str | None = None  # who of `a` must attend (a participant in `separate`)
    person_b: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    slots: tuple[int, ...]  # slot indexes in time order
    tables: tuple[str, ...]  # table labels
    availability: Mapping[str, frozenset[int]]  # participant -> slots they can meet in
    caps: Mapping[str, int]  # participant -> max meetings (missing = no cap beyond slots)
    requests: tuple[Request, ...]
    day_of_slot: Mapping[int, int] | None = None  # slot -> day number (None = all one day)
    forbidden: Mapping[str, frozenset[int]] = field(default_factory=dict)  # organiser's say
    persons: Mapping[str, Mapping[str, frozenset[int]]] = field(default_factory=dict)
    separate: frozenset[str] = frozenset()  # participants whose persons meet separately
    session_of_slot: Mapping[int, int] | None = None  # slot -> session (None = the day)
    session_caps: Mapping[str, int] = field(default_factory=dict)  # per session, per participant
    precedences: tuple[tuple[str, str], ...] = ()  # (before, after) request keys
    break_spread: int | None = None  # most minus fewest breaks of any two agendas


@dataclass(frozen=True, slots=True)
class Placement:
    key: str
    a: str
    b: str
    slot: int
    table: str
    person_a: str | None = None  # the attending person of a participant in `separate`
    person_b: str | None = None


@dataclass(frozen=True, slots=True)
class Quality:
    """How good a schedule is, and what is proven about it (counts over the placeable
    requests: those with at least one slot both sides could take)."""

    placed: int  # meetings placed
    placeable: int  # requests that could be placed on their own
    must: int  # fixed and accepted requests among them
    must_placed: int
    must_bound: int  # proven: no valid schedule places more fixed + accepted requests
    covered: int  # participants with at least one meeting
    breaks: int
    breaks_bound: int  # proven: no schedule as good in the tiers above has fewer breaks
    idle: int  # idle slots
    spread: int  # most minus fewest breaks of any two agendas with requests
    proven: bool  # every tier up to and including breaks is proven optimal
    proof_s: float | None = None  # seconds into the run when that was proven

    @property
    def breaks_gap(self) -> int:
        return self.breaks - self.breaks_bound


@dataclass(frozen=True, slots=True)
class Schedule:
    placements: tuple[Placement, ...]
    solver: (
        str  # the stages that produced it: "greedy", "greedy+ls", "greedy+ls+cp-sat", "repair", ...
    )
    optimal: bool  # proven optimal in every tier of the objective
    value: float  # the weighted objective / SCALE (see the constants above)
    quality: Quality | None = None  # None for a schedule read back from storage


def pair_of(request: Request) -> frozenset[str]:
    return frozenset((request.a, request.b))


def meeting_units(request: Request) -> int:
    """Integer value of placing `request`, without coverage, breaks and idle slots."""
    score = min(max(request.score, 0.0), 1.0)
    priority = FIXED if request.fixed_slot is not None else 0
    priority += ACCEPTED if request.accepted or request.fixed_slot is not None else 0
    return priority + round(score * SCALE) + MEETING_BASE


def slots_of_sessions(
    session_of_slot: Mapping[int, int], sessions: Iterable[int]
) -> frozenset[int]:
    """A meeting window from session numbers: every slot of those sessions."""
    wanted = set(sessions)
    return frozenset(slot for slot, session in session_of_slot.items() if session in wanted)


def moved(previous: Schedule, new: Schedule) -> int:
    """How many meetings present in both schedules changed (slot, table or person)."""
    before = {p.key: (p.slot, p.table, p.person_a, p.person_b) for p in previous.placements}
    return sum(
        1
        for p in new.placements
        if p.key in before and before[p.key] != (p.slot, p.table, p.person_a, p.person_b)
    )
