"""The organiser's scheduling rules (issue 17) through the HTTP API, on real PostgreSQL and
the real broker: each rule set over HTTP reaches the solver (a pinned meeting lands on its
slot and table, a window and a precedence decide a slot, a forbidden slot stays empty, a
cap per session splits a day, a colleague with a separate agenda holds a second meeting at
once), and rules that do not fit or cannot hold are refused with 422, changing nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tandem_shared.contracts import MEETINGS, MeetingData
from tests.support import eventually
from tests.support.events import Events, matching_event, profile, register

pytestmark = pytest.mark.integration
# matching_event(): session 0 has slots 0-3 (morning), session 1 slots 4-5 (afternoon);
# tables A, B, C.


async def _setup(events: Events, names: str, **event: Any) -> tuple[str, dict[str, Any]]:
    """An event and one registration per letter of `names` (organisation names)."""
    people = [profile(name) for name in names]
    await events.add_profiles(*people)
    created = await events.call("POST", "/v1/events", json=matching_event(**event), expect=201)
    return created["id"], {p.name: p for p in people}


async def _accepted(events: Events, event_id: str, asking: Any, asked: Any) -> str:
    base = f"/v1/events/{event_id}/requests"
    ask = {"from_registration": asking["id"], "to_registration": asked["id"]}
    request = await events.call("POST", base, json=ask, expect=201)
    await events.call("POST", f"{base}/{request['id']}:accept")
    return str(request["id"])


async def _request_rules(
    events: Events, event_id: str, request_id: str, *, expect: int = 200, **rules: Any
) -> Any:
    url = f"/v1/events/{event_id}/requests/{request_id}/rules"
    return await events.call("PUT", url, json=rules, expect=expect)


async def _registration_rules(
    events: Events, event_id: str, registration: Any, *, expect: int = 200, **rules: Any
) -> Any:
    url = f"/v1/events/{event_id}/registrations/{registration['id']}/rules"
    return await events.call("PUT", url, json=rules, expect=expect)


async def _meetings(events: Events, event_id: str) -> dict[str, Any]:
    """The scheduled meetings by key (the accepted request's id)."""
    board = await events.call("GET", f"/v1/events/{event_id}/schedule")
    return {meeting["key"]: meeting for meeting in board["meetings"]}


async def test_a_pin_a_window_a_precedence_and_a_forbidden_slot_decide_the_schedule(
    events: Events,
) -> None:
    event_id, people = await _setup(events, "ABCD")
    a, b, c, d = [await register(events, event_id, people[name]) for name in "ABCD"]
    ab = await _accepted(events, event_id, a, b)
    ac = await _accepted(events, event_id, a, c)
    cd = await _accepted(events, event_id, c, d)

    pinned = await _request_rules(events, event_id, ab, pinned_slot=5, pinned_table="C")
    assert (pinned["pinned_slot"], pinned["pinned_table"]) == (5, "C")
    # A meets C in the afternoon session, after C met D; D may not meet before slot 3
    windowed = await _request_rules(events, event_id, ac, sessions=[1], after=[cd])
    assert windowed["window_sessions"] == [1] and windowed["after_requests"] == [cd]
    forbidden = await _registration_rules(events, event_id, d, forbidden_slots=[2, 0, 1])
    assert forbidden["forbidden_slots"] == [0, 1, 2]

    run = await events.call("POST", f"/v1/events/{event_id}/schedule")
    assert run["changes"]["new"] == 3
    quality = run["quality"]
    assert (quality["placed"], quality["must"], quality["must_placed"]) == (3, 3, 3)
    assert quality["breaks_gap"] == quality["breaks"] - quality["breaks_bound"] >= 0
    meetings = await _meetings(events, event_id)
    # pinned: slot 5, table C; A's afternoon slot left is 4; C-D before it, not in 0-2: 3
    assert (meetings[ab]["slot"], meetings[ab]["table"]) == (5, "C")
    assert meetings[ac]["slot"] == 4
    assert meetings[cd]["slot"] == 3
    assert (meetings[ab]["organisation_a"], meetings[ab]["organisation_b"]) == ("A", "B")
    sides = {key: {m["registration_a"], m["registration_b"]} for key, m in meetings.items()}
    assert not {m["slot"] for key, m in meetings.items() if d["id"] in sides[key]} & {0, 1, 2}

    # a rule changed after scheduling is kept by the repair that follows
    await _request_rules(events, event_id, ab, pinned_slot=0, pinned_table="A")

    async def repaired() -> bool:
        found = await _meetings(events, event_id)
        return (found[ab]["slot"], found[ab]["table"]) == (0, "A")

    await eventually(repaired, what="the repaired pin")
    after = await _meetings(events, event_id)
    assert after[ac]["slot"] in {4, 5} and after[cd]["slot"] == 3 < after[ac]["slot"]


async def test_a_cap_per_session_splits_a_participants_meetings_across_sessions(
    events: Events,
) -> None:
    event_id, people = await _setup(events, "EFG")
    e, f, g = [await register(events, event_id, people[name]) for name in "EFG"]
    ef = await _accepted(events, event_id, e, f)
    eg = await _accepted(events, event_id, e, g)
    # without the cap, E's two meetings would sit side by side (no break); slot 3 is
    # forbidden, so with one meeting per session E must wait between them
    ruled = await _registration_rules(events, event_id, e, forbidden_slots=[3], session_cap=1)
    assert ruled["session_cap"] == 1

    await events.call("POST", f"/v1/events/{event_id}/schedule")
    meetings = await _meetings(events, event_id)
    slots = sorted(meetings[key]["slot"] for key in (ef, eg))
    assert slots[0] in {0, 1, 2} and slots[1] in {4, 5}


async def test_a_colleague_with_a_separate_agenda_holds_a_second_meeting_at_once(
    events: Events,
) -> None:
    event_id, people = await _setup(events, "XYZ")
    colleague = {"name": "Second of X", "email": "second@example.org", "availability": [0, 1]}
    x = await register(events, event_id, people["X"], colleague=colleague, agendas="separate")
    assert x["has_colleague"] and x["colleague"]["name"] == "Second of X"
    assert x["agendas"] == "separate"
    y, z = [await register(events, event_id, people[name]) for name in "YZ"]
    xy = await _accepted(events, event_id, x, y)
    xz = await _accepted(events, event_id, x, z)
    await _request_rules(events, event_id, xy, pinned_slot=0, person_from="colleague")
    await _request_rules(events, event_id, xz, pinned_slot=0)

    # joint agendas could not hold both pins at once: refused, nothing changed
    refused = await _registration_rules(events, event_id, x, agendas="joint", expect=422)
    assert "pinned meetings" in refused["detail"][0]["msg"]
    [still] = [
        r
        for r in await events.call("GET", f"/v1/events/{event_id}/registrations")
        if r["id"] == x["id"]
    ]
    assert still["agendas"] == "separate"
    # another participant's hub sees that X brings a colleague, not who (a hub with no
    # participant reads no registrations at all)
    guest = profile("W", hub="north")
    await events.add_profiles(guest)
    await register(events, event_id, guest)
    [seen] = [
        r
        for r in await events.call("GET", f"/v1/events/{event_id}/registrations", hub="north")
        if r["id"] == x["id"]
    ]
    assert seen["has_colleague"] and seen["colleague"] is None

    await events.call("POST", f"/v1/events/{event_id}/schedule")
    meetings = await _meetings(events, event_id)
    assert meetings[xy]["slot"] == meetings[xz]["slot"] == 0
    assert (meetings[xy]["person_a"], meetings[xz]["person_a"]) == ("colleague", "participant")
    messages = await events.messages(MEETINGS.topic("demo"), expect=2)
    attending = {m.data.person_a for m in messages if isinstance(m.data, MeetingData)}
    assert attending == {"colleague", "participant"}


async def test_rules_that_do_not_fit_or_cannot_hold_are_refused_and_change_nothing(
    events: Events,
) -> None:
    event_id, people = await _setup(events, "PQR", break_spread=2)
    event = await events.call("GET", f"/v1/events/{event_id}")
    assert event["break_spread"] == 2
    changed = await events.call("PATCH", f"/v1/events/{event_id}", json={"break_spread": 0})
    assert changed["break_spread"] == 0 and changed["version"] == 2
    p, q, r = [await register(events, event_id, people[name]) for name in "PQR"]
    pq = await _accepted(events, event_id, p, q)
    qr = await _accepted(events, event_id, q, r)

    async def refused(request_id: str, field: str, words: str, **rules: Any) -> None:
        answer = await _request_rules(events, event_id, request_id, expect=422, **rules)
        [error] = answer["detail"]
        assert error["loc"][-1] == field and words in error["msg"], answer

    await refused(pq, "sessions", "unknown sessions [5]", sessions=[0, 5])
    await refused(pq, "slots", "unknown slots [6]", slots=[6])
    await refused(pq, "pinned_table", "no table 'Z'", pinned_slot=1, pinned_table="Z")
    await refused(pq, "rules", "outside its window", sessions=[0], pinned_slot=5)
    await refused(pq, "after", "cannot come after itself", after=[pq])
    await refused(pq, "person_from", "separate agendas", person_from="colleague")
    bad = await _request_rules(events, event_id, pq, expect=422, pinned_table="A")
    assert "needs a pinned slot" in bad["detail"][0]["msg"]

    await _request_rules(events, event_id, qr, after=[pq])
    await refused(pq, "rules", "cycle", after=[qr])
    # a pin on a slot one side may not meet in, either way round
    await _request_rules(events, event_id, pq, pinned_slot=2)
    forbid = await _registration_rules(events, event_id, q, forbidden_slots=[2], expect=422)
    assert "Q cannot meet in slot 2" in forbid["detail"][0]["msg"]  # by name
    await _registration_rules(events, event_id, r, forbidden_slots=[1])
    await refused(qr, "rules", "cannot meet in slot 1", pinned_slot=1, after=[pq])
    separate = await _registration_rules(events, event_id, p, agendas="separate", expect=422)
    assert "need a colleague" in separate["detail"][0]["msg"]
    await _registration_rules(events, event_id, p, forbidden_slots=[9], expect=422)
    # only the organiser sets rules
    url = f"/v1/events/{event_id}/requests/{pq}/rules"
    await events.call("PUT", url, json={"pinned_slot": 3}, hub="north", expect=403)

    # nor may a change to the event break a rule: pq is pinned to slot 2, of session 0
    await _request_rules(events, event_id, pq, pinned_slot=2, pinned_table="C")
    url = f"/v1/events/{event_id}"
    fewer = await events.call("PATCH", url, json={"tables": ["A", "B"]}, expect=422)
    assert "no table C" in fewer["detail"][0]["msg"]
    morning = {"sessions": matching_event()["sessions"][1:]}  # the afternoon only: 2 slots
    assert (
        "no slot 2"
        in (await events.call("PATCH", url, json=morning, expect=422))["detail"][0]["msg"]
    )
    assert (await events.call("GET", url))["tables"] == ["A", "B", "C"]
    await _request_rules(events, event_id, pq, pinned_slot=2)

    # every refusal left the last accepted rules as they were
    requests = {
        row["id"]: row for row in await events.call("GET", f"/v1/events/{event_id}/requests")
    }
    assert (requests[pq]["pinned_slot"], requests[pq]["window_sessions"]) == (2, None)
    assert requests[pq]["after_requests"] == [] and requests[qr]["after_requests"] == [pq]
    registrations = await events.call("GET", f"/v1/events/{event_id}/registrations")
    forbidden = {row["id"]: row["forbidden_slots"] for row in registrations}
    assert forbidden == {p["id"]: [], q["id"]: [], r["id"]: [1]}


async def test_a_precedence_reorders_meetings_and_the_repair_keeps_it(events: Events) -> None:
    event_id, people = await _setup(events, "XYZ")
    x, y, z = [await register(events, event_id, people[name]) for name in "XYZ"]
    xy = await _accepted(events, event_id, x, y)
    xz = await _accepted(events, event_id, x, z)
    await _request_rules(events, event_id, xz, pinned_slot=2)
    await _request_rules(events, event_id, xy, slots=[0, 3])
    await events.call("POST", f"/v1/events/{event_id}/schedule")
    # right after the pinned meeting, X does not wait
    assert (await _meetings(events, event_id))[xy]["slot"] == 3

    # X-Y must come before X-Z now: only slot 0 is left in its window
    await _request_rules(events, event_id, xz, pinned_slot=2, after=[xy])

    async def reordered() -> bool:
        return bool((await _meetings(events, event_id))[xy]["slot"] == 0)

    await eventually(reordered, what="the repair to keep the precedence")
    assert (await _meetings(events, event_id))[xz]["slot"] == 2
