"""The scheduling flow through the real broker and PostgreSQL: profiles and matches in
over the topics, registrations and an accepted request over HTTP, a schedule out as
`meeting.scheduled` messages at the right times, then a withdrawal repaired into
`meeting.cancelled` and an acceptance repaired into a new meeting."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select

from tandem_events import calendar_links
from tandem_events.domain.scheduling import Problem, Schedule
from tandem_events.domain.scheduling import schedule as real_schedule
from tandem_events.repository.revision import touch_schedule
from tandem_events.service import schedule as schedule_service
from tandem_events.tables import events as events_table
from tandem_shared.contracts import (
    MEETINGS,
    MeetingCancelled,
    MeetingData,
    MeetingScheduled,
    pair_id,
)
from tandem_shared.db import transaction
from tests.support import eventually
from tests.support.events import (
    Events,
    events_service,
    matching_event,
    profile,
    register,
    scheduled_event,
    withdraw_awaiting_repair,
)

pytestmark = pytest.mark.integration
WARSAW = ZoneInfo("Europe/Warsaw")
# matching_event(): 10:00, 10:25, 10:50, 11:15 then 14:00, 14:20 local time, 20 minutes each
SLOT_STARTS = [
    datetime(2027, 1, 20, hour, minute, tzinfo=WARSAW)
    for hour, minute in ((10, 0), (10, 25), (10, 50), (11, 15), (14, 0), (14, 20))
]


async def meeting_messages(events: Events, expect: int) -> list[Any]:
    messages = await events.messages(MEETINGS.topic("demo"), expect=expect)
    assert len(messages) == expect, [m.type for m in messages]
    return messages


def pair(data: Any) -> frozenset[Any]:
    return frozenset((data.profile_a, data.profile_b))


async def test_schedule_publishes_every_meeting_at_its_slot_time(events: Events) -> None:
    setup = await scheduled_event(events)
    a, b, c, d = setup["profiles"]
    event = setup["event"]
    assert setup["run"]["changes"] == {"new": 4, "moved": 0, "cancelled": 0, "kept": 0}

    messages = await meeting_messages(events, 4)
    assert all(isinstance(m, MeetingScheduled) for m in messages)
    meetings = [m.data for m in messages]
    assert {pair(m) for m in meetings} == {
        frozenset((a.id, b.id)),
        frozenset((c.id, d.id)),
        frozenset((a.id, c.id)),
        frozenset((a.id, d.id)),
    }
    for meeting in meetings:
        assert isinstance(meeting, MeetingData)
        assert meeting.starts_at in SLOT_STARTS
        assert meeting.ends_at - meeting.starts_at == timedelta(minutes=20)
        assert (meeting.event_title, meeting.timezone) == (event["title"], "Europe/Warsaw")
        assert meeting.hub == "demo" and meeting.version == 1 and meeting.table in {"A", "B", "C"}
        assert meeting.location == "Centrum Praskie Koneser, pl. Konesera 1, 03-736 Warszawa"
        sides = {meeting.profile_a: meeting.hub_a, meeting.profile_b: meeting.hub_b}
        assert sides == {p.id: p.hub for p in (a, b, c, d) if p.id in sides}
    # A is only available in the morning and meets three people: no double booking
    a_starts = [m.starts_at for m in meetings if a.id in pair(m)]
    assert len(set(a_starts)) == 3 and max(a_starts) <= SLOT_STARTS[3]
    per_slot_table = [(m.starts_at, m.table) for m in meetings]
    assert len(set(per_slot_table)) == len(per_slot_table)

    # running it again keeps every meeting where it is and announces nothing
    again = await events.call("POST", f"/v1/events/{event['id']}/schedule")
    assert again["changes"] == {"new": 0, "moved": 0, "cancelled": 0, "kept": 4}


async def test_a_withdrawal_cancels_its_meetings_and_an_acceptance_adds_one(events: Events) -> None:
    setup = await scheduled_event(events)
    a, b, c, _ = setup["profiles"]
    _, rb, rc, _ = setup["registrations"]
    event_id = setup["event"]["id"]
    first = await meeting_messages(events, 4)

    await events.call("POST", f"/v1/events/{event_id}/registrations/{rb['id']}:withdraw")
    after_withdrawal = await meeting_messages(events, 5)
    cancelled = after_withdrawal[4]
    assert isinstance(cancelled, MeetingCancelled)
    assert pair(cancelled.data) == frozenset((a.id, b.id))
    original = next(m.data for m in first if m.data.id == cancelled.data.id)
    assert cancelled.data.version == original.version + 1
    assert cancelled.data.starts_at == original.starts_at  # names the instance it cancels

    e = profile("E")
    await events.add_profiles(e)
    re = await register(events, event_id, e)
    base = f"/v1/events/{event_id}/requests"
    ask = {"from_registration": re["id"], "to_registration": rc["id"]}
    request = await events.call("POST", base, json=ask, expect=201)
    await events.call("POST", f"{base}/{request['id']}:accept")
    latest = await meeting_messages(events, 6)
    added = latest[5]
    assert isinstance(added, MeetingScheduled) and pair(added.data) == frozenset((e.id, c.id))
    assert added.data.starts_at.astimezone(UTC) in {s.astimezone(UTC) for s in SLOT_STARTS}
    # the repairs moved nothing: exactly one message per change
    assert [m.type for m in latest].count("meeting.scheduled") == 5


async def test_only_the_organiser_schedules_and_only_with_slots_and_tables(events: Events) -> None:
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    await events.call("POST", f"/v1/events/{event['id']}/schedule", hub="north", expect=403)
    bare = await events.call(
        "POST", "/v1/events", json=matching_event(sessions=[], tables=0), expect=201
    )
    await events.call("POST", f"/v1/events/{bare['id']}/schedule", expect=409)
    empty = await events.call("POST", f"/v1/events/{event['id']}/schedule")
    assert empty["changes"] == {"new": 0, "moved": 0, "cancelled": 0, "kept": 0}


def _vevents(ics: bytes) -> tuple[Calendar, list[Any]]:
    calendar = Calendar.from_ical(ics)
    return calendar, list(calendar.walk("VEVENT"))


async def test_outputs_schedule_agenda_calendars_and_table_plan(events: Events) -> None:
    setup = await scheduled_event(events)
    ra, rb, *_ = setup["registrations"]
    event_id = setup["event"]["id"]

    board = await events.call("GET", f"/v1/events/{event_id}/schedule")
    assert [datetime.fromisoformat(s["starts_at"]) for s in board["slots"]] == SLOT_STARTS
    assert board["slots"][0]["starts_at"].endswith("+01:00")  # local time, with its offset
    assert len(board["meetings"]) == 4 and board["solver"]
    # north (B and D) sees the meetings of its own participants, not the others'.
    north = await events.call("GET", f"/v1/events/{event_id}/schedule", hub="north")
    theirs = [
        m for m in board["meetings"] if {"B", "D"} & {m["organisation_a"], m["organisation_b"]}
    ]
    assert north["slots"] == board["slots"] and north["meetings"] == theirs and len(theirs) < 4

    agenda = await events.call("GET", f"/v1/events/{event_id}/registrations/{ra['id']}/agenda")
    assert agenda["organisation"] == "A" and len(agenda["meetings"]) == 3
    starts = [datetime.fromisoformat(m["starts_at"]) for m in agenda["meetings"]]
    assert starts == sorted(starts) and {m["with_organisation"] for m in agenda["meetings"]} == {
        "B",
        "C",
        "D",
    }

    response = await events.call(
        "GET", f"/v1/events/{event_id}/registrations/{ra['id']}/agenda.ics"
    )
    assert response.headers["content-type"].startswith("text/calendar")
    calendar, vevents = _vevents(response.content)
    assert str(calendar["METHOD"]) == "PUBLISH" and len(vevents) == 3
    by_uid = {str(v["UID"]): v for v in vevents}
    for meeting in agenda["meetings"]:
        vevent = by_uid[f"{meeting['id']}@tandem.meetings"]
        start = vevent.decoded("DTSTART")
        assert vevent["DTSTART"].params["TZID"] == "Europe/Warsaw"
        assert start == datetime.fromisoformat(meeting["starts_at"])
        assert start.utcoffset() == timedelta(hours=1)
        assert vevent.decoded("DTEND") - start == timedelta(minutes=20)
    assert any(tz["TZID"] == "Europe/Warsaw" for tz in calendar.walk("VTIMEZONE"))

    ab = next(m for m in agenda["meetings"] if m["with_organisation"] == "B")
    invite = await events.call("GET", f"/v1/events/{event_id}/meetings/{ab['id']}.ics")
    calendar, [vevent] = _vevents(invite.content)
    assert (str(calendar["METHOD"]), int(vevent["SEQUENCE"])) == ("REQUEST", 1)
    assert len(vevent.get("ATTENDEE", [])) == 2  # the organiser's copy names both
    assert str(vevent["ORGANIZER"]) == "mailto:events@tandem.local"  # RFC 5546: required
    await events.call("POST", f"/v1/events/{event_id}/registrations/{rb['id']}:withdraw")
    cancel = await events.call("GET", f"/v1/events/{event_id}/meetings/{ab['id']}.ics")
    calendar, [vevent] = _vevents(cancel.content)
    assert (str(calendar["METHOD"]), int(vevent["SEQUENCE"])) == ("CANCEL", 2)
    assert str(vevent["ORGANIZER"]) == "mailto:events@tandem.local"
    assert str(vevent["UID"]) == f"{ab['id']}@tandem.meetings"
    assert vevent.decoded("DTSTART") == datetime.fromisoformat(ab["starts_at"])

    plan = await events.call("GET", f"/v1/events/{event_id}/table-plan")
    html = plan.text
    assert plan.headers["content-type"].startswith("text/html")
    assert (
        html.count("<tr><th>") == len(SLOT_STARTS) + 1 and "<th>A</th><th>B</th><th>C</th>" in html
    )
    assert "10:00-10:20" in html and "14:20-14:40" in html
    await events.call("GET", f"/v1/events/{event_id}/meetings/{ra['id']}.ics", expect=404)


async def test_the_table_plan_escapes_organisation_names(events: Events) -> None:
    evil, good = profile("<script>alert(1)</script> & Co"), profile("Good")
    await events.add_profiles(evil, good)
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    first = await register(events, event["id"], evil)
    second = await register(events, event["id"], good)
    base = f"/v1/events/{event['id']}/requests"
    ask = {"from_registration": first["id"], "to_registration": second["id"]}
    request = await events.call("POST", base, json=ask, expect=201)
    await events.call("POST", f"{base}/{request['id']}:accept")
    await events.call("POST", f"/v1/events/{event['id']}/schedule")
    html = (await events.call("GET", f"/v1/events/{event['id']}/table-plan")).text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html


async def test_outcomes_are_published_and_counted(events: Events) -> None:
    setup = await scheduled_event(events)
    a, b, c, d = setup["profiles"]
    ra, rb, *_ = setup["registrations"]
    event_id = setup["event"]["id"]
    agenda = await events.call("GET", f"/v1/events/{event_id}/registrations/{ra['id']}/agenda")
    by_partner = {m["with_organisation"]: m for m in agenda["meetings"]}
    url = f"/v1/events/{event_id}/meetings/{{}}/outcome"

    await events.call(
        "POST", url.format(by_partner["B"]["id"]), json={"outcome": "held"}, hub="x", expect=403
    )
    for bad in ({"outcome": "great"}, {"outcome": "held", "rating": 6}, {"rating": 3}):
        await events.call("POST", url.format(by_partner["B"]["id"]), json=bad, expect=422)
    recorded = await events.call(
        "POST",
        url.format(by_partner["B"]["id"]),
        json={"outcome": "agreement", "rating": 5},
        hub="north",
    )  # B's hub
    assert (recorded["outcome"], recorded["rating"]) == ("agreement", 5)
    await events.call("POST", url.format(by_partner["C"]["id"]), json={"outcome": "no_show"})
    await events.call(
        "POST", url.format(by_partner["D"]["id"]), json={"outcome": "follow_up", "rating": 2}
    )

    messages = await meeting_messages(events, 7)
    outcomes = [m.data for m in messages if m.type == "meeting.outcome_recorded"]
    assert {(o.pair_id, o.outcome.value, o.rating) for o in outcomes} == {
        (pair_id(a.id, b.id), "agreement", 5),
        (pair_id(a.id, c.id), "no_show", None),
        (pair_id(a.id, d.id), "follow_up", 2),
    }

    stats = await events.call("GET", f"/v1/events/{event_id}/stats")
    assert stats == {
        "requests": 1,
        "requests_pending": 0,
        "requests_accepted": 1,
        "requests_declined": 0,
        "acceptance_rate": 1.0,
        "suggestions": 3,
        "meetings_scheduled": 4,
        "outcomes_recorded": 3,
        "meetings_held": 2,
        "no_shows": 1,
        "follow_ups": 1,
        "agreements": 1,
        "mean_rating": 3.5,
    }
    await events.call("GET", f"/v1/events/{event_id}/stats", hub="north", expect=403)

    await events.call("POST", f"/v1/events/{event_id}/registrations/{rb['id']}:withdraw")
    await events.call(
        "POST", url.format(by_partner["B"]["id"]), json={"outcome": "held"}, expect=409
    )


async def test_a_withdrawal_answers_while_the_solver_runs_and_the_stale_result_is_not_stored(
    events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The explicit run solves outside any transaction: a withdrawal during the solve is
    not blocked by it, and the run's result (computed before the withdrawal) is not
    stored: the run re-solves on the new state."""
    setup = await scheduled_event(events)
    a, b, c, d = setup["profiles"]
    _, rb, *_ = setup["registrations"]
    event_id = setup["event"]["id"]
    await meeting_messages(events, 4)
    solving, release = threading.Event(), threading.Event()

    def held_schedule(problem: Problem, *, time_limit_s: float) -> Schedule:
        solving.set()
        release.wait(60)  # bounded: a failing test must not hang the session
        return real_schedule(problem, time_limit_s=time_limit_s)

    monkeypatch.setattr(schedule_service, "schedule", held_schedule)
    run = asyncio.create_task(
        events.client.post(f"/v1/events/{event_id}/schedule", headers=events.auth())
    )
    try:
        assert await asyncio.to_thread(solving.wait, 30)
        # Before: the run held the event row lock while solving, and this waited for it.
        withdraw = events.call("POST", f"/v1/events/{event_id}/registrations/{rb['id']}:withdraw")
        withdrawn = await asyncio.wait_for(withdraw, 30)
        assert withdrawn["status"] == "withdrawn"
    finally:
        release.set()
    response = await run
    assert response.status_code == 200, response.text
    board = await events.call("GET", f"/v1/events/{event_id}/schedule")
    assert rb["id"] not in {m[side] for m in board["meetings"] for side in SIDES}
    # (the run from scratch may move meetings: only the cancellations are certain) Without
    # B, A, C and D meet each other: in any order one of them would wait between their two
    # meetings, and breaks rank above suggestions, so one suggestion among them goes too;
    # D's accepted request with A stays.
    published = await events.messages(MEETINGS.topic("demo"), expect=6)
    cancelled = {pair(m.data) for m in published if isinstance(m, MeetingCancelled)}
    suggestions = {frozenset((a.id, c.id)), frozenset((c.id, d.id))}
    assert frozenset((a.id, b.id)) in cancelled and len(cancelled) == 2
    assert len(cancelled & suggestions) == 1
    assert {frozenset((m["registration_a"], m["registration_b"])) for m in board["meetings"]} >= {
        frozenset((setup["registrations"][0]["id"], setup["registrations"][3]["id"]))
    }


