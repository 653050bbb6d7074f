"""The organiser's scheduling rules checked against the event they are set for (pure).

The input models refuse what is wrong on its own (a window of sessions and slots, a table
without a slot); these checks refuse what is wrong for this event (a session or slot it
does not have, a request of another event); `scheduling.conflicts` then refuses what
cannot hold together (a pin outside its window or on a forbidden slot, a precedence
cycle). Each check answers (field, sentence) pairs for 422 answers."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence

from tandem_events.domain.registrations import Agendas, Registration, RegistrationRulesIn
from tandem_events.domain.requests import MeetingRequest, RequestRulesIn

Problems = list[tuple[str, str]]


def _outside(values: Sequence[int] | None, count: int) -> list[int]:
    return [value for value in values or () if not 0 <= value < count]


def _unknown(field: str, what: str, values: Sequence[int] | None, count: int) -> Problems:
    """`values` (session or slot numbers) the event does not have, as one problem."""
    outside = _outside(values, count)
    if not outside:
        return []
    return [(field, f"unknown {what} {outside}: the event has {count} (from 0)")]


def request_rule_problems(
    body: RequestRulesIn,
    *,
    request: MeetingRequest,
    session_count: int,
    slot_count: int,
    tables: Collection[str],
    registrations: dict[uuid.UUID, Registration],
    event_requests: Collection[uuid.UUID],
) -> Problems:
    """What in `body` does not fit this event and this request's two participants."""
    found = _unknown("sessions", "sessions", body.sessions, session_count)
    found += _unknown("slots", "slots", body.slots, slot_count)
    if _outside([] if body.pinned_slot is None else [body.pinned_slot], slot_count):
        found.append(("pinned_slot", f"no slot {body.pinned_slot} at this event"))
    if body.pinned_table is not None and body.pinned_table not in tables:
        found.append(("pinned_table", f"no table {body.pinned_table!r} at this event"))
    unknown = [str(key) for key in body.after if key not in event_requests]
    if unknown:
        found.append(("after", f"not requests of this event: {unknown}"))
    if request.id in body.after:
        found.append(("after", "a meeting cannot come after itself"))
    sides = (
        ("person_from", body.person_from, registrations.get(request.from_registration)),
        ("person_to", body.person_to, registrations.get(request.to_registration)),
    )
    for field, person, side in sides:
        if person is not None and (side is None or side.agendas != Agendas.SEPARATE):
            found.append((field, "only an organisation with separate agendas names who attends"))
    return found


def registration_rule_problems(
    body: RegistrationRulesIn, *, registration: Registration, slot_count: int
) -> Problems:
    found = _unknown("forbidden_slots", "slots", body.forbidden_slots, slot_count)
    if body.agendas == Agendas.SEPARATE and not registration.colleague:
        found.append(("agendas", "separate agendas need a colleague: one person has one agenda"))
    return found


def with_names(sentences: Sequence[str], names: Mapping[str, str]) -> list[str]:
    """The solver's sentences name participants by registration id: an organiser reads
    the organisation's name instead (request ids stay: the organiser set those)."""
    named = []
    for sentence in sentences:
        for registration_id, name in names.items():
            sentence = sentence.replace(registration_id, name)
        named.append(sentence)
    return named
