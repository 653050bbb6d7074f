"""From an event's stored state to the scheduler's `Problem`, and from a new `Schedule`
back to the meeting changes to store and announce (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tandem_events.domain.meetings import Meeting
from tandem_events.domain.registrations import Agendas, Person, Registration
from tandem_events.domain.requests import MeetingRequest, RequestStatus
from tandem_events.domain.scheduling import (
    Placement,
    Problem,
    Request,
    Schedule,
    slots_of_sessions,
)
from tandem_events.domain.suggestions import Suggestion

# Meeting ids are derived from (event, request key): the same meeting keeps its id (and so
# its calendar UID) across every re-schedule and repair.
MEETING_NAMESPACE = uuid.UUID("6f1c1c62-5d0e-4a55-9a43-3f0f3f7b8a21")
ACCEPTED_SCORE = 1.0  # an accepted request without a matcher score


def meeting_id(event_id: uuid.UUID, key: str) -> uuid.UUID:
    return uuid.uuid5(MEETING_NAMESPACE, f"{event_id}/{key}")


SUGGESTED = "suggested:"  # the key prefix of a meeting the matcher suggested


def suggestion_key(pair_id: str) -> str:
    return f"{SUGGESTED}{pair_id}"


def is_accepted_request(key: str) -> bool:
    """A meeting keyed by an accepted request's id, not by the matcher's suggestion."""
    return not key.startswith(SUGGESTED)


@dataclass(frozen=True, slots=True)
class EventRules:
    """What an organiser set for the whole event (issue 17); the defaults change nothing."""

    session_of_slot: Mapping[int, int] | None = None  # slot -> session (None: the day)
    precedences: tuple[tuple[str, str], ...] = ()  # (before, after) meeting keys
    break_spread: int | None = None


def build_problem(
    *,
    slot_count: int,
    day_of_slot: Mapping[int, int],
    tables: Sequence[str],
    registrations: Sequence[Registration],
    requests: Sequence[MeetingRequest],
    suggestions: Sequence[Suggestion],
    rules: EventRules | None = None,
    include_pending: bool = False,
) -> Problem:
    """Participants are the registrations holding a place; accepted requests and the
    matcher's suggestions between them are the candidate meetings. A suggestion is
    dropped where the pair already has an accepted request (it is the same meeting) or
    one side declined a request from the other. Each row's scheduling rules (a
    participant's forbidden slots, session cap and persons; a request's window, pin,
    attending persons and the requests it comes after) go with it; a precedence counts
    only between two candidate meetings. `include_pending` counts pending requests as
    accepted: what the rules would mean if every open request were accepted (to check
    the organiser's rules when they are set)."""
    slots = tuple(range(slot_count))
    rules = rules or EventRules()
    active = {row.id: row for row in registrations if row.holds_place}
    scores = {suggestion.pair: float(suggestion.score) for suggestion in suggestions}
    answered = {row.pair for row in requests if row.status != RequestStatus.PENDING}
    wanted = {RequestStatus.ACCEPTED, RequestStatus.PENDING if include_pending else None}
    chosen = [row for row in requests if row.status in wanted and row.pair <= active.keys()]
    candidates = [
        _accepted_request(row, scores.get(row.pair, ACCEPTED_SCORE), rules) for row in chosen
    ]
    candidates += [
        Request(
            key=suggestion_key(row.pair_id),
            a=str(row.registration_a),
            b=str(row.registration_b),
            accepted=False,
            score=float(row.score),
        )
        for row in suggestions
        if row.pair not in answered and row.pair <= active.keys()
    ]
    keys = {str(row.id) for row in chosen}
    precedences = [
        (before, str(row.id)) for row in chosen for before in row.after_requests if before in keys
    ]
    return Problem(
        slots=slots,
        tables=tuple(tables),
        requests=tuple(candidates),
        day_of_slot=dict(day_of_slot),
        session_of_slot=rules.session_of_slot,
        precedences=(*rules.precedences, *precedences),
        break_spread=rules.break_spread,
        **_participant_rules(active, slots),
    )


def _participant_rules(
    active: Mapping[uuid.UUID, Registration], slots: tuple[int, ...]
) -> dict[str, Any]:
    """What each participant holding a place brings to the `Problem`: its availability,
    caps, the organiser's forbidden slots and its persons."""
    return {
        "availability": {str(rid): _availability(row, slots) for rid, row in active.items()},
        "caps": {
            str(rid): row.max_meetings
            for rid, row in active.items()
            if row.max_meetings is not None
        },
        "forbidden": {
            str(rid): frozenset(row.forbidden_slots)
            for rid, row in active.items()
            if row.forbidden_slots
        },
        "persons": {str(rid): _persons(row, slots) for rid, row in active.items() if row.colleague},
        "separate": frozenset(
            str(rid)
            for rid, row in active.items()
            if row.colleague and row.agendas == Agendas.SEPARATE
        ),
        "session_caps": {
            str(rid): row.session_cap for rid, row in active.items() if row.session_cap is not None
        },
    }


def _availability(row: Registration, slots: tuple[int, ...]) -> frozenset[int]:
    """The registration's own say; with a colleague, each person's say is in `persons`
    (joint agendas meet when both can, separate ones when the attending person can)."""
    if row.colleague or row.availability is None:
        return frozenset(slots)
    return frozenset(row.availability)


def _persons(row: Registration, slots: tuple[int, ...]) -> dict[str, frozenset[int]]:
    def free(availability: list[int] | None) -> frozenset[int]:
        return frozenset(slots if availability is None else availability)

    return {
        Person.PARTICIPANT.value: free(row.availability),
        Person.COLLEAGUE.value: free(row.colleague_availability),
    }


def _accepted_request(row: MeetingRequest, score: float, rules: EventRules) -> Request:
    return Request(
        key=str(row.id),
        a=str(row.from_registration),
        b=str(row.to_registration),
        accepted=True,
        score=score,
        window=request_window(row, rules.session_of_slot),
        fixed_slot=row.pinned_slot,
        fixed_table=row.pinned_table if row.pinned_slot is not None else None,
        person_a=row.person_from,
        person_b=row.person_to,
    )


def request_window(
    row: MeetingRequest, session_of_slot: Mapping[int, int] | None
) -> frozenset[int] | None:
    """The slots the organiser allows the meeting in (None: any)."""
    if row.window_slots is not None:
        return frozenset(row.window_slots)
    if row.window_sessions is not None:
        return slots_of_sessions(session_of_slot or {}, row.window_sessions)
    return None


def stored_schedule(meetings: Sequence[Meeting]) -> Schedule:
    """The schedule currently on record (its scheduled meetings), to repair from."""
    return Schedule(
        placements=tuple(
            Placement(
                key=row.key,
                a=str(row.registration_a),
                b=str(row.registration_b),
                slot=row.slot,
                table=row.table_label,
                person_a=row.person_a,
                person_b=row.person_b,
            )
            for row in meetings
            if row.scheduled
        ),
        solver="stored",
        optimal=False,
        value=0.0,
    )


@dataclass(frozen=True, slots=True)
class Changes:
    new: tuple[Placement, ...]  # meetings never scheduled before, or scheduled again
    moved: tuple[Placement, ...]  # a different slot, table or attending person
    cancelled: tuple[str, ...]  # keys of scheduled meetings no longer placed
    kept: int

    def summary(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "moved": len(self.moved),
            "cancelled": len(self.cancelled),
            "kept": self.kept,
        }


def _where(row: Meeting) -> tuple[int, str, str | None, str | None]:
    return (row.slot, row.table_label, row.person_a, row.person_b)


def _placed_where(placement: Placement) -> tuple[int, str, str | None, str | None]:
    return (placement.slot, placement.table, placement.person_a, placement.person_b)


def diff(meetings: Sequence[Meeting], schedule: Schedule) -> Changes:
    """What changes between the stored meetings (any status) and `schedule`."""
    by_key = {row.key: row for row in meetings}
    new: list[Placement] = []
    moved: list[Placement] = []
    kept = 0
    for placement in schedule.placements:
        row = by_key.get(placement.key)
        if row is None or not row.scheduled:
            new.append(placement)
        elif _where(row) != (
            placement.slot,
            placement.table,
            placement.person_a,
            placement.person_b,
        ):
            moved.append(placement)
        else:
            kept += 1
    placed = {placement.key for placement in schedule.placements}
    cancelled = tuple(row.key for row in meetings if row.scheduled and row.key not in placed)
    return Changes(new=tuple(new), moved=tuple(moved), cancelled=cancelled, kept=kept)
