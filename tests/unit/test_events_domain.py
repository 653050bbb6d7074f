"""The events service's pure helpers: slot times from sessions, event rules, the
waitlist, the scheduler's problem built from stored rows, schedule diffs, statistics and
the table plan."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from tandem_events.domain.events import (
    EventIn,
    SessionIn,
    day_of_slot,
    session_of_slot,
    slot_times,
)
from tandem_events.domain.outcomes import event_stats
from tandem_events.domain.plan import (
    EventRules,
    build_problem,
    diff,
    meeting_id,
    stored_schedule,
)
from tandem_events.domain.registrations import Status, initial_status, next_from_waitlist
from tandem_events.domain.scheduling import Placement, Schedule
from tandem_events.domain.table_plan import render_table_plan
from tandem_shared.contracts import OrgKind

pytestmark = pytest.mark.unit
WARSAW = ZoneInfo("Europe/Warsaw")


def session(starts_at: str, slots: int, slot: int = 20, pause: int = 0) -> SessionIn:
    return SessionIn.model_validate(
        {"starts_at": starts_at, "slot_minutes": slot, "break_minutes": pause, "slots": slots}
    )


# --------------------------------------------------------------------------- slot times


def test_slots_follow_each_other_with_breaks_across_sessions() -> None:
    sessions = [session("2027-01-20T10:00:00", 3, pause=5), session("2027-01-21T14:00", 2)]
    times = slot_times(sessions, "Europe/Warsaw")
    starts = [start.strftime("%d %H:%M") for start, _ in times]
    assert starts == ["20 10:00", "20 10:25", "20 10:50", "21 14:00", "21 14:20"]
    assert all(end - start == timedelta(minutes=20) for start, end in times)
    assert times[0][0] == datetime(2027, 1, 20, 9, 0, tzinfo=UTC)
    assert day_of_slot(times) == {0: 0, 1: 0, 2: 0, 3: 1, 4: 1}
    assert session_of_slot(sessions) == {0: 0, 1: 0, 2: 0, 3: 1, 4: 1}


def test_an_aware_session_start_is_converted_to_the_event_zone() -> None:
    [(start, _)] = slot_times([session("2027-07-01T08:00:00+00:00", 1)], "Europe/Warsaw")
    assert (start.hour, start.utcoffset()) == (10, timedelta(hours=2))  # summer time


def test_slots_keep_the_wall_clock_across_a_daylight_saving_change() -> None:
    # Clocks go forward at 02:00 on 28 March 2027 in Warsaw: 01:00 is +01:00, 03:00 +02:00
    times = slot_times([session("2027-03-28T01:00:00", 2, slot=60, pause=60)], "Europe/Warsaw")
    assert [start.strftime("%H:%M %z") for start, _ in times] == ["01:00 +0100", "03:00 +0200"]


def _event(**changes: Any) -> dict[str, Any]:
    return {
        "title": "Market",
        "kind": "matching_event",
        "venue": "Hall",
        "timezone": "Europe/Warsaw",
        "starts_at": "2027-01-20T09:00:00",
        "ends_at": "2027-01-20T18:00:00",
        "sessions": [{"starts_at": "2027-01-20T10:00:00", "slot_minutes": 20, "slots": 4}],
        "tables": 3,
        **changes,
    }


def test_a_table_count_becomes_numbered_labels() -> None:
    assert EventIn.model_validate(_event()).tables == ["1", "2", "3"]


def test_sectors_are_a_set_kept_once_each_in_org_kind_order() -> None:
    # A reordering or a repeat is then no change (no new version, no event.updated).
    sent = ["support", "heritage", "support", "creative"]
    assert EventIn.model_validate(_event(sectors=sent)).sectors == [
        OrgKind.HERITAGE,
        OrgKind.CREATIVE,
        OrgKind.SUPPORT,
    ]
    assert EventIn.model_validate(_event()).sectors == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Europe/Atlantis"}, "IANA"),
        ({"ends_at": "2027-01-20T09:00:00"}, "after starts_at"),
        (
            {
                "sessions": [
                    {"starts_at": "2027-01-20T10:00:00", "slot_minutes": 30, "slots": 2},
                    {"starts_at": "2027-01-20T10:30:00", "slot_minutes": 30, "slots": 1},
                ]
            },
            "overlap",
        ),
        ({"online": True, "venue": None}, "url"),
        ({"tables": -1}, "table count"),
        ({"sectors": ["museums"]}, "'heritage', 'creative'"),
    ],
)
def test_event_rules(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EventIn.model_validate(_event(**changes))


# --------------------------------------------------------------------------- waitlist


def _registrations(*statuses: str) -> list[dict[str, Any]]:
    return [{"id": index, "status": status} for index, status in enumerate(statuses)]


def test_a_place_while_capacity_lasts_then_the_waitlist() -> None:
    assert initial_status(None, 10_000) is Status.REGISTERED
    assert initial_status(2, 1) is Status.REGISTERED
    assert initial_status(2, 2) is Status.WAITLISTED


def test_the_earliest_waitlisted_moves_up_when_a_place_is_free() -> None:
    rows = _registrations("withdrawn", "registered", "waitlisted", "waitlisted")
    assert next_from_waitlist(rows, capacity=2) == 2
    assert next_from_waitlist(rows, capacity=1) is None  # still full
    assert next_from_waitlist(_registrations("registered", "checked_in"), capacity=5) is None


# --------------------------------------------------------------------------- plan


R = [uuid.uuid4() for _ in range(4)]


def _reg(index: int, status: str = "registered", **extra: Any) -> dict[str, Any]:
    return {"id": R[index], "status": status, "availability": None, "max_meetings": None, **extra}


def test_the_problem_takes_active_participants_accepted_requests_then_suggestions() -> None:
    accepted_id, declined_id = uuid.uuid4(), uuid.uuid4()
    problem = build_problem(
        slot_count=3,
        day_of_slot={0: 0, 1: 0, 2: 0},
        tables=["A"],
        registrations=[
            _reg(0, availability=[0, 2], max_meetings=1),
            _reg(1),
            _reg(2),
            _reg(3, "withdrawn"),
        ],
        requests=[
            {
                "id": accepted_id,
                "from_registration": R[0],
                "to_registration": R[1],
                "status": "accepted",
            },
            {
                "id": declined_id,
                "from_registration": R[1],
                "to_registration": R[2],
                "status": "declined",
            },
        ],
        suggestions=[
            {"pair_id": "p01", "registration_a": R[0], "registration_b": R[1], "score": 0.9},
            {"pair_id": "p12", "registration_a": R[1], "registration_b": R[2], "score": 0.8},
            {"pair_id": "p02", "registration_a": R[0], "registration_b": R[2], "score": 0.7},
            {"pair_id": "p23", "registration_a": R[2], "registration_b": R[3], "score": 0.6},
        ],
    )
    assert set(problem.availability) == {str(R[0]), str(R[1]), str(R[2])}
    assert problem.availability[str(R[0])] == frozenset({0, 2})
    assert problem.availability[str(R[1])] == frozenset({0, 1, 2})
    assert problem.caps == {str(R[0]): 1}
    keys = [(request.key, request.accepted, request.score) for request in problem.requests]
    # the accepted pair's suggestion is the same meeting, a declined pair is not suggested,
    # a withdrawn participant meets nobody
    assert keys == [(str(accepted_id), True, 0.9), ("suggested:p02", False, 0.7)]


def _placement(key: str, slot: int, table: str = "A") -> Placement:
    return Placement(key=key, a=str(R[0]), b=str(R[1]), slot=slot, table=table)


def _meeting(key: str, slot: int, status: str = "scheduled", table: str = "A") -> dict[str, Any]:
    return {
        "key": key,
        "slot": slot,
        "table_label": table,
        "status": status,
        "registration_a": R[0],
        "registration_b": R[1],
    }


def test_diff_tells_new_moved_cancelled_and_kept_meetings() -> None:
    stored = [
        _meeting("kept", 0),
        _meeting("moved", 1),
        _meeting("dropped", 2),
        _meeting("back", 3, "cancelled"),
    ]
    new = Schedule(
        placements=(
            _placement("kept", 0),
            _placement("moved", 1, "B"),
            _placement("back", 3),
            _placement("fresh", 4),
        ),
        solver="repair",
        optimal=False,
        value=0.0,
    )
    changes = diff(stored, new)
    assert [p.key for p in changes.new] == ["back", "fresh"]
    assert [p.key for p in changes.moved] == ["moved"]
    assert changes.cancelled == ("dropped",)
    assert changes.summary() == {"new": 2, "moved": 1, "cancelled": 1, "kept": 1}
    assert [p.key for p in stored_schedule(stored).placements] == ["kept", "moved", "dropped"]


def test_a_meeting_id_is_stable_per_event_and_request_key() -> None:
    event = uuid.uuid4()
    assert meeting_id(event, "suggested:x") == meeting_id(event, "suggested:x")
    assert meeting_id(event, "suggested:x") != meeting_id(event, "suggested:y")
    assert meeting_id(event, "k") != meeting_id(uuid.uuid4(), "k")


# --------------------------------------------------------------------------- stats


def test_stats_count_outcomes_of_scheduled_meetings_only() -> None:
    stats = event_stats(
        request_statuses=["accepted", "accepted", "declined", "pending"],
        suggestions=5,
        meetings=[
            ("scheduled", "held", 4),
            ("scheduled", "agreement", 5),
            ("scheduled", "no_show", None),
            ("scheduled", None, None),
            ("cancelled", "held", 1),  # never happened
        ],
    )
    assert stats.acceptance_rate == pytest.approx(2 / 3)
    assert (stats.meetings_scheduled, stats.outcomes_recorded) == (4, 3)
    assert (stats.meetings_held, stats.no_shows, stats.agreements) == (2, 1, 1)
    assert stats.mean_rating == 4.5


def test_stats_of_an_event_without_answers_or_ratings() -> None:
    stats = event_stats(request_statuses=["pending"], suggestions=0, meetings=[])
    assert stats.acceptance_rate is None and stats.mean_rating is None


# --------------------------------------------------------------------------- table plan


def test_the_table_plan_is_a_slot_by_table_grid_with_escaped_names() -> None:
    times = slot_times([session("2027-01-20T10:00:00", 2)], "Europe/Warsaw")
    html = render_table_plan(
        title="Market <b>",
        place="Hall & Co",
        timezone="Europe/Warsaw",
        slots=times,
        tables=["A", "B"],
        cells={(1, "B"): ("<i>One</i>", "Two")},
    )
    assert "Market &lt;b&gt;" in html and "Hall &amp; Co" in html
    assert "<td>&lt;i&gt;One&lt;/i&gt;<br>&amp; Two</td>" in html
    assert html.count('<td class="free">') == 3
    assert "10:20-10:40" in html


def test_the_problem_carries_the_organisers_rules_when_the_rows_have_them() -> None:
    request_id = uuid.uuid4()
    problem = build_problem(
        slot_count=4,
        day_of_slot={0: 0, 1: 0, 2: 0, 3: 0},
        tables=["A", "B"],
        registrations=[
            _reg(
                0,
                forbidden_slots=[0],
                persons={"ceo": [2, 3], "cto": None},
                separate_agendas=True,
                max_meetings_per_session=2,
            ),
            _reg(1),
        ],
        requests=[
            {
                "id": request_id,
                "from_registration": R[0],
                "to_registration": R[1],
                "status": "accepted",
                "window": [2, 3],
                "fixed_slot": 3,
                "fixed_table": "B",
                "person_from": "ceo",
                "person_to": None,
            }
        ],
        suggestions=[],
        rules=EventRules(
            session_of_slot={0: 0, 1: 0, 2: 1, 3: 1},
            precedences=((str(request_id), "other"),),
            break_spread=2,
        ),
    )
    a = str(R[0])
    assert problem.forbidden == {a: frozenset({0})}
    assert problem.persons == {a: {"ceo": frozenset({2, 3}), "cto": frozenset({0, 1, 2, 3})}}
    assert problem.separate == frozenset({a}) and problem.session_caps == {a: 2}
    (request,) = problem.requests
    assert (request.window, request.fixed_slot, request.fixed_table) == (frozenset({2, 3}), 3, "B")
    assert (request.person_a, request.person_b) == ("ceo", None)
    assert problem.session_of_slot == {0: 0, 1: 0, 2: 1, 3: 1}
    assert problem.precedences == ((str(request_id), "other"),) and problem.break_spread == 2
    # Rows without the new columns give the problem of before.
    plain = build_problem(
        slot_count=2,
        day_of_slot={},
        tables=["A"],
        registrations=[_reg(0), _reg(1)],
        requests=[],
        suggestions=[],
    )
    assert (plain.forbidden, plain.persons, plain.separate, plain.precedences) == (
        {},
        {},
        frozenset(),
        (),
    )


def test_a_change_of_attending_person_is_a_move() -> None:
    stored = [dict(_meeting("k", 1), person_a="ceo", person_b=None)]
    placement = Placement(key="k", a=str(R[0]), b=str(R[1]), slot=1, table="A", person_a="cto")
    changes = diff(stored, Schedule((placement,), "repair", False, 0.0))
    assert (len(changes.moved), changes.kept) == (1, 0)
    assert stored_schedule(stored).placements[0].person_a == "ceo"