SIDES = ("registration_a", "registration_b")


async def test_the_explicit_run_answers_409_when_the_event_keeps_changing(
    events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = await scheduled_event(events)
    event_id = setup["event"]["id"]

    def changing_schedule(problem: Problem, *, time_limit_s: float) -> Schedule:
        # A change commits while every run solves (as a busy registration desk would).
        asyncio.run_coroutine_threadsafe(_touch(events, event_id), loop).result(30)
        return real_schedule(problem, time_limit_s=time_limit_s)

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(schedule_service, "schedule", changing_schedule)
    await events.call("POST", f"/v1/events/{event_id}/schedule", expect=409)
    board = await events.call("GET", f"/v1/events/{event_id}/schedule")
    assert len(board["meetings"]) == 4  # the earlier schedule is intact


async def _touch(events: Events, event_id: str) -> None:
    async with transaction(events.app.state.runtime.sessionmaker) as session:
        await touch_schedule(session, [uuid.UUID(event_id)])


async def test_a_repair_pending_at_a_crash_runs_when_the_service_starts(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> None:
    async with events_service(clean_databases, kafka, topic_prefix) as first:
        setup = await scheduled_event(first)
        a, b, *_ = setup["profiles"]
        _, rb, *_ = setup["registrations"]
        await meeting_messages(first, 4)
    await withdraw_awaiting_repair(
        first.app.state.runtime.sessionmaker, rb["id"], setup["event"]["id"]
    )
    async with events_service(clean_databases, kafka, topic_prefix) as second:

        async def cancellations() -> list[Any]:
            # At least once: the restart may publish the first run's messages again.
            messages = await second.messages(MEETINGS.topic("demo"), expect=5, timeout=2)
            return [m for m in messages if isinstance(m, MeetingCancelled)]

        [cancelled] = await eventually(cancellations, what="the repair's meeting.cancelled")
        assert pair(cancelled.data) == frozenset((a.id, b.id))
        assert cancelled.data.reason == "a participant withdrew"

        async def repaired() -> bool:
            async with transaction(second.app.state.runtime.sessionmaker) as session:
                query = select(events_table.c.repair_pending)
                return (await session.execute(query)).scalar_one() is None

        await eventually(repaired, what="the pending repair cleared")


async def test_a_signed_link_opens_exactly_one_agenda_without_a_bearer_token(
    events: Events,
) -> None:
    setup = await scheduled_event(events)
    ra, rb, *_ = setup["registrations"]
    event_id = setup["event"]["id"]
    base = f"/v1/events/{event_id}/registrations"
    await events.call("POST", f"{base}/{ra['id']}/calendar-link", hub="elsewhere", expect=403)
    link = await events.call("POST", f"{base}/{rb['id']}/calendar-link", hub="north")  # B's hub
    assert datetime.fromisoformat(link["expires_at"]) > datetime.now(UTC) + timedelta(days=30)
    url = httpx.URL(link["url"])
    assert url.path == f"{base}/{rb['id']}/agenda.ics"

    subscribed = await events.client.get(url)  # no Authorization header, as a calendar app
    assert subscribed.status_code == 200, subscribed.text
    _, vevents = _vevents(subscribed.content)
    assert len(vevents) == 1  # B meets A

    token = url.params["token"]
    other_agenda = f"{base}/{ra['id']}/agenda.ics"
    for bad in (
        events.client.get(other_agenda, params={"token": token}),  # another registration
        events.client.get(url.path, params={"token": token[:-2] + "xx"}),  # tampered
        events.client.get(url.path, params={"token": events.auth()["Authorization"][7:]}),  # bearer
        events.client.get(url.path),  # nothing
    ):
        assert (await bad).status_code == 401
    secret = events.settings.calendar_link_secret.get_secret_value()
    expired, _ = calendar_links.sign(
        secret,
        uuid.UUID(event_id),
        uuid.UUID(rb["id"]),
        valid_for=timedelta(days=1),
        now=datetime.now(UTC) - timedelta(days=2),
    )
    assert (await events.client.get(url.path, params={"token": expired})).status_code == 401
