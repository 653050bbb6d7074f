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
    EventPatch,
    SessionIn,
    check_not_over,
    day_of_slot,
    slot_times,
)
from tandem_events.domain.meetings import Meeting, MeetingStatus
from tandem_events.domain.outcomes import event_stats
from tandem_events.domain.plan import build_problem, diff, meeting_id, stored_schedule
from tandem_events.domain.registrations import (
    Registration,
    Status,
    initial_status,
    next_from_waitlist,
)
from tandem_events.domain.requests import MeetingRequest, RequestStatus
from tandem_events.domain.scheduling import Placement, Schedule
from tandem_events.domain.suggestions import Suggestion
from tandem_events.domain.table_plan import render_table_plan
from tandem_shared.contracts import MeetingOutcome, OrgKind

pytestmark = pytest.mark.unit
WARSAW = ZoneInfo("Europe/Warsaw")


def session(starts_at: str, slots: int, slot: int = 20, pause: int = 0) -> SessionIn:
    return SessionIn.model_validate(
        {"starts_at": starts_at, "slot_minutes": slot, "break_minutes": pause, "slots": slots}
    )


# --------------------------------------------------------------------------- slot times


def test_slots_follow_each_other_with_breaks_across_sessions() -> None:
    times = slot_times(
        [session("2027-01-20T10:00:00", 3, pause=5), session("2027-01-21T14:00", 2)],
        "Europe/Warsaw",
    )
    starts = [start.strftime("%d %H:%M") for start, _ in times]
    assert starts == ["20 10:00", "20 10:25", "20 10:50", "21 14:00", "21 14:20"]
    assert all(end - start == timedelta(minutes=20) for start, end in times)
    assert times[0][0] == datetime(2027, 1, 20, 9, 0, tzinfo=UTC)
    assert day_of_slot(times) == {0: 0, 1: 0, 2: 0, 3: 1, 4: 1}


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


NOON = datetime(2027, 1, 20, 12, tzinfo=UTC)


def registration(
    id: uuid.UUID,
    status: str = "registered",
    availability: list[int] | None = None,
    max_meetings: int | None = None,
) -> Registration:
    return Registration(
        id=id,
        event_id=uuid.UUID(int=0),
        profile_id=uuid.uuid4(),
        hub="demo",
        version=1,
        status=Status(status),
        participant_name="Anna",
        participant_email="anna@example.org",
        participant_languages=[],
        availability=availability,
        max_meetings=max_meetings,
        created_at=NOON,
        updated_at=NOON,
    )


def _registrations(*statuses: str) -> list[Registration]:
    return [registration(uuid.UUID(int=index), status) for index, status in enumerate(statuses)]


def test_a_place_while_capacity_lasts_then_the_waitlist() -> None:
    assert initial_status(None, 10_000) is Status.REGISTERED
    assert initial_status(2, 1) is Status.REGISTERED
    assert initial_status(2, 2) is Status.WAITLISTED


def test_the_earliest_waitlisted_moves_up_when_a_place_is_free() -> None:
    rows = _registrations("withdrawn", "registered", "waitlisted", "waitlisted")
    assert next_from_waitlist(rows, capacity=2) == rows[2]
    assert next_from_waitlist(rows, capacity=1) is None  # still full
    assert next_from_waitlist(_registrations("registered", "checked_in"), capacity=5) is None


# --------------------------------------------------------------------------- plan


R = [uuid.uuid4() for _ in range(4)]


def _reg(index: int, status: str = "registered", **extra: Any) -> Registration:
    return registration(R[index], status, **extra)


def _request(id: uuid.UUID, asking: int, asked: int, status: str) -> MeetingRequest:
    return MeetingRequest(
        id=id,
        event_id=uuid.UUID(int=0),
        from_registration=R[asking],
        to_registration=R[asked],
        message=None,
        status=RequestStatus(status),
        reason=None,
        created_at=NOON,
        updated_at=NOON,
    )


def _suggestion(pair: str, a: int, b: int, score: float) -> Suggestion:
    return Suggestion(
        event_id=uuid.UUID(int=0),
        pair_id=pair,
        registration_a=R[a],
        registration_b=R[b],
        score=score,
    )


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
            _request(accepted_id, 0, 1, "accepted"),
            _request(declined_id, 1, 2, "declined"),
        ],
        suggestions=[
            _suggestion("p01", 0, 1, 0.9),
            _suggestion("p12", 1, 2, 0.8),
            _suggestion("p02", 0, 2, 0.7),
            _suggestion("p23", 2, 3, 0.6),
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


def _meeting(key: str, slot: int, status: str = "scheduled", table: str = "A") -> Meeting:
    return Meeting(
        id=uuid.uuid4(),
        event_id=uuid.UUID(int=0),
        key=key,
        registration_a=R[0],
        registration_b=R[1],
        version=1,
        status=MeetingStatus(status),
        slot=slot,
        table_label=table,
        starts_at=NOON,
        ends_at=NOON,
        accepted=False,
        score=0.5,
        outcome=None,
        rating=None,
        outcome_version=0,
        created_at=NOON,
        updated_at=NOON,
    )


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
    held, scheduled = MeetingOutcome.HELD, MeetingStatus.SCHEDULED
    accepted = RequestStatus.ACCEPTED
    stats = event_stats(
        request_statuses=[accepted, accepted, RequestStatus.DECLINED, RequestStatus.PENDING],
        suggestions=5,
        meetings=[
            (scheduled, held, 4),
            (scheduled, MeetingOutcome.AGREEMENT, 5),
            (scheduled, MeetingOutcome.NO_SHOW, None),
            (scheduled, None, None),
            (MeetingStatus.CANCELLED, held, 1),  # never happened
        ],
    )
    assert stats.acceptance_rate == pytest.approx(2 / 3)
    assert (stats.meetings_scheduled, stats.outcomes_recorded) == (4, 3)
    assert (stats.meetings_held, stats.no_shows, stats.agreements) == (2, 1, 1)
    assert stats.mean_rating == 4.5


def test_stats_of_an_event_without_answers_or_ratings() -> None:
    stats = event_stats(request_statuses=[RequestStatus.PENDING], suggestions=0, meetings=[])
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


def test_the_table_plan_numbers_slots_as_the_api_does() -> None:
    """An organiser reads a slot's number off the printed plan to pin a meeting or forbid
    a slot through the API, whose slots count from 0 (issue 16: the plan counted from 1)."""
    times = slot_times([session("2027-01-20T10:00:00", 2)], "Europe/Warsaw")
    html = render_table_plan(
        title="Market", place=None, timezone="Europe/Warsaw", slots=times, tables=["A"], cells={}
    )
    assert "<th>0 · Wed 20 Jan 10:00-10:20</th>" in html
    assert "<th>1 · Wed 20 Jan 10:20-10:40</th>" in html


def test_an_event_patch_may_leave_out_any_field_but_refuses_null() -> None:
    assert EventPatch.model_validate({}).model_fields_set == set()
    nulls = {"title": None, "kind": None, "timezone": None, "starts_at": None, "ends_at": None}
    with pytest.raises(ValidationError) as caught:
        EventPatch.model_validate(nulls)
    assert {str(error["loc"][0]) for error in caught.value.errors()} == set(nulls)


def test_an_event_that_is_over_is_refused_one_still_running_is_not() -> None:
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="has already ended"):
        check_not_over(now, now)
    with pytest.raises(ValueError, match="has already ended"):
        check_not_over(now - timedelta(days=400), now)
    check_not_over(now + timedelta(seconds=1), now)
