"""The organiser's scheduling rules (issue 17), pure: the input models, the checks against
the event, and how each stored row's rules become the solver's `Problem`."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from tandem_events.domain.events import SessionIn, session_of_slot
from tandem_events.domain.meetings import Meeting, MeetingStatus
from tandem_events.domain.plan import EventRules, build_problem, diff, stored_schedule
from tandem_events.domain.registrations import (
    Registration,
    RegistrationIn,
    RegistrationRulesIn,
    Status,
)
from tandem_events.domain.requests import MeetingRequest, RequestRulesIn, RequestStatus
from tandem_events.domain.rules import (
    registration_rule_problems,
    request_rule_problems,
    with_names,
)
from tandem_events.domain.scheduling import Placement, Problem, Schedule, conflicts

NOON = datetime(2027, 1, 20, 12, tzinfo=UTC)
EVENT = uuid.UUID(int=0)
A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))
# Two sessions: slots 0-3 and 4-5 (as the integration tests' matching event).
SESSIONS = [
    SessionIn(starts_at=datetime(2027, 1, 20, 10), slot_minutes=20, slots=4),
    SessionIn(starts_at=datetime(2027, 1, 20, 14), slot_minutes=20, slots=2),
]
RULES = EventRules(session_of_slot=session_of_slot(SESSIONS), break_spread=2)


def _registration(id: uuid.UUID, **rules: Any) -> Registration:
    row = Registration(
        id=id,
        event_id=EVENT,
        profile_id=uuid.uuid4(),
        hub="demo",
        version=1,
        status=Status.REGISTERED,
        participant_name="Anna",
        participant_email="anna@example.org",
        participant_languages=[],
        availability=None,
        max_meetings=None,
        created_at=NOON,
        updated_at=NOON,
    )
    return replace(row, **rules)


def _request(asking: uuid.UUID, asked: uuid.UUID, status: str = "accepted", **rules: Any) -> Any:
    row = MeetingRequest(
        id=uuid.uuid4(),
        event_id=EVENT,
        from_registration=asking,
        to_registration=asked,
        message=None,
        status=RequestStatus(status),
        reason=None,
        created_at=NOON,
        updated_at=NOON,
    )
    return replace(row, **rules)


def _problem(
    registrations: list[Registration], requests: list[MeetingRequest], **extra: Any
) -> Problem:
    return build_problem(
        slot_count=6,
        day_of_slot=dict.fromkeys(range(6), 0),
        tables=["A", "B"],
        registrations=registrations,
        requests=requests,
        suggestions=[],
        rules=RULES,
        **extra,
    )


# --------------------------------------------------------------------------- mapping


def test_a_participants_rules_reach_the_problem() -> None:
    problem = _problem(
        [
            _registration(A, forbidden_slots=[0, 1], session_cap=1, availability=[0, 1, 2]),
            _registration(B),
        ],
        [],
    )
    assert problem.forbidden == {str(A): frozenset({0, 1})}
    assert problem.session_caps == {str(A): 1}
    assert problem.availability[str(A)] == frozenset({0, 1, 2})
    assert problem.session_of_slot == {0: 0, 1: 0, 2: 0, 3: 0, 4: 1, 5: 1}
    assert problem.break_spread == 2
    assert problem.persons == {} and problem.separate == frozenset()


@pytest.mark.parametrize(("agendas", "separate"), [("joint", False), ("separate", True)])
def test_a_colleague_is_a_second_person_with_a_joint_or_separate_agenda(
    agendas: str, separate: bool
) -> None:
    row = _registration(
        A, availability=[0, 1], colleague=True, colleague_availability=[1, 2], agendas=agendas
    )
    problem = _problem([row, _registration(B)], [])
    # each person's own say; the organisation's availability no longer narrows them
    assert problem.persons[str(A)] == {
        "participant": frozenset({0, 1}),
        "colleague": frozenset({1, 2}),
    }
    assert problem.availability[str(A)] == frozenset(range(6))
    assert (str(A) in problem.separate) is separate


def test_a_requests_window_pin_and_persons_reach_the_problem() -> None:
    sessions = _request(A, B, window_sessions=[1], pinned_slot=5, pinned_table="B")
    slots = _request(A, C, window_slots=[0, 2], person_from="colleague")
    problem = _problem([_registration(A), _registration(B), _registration(C)], [sessions, slots])
    by_key = {request.key: request for request in problem.requests}
    first, second = by_key[str(sessions.id)], by_key[str(slots.id)]
    assert (first.window, first.fixed_slot, first.fixed_table) == (frozenset({4, 5}), 5, "B")
    assert (second.window, second.fixed_slot, second.person_a) == (
        frozenset({0, 2}),
        None,
        "colleague",
    )
    assert second.person_b is None


def test_precedences_count_only_between_meetings_to_schedule() -> None:
    first = _request(A, B)
    pending = _request(A, C, status="pending")
    later = _request(B, C, after_requests=[str(first.id), str(pending.id)])
    rows = [_registration(A), _registration(B), _registration(C)]
    problem = _problem(rows, [first, pending, later])
    assert problem.precedences == ((str(first.id), str(later.id)),)
    # counted as if accepted, the open request's precedence holds too (to check rules)
    what_if = _problem(rows, [first, pending, later], include_pending=True)
    assert set(what_if.precedences) == {
        (str(first.id), str(later.id)),
        (str(pending.id), str(later.id)),
    }
    assert {r.key for r in what_if.requests} == {str(r.id) for r in (first, pending, later)}


def test_conflicting_rules_are_found_on_the_mapped_problem() -> None:
    d = uuid.UUID(int=4)
    pinned = _request(A, B, pinned_slot=5)
    windowed = _request(A, d, window_sessions=[0], pinned_slot=4)
    two = _request(B, C)
    three = _request(A, C, after_requests=[str(two.id)])
    two = replace(two, after_requests=[str(three.id)])
    rows = [_registration(A), _registration(B, forbidden_slots=[5]), _registration(C)]
    rows.append(_registration(d))
    found = " | ".join(conflicts(_problem(rows, [pinned, windowed, two, three])))
    assert "outside its window" in found
    assert f"{B} cannot meet in slot 5" in found
    assert "cycle" in found


def _meeting(key: str, person_a: str | None) -> Meeting:
    return Meeting(
        id=uuid.uuid4(),
        event_id=EVENT,
        key=key,
        registration_a=A,
        registration_b=B,
        version=1,
        status=MeetingStatus.SCHEDULED,
        slot=0,
        table_label="A",
        starts_at=NOON,
        ends_at=NOON,
        accepted=True,
        score=1.0,
        outcome=None,
        rating=None,
        outcome_version=0,
        created_at=NOON,
        updated_at=NOON,
        person_a=person_a,
    )


def test_another_attending_person_is_a_move_and_the_stored_schedule_keeps_persons() -> None:
    stored = [_meeting("k1", "participant"), _meeting("k2", None)]
    assert stored_schedule(stored).placements[0].person_a == "participant"
    placements = (
        Placement(key="k1", a=str(A), b=str(B), slot=0, table="A", person_a="colleague"),
        Placement(key="k2", a=str(A), b=str(B), slot=0, table="A"),
    )
    changes = diff(stored, Schedule(placements=placements, solver="t", optimal=True, value=0))
    assert [p.key for p in changes.moved] == ["k1"] and changes.kept == 1


# --------------------------------------------------------------------------- input


def test_the_request_rules_model_refuses_what_is_wrong_on_its_own() -> None:
    with pytest.raises(ValidationError, match="sessions or slots, not both"):
        RequestRulesIn(sessions=[0], slots=[1])
    with pytest.raises(ValidationError, match="needs a pinned slot"):
        RequestRulesIn(pinned_table="A")
    with pytest.raises(ValidationError):
        RequestRulesIn.model_validate({"person_from": "cousin"})
    rules = RequestRulesIn(sessions=[1, 0, 1], after=[A, A, B])
    assert rules.sessions == [0, 1] and rules.after == [A, B]


def test_separate_agendas_need_a_colleague() -> None:
    body = {
        "profile_id": str(A),
        "participant": {"name": "Anna", "email": "anna@example.org"},
        "agendas": "separate",
    }
    with pytest.raises(ValidationError, match="need a colleague"):
        RegistrationIn.model_validate(body)
    body["colleague"] = {"name": "Ben", "email": "ben@example.org", "availability": [3, 1, 3]}
    registration = RegistrationIn.model_validate(body)
    assert registration.colleague is not None and registration.colleague.availability == [1, 3]


def test_request_rules_are_checked_against_the_event() -> None:
    request = _request(A, B)
    rows = {A: _registration(A), B: _registration(B, colleague=True, agendas="separate")}

    def problems(**rules: Any) -> list[tuple[str, str]]:
        return request_rule_problems(
            RequestRulesIn(**rules),
            request=request,
            session_count=2,
            slot_count=6,
            tables=["A", "B"],
            registrations=rows,
            event_requests={request.id, C},
        )

    assert problems(sessions=[1], pinned_slot=5, pinned_table="B", after=[C]) == []
    assert problems(person_to="colleague") == []  # B keeps separate agendas
    assert problems(sessions=[0, 2]) == [
        ("sessions", "unknown sessions [2]: the event has 2 (from 0)")
    ]
    assert problems(slots=[6, -1])[0][0] == "slots"
    assert problems(pinned_slot=6) == [("pinned_slot", "no slot 6 at this event")]
    assert problems(pinned_slot=1, pinned_table="Z") == [
        ("pinned_table", "no table 'Z' at this event")
    ]
    assert problems(after=[A]) == [("after", f"not requests of this event: ['{A}']")]
    assert problems(after=[request.id]) == [("after", "a meeting cannot come after itself")]
    assert problems(person_from="participant")[0][0] == "person_from"  # A meets as one


def test_registration_rules_are_checked_against_the_event() -> None:
    alone = _registration(A)

    def problems(row: Registration, **rules: Any) -> list[tuple[str, str]]:
        body = RegistrationRulesIn(**rules)
        return registration_rule_problems(body, registration=row, slot_count=6)

    assert problems(alone, forbidden_slots=[5, 0, 5], session_cap=2) == []
    assert RegistrationRulesIn(forbidden_slots=[5, 0, 5]).forbidden_slots == [0, 5]
    assert problems(alone, forbidden_slots=[6])[0][0] == "forbidden_slots"
    assert problems(alone, agendas="separate")[0][0] == "agendas"
    assert problems(replace(alone, colleague=True), agendas="separate") == []


def test_the_sentences_name_organisations_not_registration_ids() -> None:
    sentences = [f"k1: {A} cannot meet in slot 2", f"slot 3: {B} has 2 pinned meetings"]
    assert with_names(sentences, {str(A): "Acme"}) == [
        "k1: Acme cannot meet in slot 2",
        f"slot 3: {B} has 2 pinned meetings",
    ]
