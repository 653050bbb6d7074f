"""From an event's stored state to the scheduler's `Problem`, and from a new `Schedule`
back to the meeting changes to store and announce (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tandem_events.domain.registrations import HOLDS_PLACE
from tandem_events.domain.requests import RequestStatus
from tandem_events.domain.scheduling import Placement, Problem, Request, Schedule

Row = Mapping[Any, Any]
# Meeting ids are derived from (event, request key): the same meeting keeps its id (and so
# its calendar UID) across every re-schedule and repair.
MEETING_NAMESPACE = uuid.UUID("6f1c1c62-5d0e-4a55-9a43-3f0f3f7b8a21")
ACCEPTED_SCORE = 1.0  # an accepted request without a matcher score


def meeting_id(event_id: uuid.UUID, key: str) -> uuid.UUID:
    return uuid.uuid5(MEETING_NAMESPACE, f"{event_id}/{key}")


def suggestion_key(pair_id: str) -> str:
    return f"suggested:{pair_id}"


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
    registrations: Sequence[Row],
    requests: Sequence[Row],
    suggestions: Sequence[Row],
    rules: EventRules | None = None,
) -> Problem:
    """Participants are the registrations holding a place; accepted requests and the
    matcher's suggestions between them are the candidate meetings. A suggestion is
    dropped where the pair already has an accepted request (it is the same meeting) or
    one side declined a request from the other.

    Optional columns, read when present (`_registration_rules`, `_meeting_rules`): per
    registration `forbidden_slots`, `persons` ({person id: slots or None}),
    `separate_agendas`, `max_meetings_per_session`; per accepted request `window`,
    `fixed_slot`, `fixed_table`, `person_from`, `person_to`."""
    slots = tuple(range(slot_count))
    active = {row["id"]: row for row in registrations if row["status"] in HOLDS_PLACE}
    availability = {
        str(rid): frozenset(row["availability"] if row["availability"] is not None else slots)
        for rid, row in active.items()
    }
    caps = {
        str(rid): int(row["max_meetings"])
        for rid, row in active.items()
        if row["max_meetings"] is not None
    }
    scores = {
        frozenset((row["registration_a"], row["registration_b"])): float(row["score"])
        for row in suggestions
    }
    answered: set[frozenset[Any]] = set()
    candidates: list[Request] = []
    for row in requests:
        pair = frozenset((row["from_registration"], row["to_registration"]))
        if row["status"] == RequestStatus.PENDING:
            continue
        answered.add(pair)
        if row["status"] == RequestStatus.ACCEPTED and pair <= active.keys():
            candidates.append(
                Request(
                    key=str(row["id"]),
                    a=str(row["from_registration"]),
                    b=str(row["to_registration"]),
                    accepted=True,
                    score=scores.get(pair, ACCEPTED_SCORE),
                    **_meeting_rules(row),
                )
            )
    for row in suggestions:
        pair = frozenset((row["registration_a"], row["registration_b"]))
        if pair in answered or not pair <= active.keys():
            continue
        candidates.append(
            Request(
                key=suggestion_key(row["pair_id"]),
                a=str(row["registration_a"]),
                b=str(row["registration_b"]),
                accepted=False,
                score=float(row["score"]),
            )
        )
    rules = rules or EventRules()
    forbidden, persons, separate, session_caps = _registration_rules(active, slots)
    return Problem(
        slots=slots,
        tables=tuple(tables),
        availability=availability,
        caps=caps,
        requests=tuple(candidates),
        day_of_slot=dict(day_of_slot),
        forbidden=forbidden,
        persons=persons,
        separate=separate,
        session_of_slot=rules.session_of_slot,
        session_caps=session_caps,
        precedences=rules.precedences,
        break_spread=rules.break_spread,
    )


def _registration_rules(
    active: Mapping[Any, Row], slots: tuple[int, ...]
) -> tuple[
    dict[str, frozenset[int]], dict[str, dict[str, frozenset[int]]], frozenset[str], dict[str, int]
]:
    """(forbidden slots, persons, separate agendas, session caps) from the optional
    registration columns."""
    forbidden: dict[str, frozenset[int]] = {}
    persons: dict[str, dict[str, frozenset[int]]] = {}
    separate: set[str] = set()
    session_caps: dict[str, int] = {}
    for rid, row in active.items():
        key = str(rid)
        if row.get("forbidden_slots"):
            forbidden[key] = frozenset(row["forbidden_slots"])
        if row.get("persons"):
            persons[key] = {
                str(person): frozenset(available if available is not None else slots)
                for person, available in row["persons"].items()
            }
            if row.get("separate_agendas"):
                separate.add(key)
        if row.get("max_meetings_per_session") is not None:
            session_caps[key] = int(row["max_meetings_per_session"])
    return forbidden, persons, frozenset(separate), session_caps


def _meeting_rules(row: Row) -> dict[str, Any]:
    """Window, pin and attending persons of an accepted request, from optional columns."""
    window = row.get("window")
    person_a, person_b = row.get("person_from"), row.get("person_to")
    return {
        "window": frozenset(window) if window is not None else None,
        "fixed_slot": row.get("fixed_slot"),
        "fixed_table": row.get("fixed_table"),
        "person_a": str(person_a) if person_a is not None else None,
        "person_b": str(person_b) if person_b is not None else None,
    }


def stored_schedule(meetings: Sequence[Row]) -> Schedule:
    """The schedule currently on record (its scheduled meetings), to repair from."""
    return Schedule(
        placements=tuple(
            Placement(
                key=row["key"],
                a=str(row["registration_a"]),
                b=str(row["registration_b"]),
                slot=int(row["slot"]),
                table=str(row["table_label"]),
                person_a=row.get("person_a"),
                person_b=row.get("person_b"),
            )
            for row in meetings
            if row["status"] == "scheduled"
        ),
        solver="stored",
        optimal=False,
        value=0.0,
    )


@dataclass(frozen=True, slots=True)
class Changes:
    new: tuple[Placement, ...]  # meetings never scheduled before, or scheduled again
    moved: tuple[Placement, ...]  # a different slot or table
    cancelled: tuple[str, ...]  # keys of scheduled meetings no longer placed
    kept: int

    def summary(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "moved": len(self.moved),
            "cancelled": len(self.cancelled),
            "kept": self.kept,
        }


def diff(meetings: Sequence[Row], schedule: Schedule) -> Changes:
    """What changes between the stored meetings (any status) and `schedule`."""
    by_key = {row["key"]: row for row in meetings}
    new: list[Placement] = []
    moved: list[Placement] = []
    kept = 0
    for placement in schedule.placements:
        row = by_key.get(placement.key)
        if row is None or row["status"] != "scheduled":
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
    cancelled = tuple(
        row["key"] for row in meetings if row["status"] == "scheduled" and row["key"] not in placed
    )
    return Changes(new=tuple(new), moved=tuple(moved), cancelled=cancelled, kept=kept)


def _where(row: Row) -> tuple[Any, Any, Any, Any]:
    """Slot, table and attending persons of a stored meeting (persons when stored)."""
    return (row["slot"], row["table_label"], row.get("person_a"), row.get("person_b"))
