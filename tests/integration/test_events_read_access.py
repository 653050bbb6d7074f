"""Who reads what of an event (`tandem_events.domain.audience`), over HTTP on PostgreSQL
and the broker: the organiser everything, a participant's hub its own participants and
their counterparts, anyone else nothing, and a hub-only organisation never by another hub.

Before the rule, any hub's staff read every registration, suggestion, the schedule,
agendas, calendars and the table plan of any event, hub-only organisations included."""

from __future__ import annotations

from typing import Any

import pytest

from tandem_shared.auth import Role
from tandem_shared.contracts import MATCHES, PROFILES, ProfileUpserted, Sharing
from tests.support import bearer, eventually
from tests.support.events import Events, match_suggested, matching_event, profile, register

pytestmark = pytest.mark.integration
HIDDEN = "Demo Hidden Archive"


async def _setup(events: Events) -> dict[str, Any]:
    """demo organises; its hub-only archive meets its shared museum, which also meets a
    south studio and an east maker (all network-shared)."""
    hidden = profile(HIDDEN, hub="demo", sharing=Sharing.HUB)
    museum = profile("Demo Museum")
    studio = profile("South Studio", hub="south")
    maker = profile("East Maker", hub="east")
    await events.add_profiles(hidden, museum, studio, maker)
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    event_id = event["id"]
    regs = {p.name: await register(events, event_id, p) for p in (hidden, museum, studio, maker)}
    await events.publish(
        MATCHES,
        match_suggested(hidden, museum, 0.9),
        match_suggested(museum, studio, 0.8),
        match_suggested(museum, maker, 0.7),
    )

    async def three() -> bool:
        return len(await events.call("GET", f"/v1/events/{event_id}/suggestions")) == 3

    await eventually(three, what="three suggestions")
    run = await events.call("POST", f"/v1/events/{event_id}/schedule")
    assert run["changes"]["new"] == 3
    return {"event_id": event_id, "regs": regs, "studio": studio}


def _reads(event_id: str, regs: dict[str, Any], meetings: dict[str, str]) -> dict[str, str]:
    base = f"/v1/events/{event_id}"
    hidden, studio = regs[HIDDEN]["id"], regs["South Studio"]["id"]
    return {
        "registrations": f"{base}/registrations",
        "suggestions": f"{base}/suggestions",
        "requests": f"{base}/requests",
        "schedule": f"{base}/schedule",
        "table plan": f"{base}/table-plan",
        "hidden agenda": f"{base}/registrations/{hidden}/agenda",
        "hidden agenda.ics": f"{base}/registrations/{hidden}/agenda.ics",
        "studio agenda": f"{base}/registrations/{studio}/agenda",
        "studio agenda.ics": f"{base}/registrations/{studio}/agenda.ics",
        "hidden meeting.ics": f"{base}/meetings/{meetings[HIDDEN]}.ics",
        "studio meeting.ics": f"{base}/meetings/{meetings['South Studio']}.ics",
    }


async def _get(events: Events, url: str, hub: str, role: Role = Role.STAFF) -> Any:
    return await events.client.get(url, headers=bearer(events.settings, hub, role))


async def _meetings(events: Events, event_id: str) -> dict[str, str]:
    """The id of the museum's meeting with each of its partners, by the partner's name."""
    board = await events.call("GET", f"/v1/events/{event_id}/schedule")
    return {
        next(n for n in (m["organisation_a"], m["organisation_b"]) if n != "Demo Museum"): m["id"]
        for m in board["meetings"]
    }


async def test_a_hub_with_no_participant_reads_nothing_of_the_event(events: Events) -> None:
    """It sees the event and its slots (to decide whether to register someone), nobody
    registered, no pair, and no one's agenda or meeting."""
    setup = await _setup(events)
    event_id = setup["event_id"]
    reads = _reads(event_id, setup["regs"], await _meetings(events, event_id))
    for role in (Role.STAFF, Role.HUB_ADMIN):
        answers = {what: await _get(events, url, "elsewhere", role) for what, url in reads.items()}
        for what in ("registrations", "suggestions", "requests"):
            assert (answers.pop(what).json(), what) == ([], what)
        schedule = answers.pop("schedule").json()
        assert len(schedule["slots"]) == 6 and schedule["meetings"] == []
        plan = answers.pop("table plan").text
        assert all(name not in plan for name in setup["regs"])
        for what, answer in answers.items():
            assert answer.status_code == 403, (what, role, answer.text)
    # The event itself is an announcement: every hub reads it.
    assert (await _get(events, f"/v1/events/{event_id}", "elsewhere")).status_code == 200


async def test_a_participants_hub_sees_its_own_and_never_a_hub_only_organisation(
    events: Events,
) -> None:
    setup = await _setup(events)
    event_id, regs = setup["event_id"], setup["regs"]
    meetings = await _meetings(events, event_id)
    reads = _reads(event_id, regs, meetings)
    answers = {what: await _get(events, url, "south") for what, url in reads.items()}

    for what in ("hidden agenda", "hidden agenda.ics", "hidden meeting.ics"):
        assert answers[what].status_code == 403, what
    for what, answer in answers.items():
        assert HIDDEN not in answer.text, what
        assert regs[HIDDEN]["id"] not in answer.text, what
    listed = answers["registrations"].json()
    assert {r["organisation"] for r in listed} == {"Demo Museum", "South Studio", "East Maker"}
    assert all(r["participant"] is None for r in listed)  # contacts are the organiser's
    studio, museum = regs["South Studio"]["id"], regs["Demo Museum"]["id"]
    assert [{s["registration_a"], s["registration_b"]} for s in answers["suggestions"].json()] == [
        {studio, museum}
    ]
    schedule = answers["schedule"].json()["meetings"]
    assert [m["id"] for m in schedule] == [meetings["South Studio"]]
    assert "East Maker" not in answers["table plan"].text  # not south's meeting
    assert "South Studio" in answers["table plan"].text
    agenda = answers["studio agenda"].json()["meetings"]
    assert [m["with_organisation"] for m in agenda] == ["Demo Museum"]
    assert answers["studio meeting.ics"].status_code == 200
    assert b"Demo Museum" in answers["studio agenda.ics"].content
    assert "ATTENDEE" not in answers["studio meeting.ics"].text  # no contacts either


async def test_the_organiser_and_a_network_admin_see_every_meeting(events: Events) -> None:
    setup = await _setup(events)
    event_id, regs = setup["event_id"], setup["regs"]
    meetings = await _meetings(events, event_id)
    assert set(meetings) == {HIDDEN, "South Studio", "East Maker"}
    for hub, role in (("demo", Role.STAFF), ("elsewhere", Role.NETWORK_ADMIN)):
        for what, url in _reads(event_id, regs, meetings).items():
            response = await _get(events, url, hub, role)
            assert response.status_code == 200, (hub, what, response.text)
        plan = await _get(events, f"/v1/events/{event_id}/table-plan", hub, role)
        assert HIDDEN in plan.text and "East Maker" in plan.text
        listed = (await _get(events, f"/v1/events/{event_id}/registrations", hub, role)).json()
        contacts = [r["participant"] is not None for r in listed]
        assert contacts == [hub == "demo"] * 4  # contacts only for the organiser


async def test_an_organisation_that_becomes_hub_only_is_no_longer_named(events: Events) -> None:
    setup = await _setup(events)
    event_id, regs, studio = setup["event_id"], setup["regs"], setup["studio"]
    private = studio.model_copy(update={"sharing": Sharing.HUB, "version": 2})
    upsert = ProfileUpserted(
        source="/tandem/registry/test", subject=str(private.id), hub=private.hub, data=private
    )
    await events.publish(PROFILES, upsert)
    url = f"/v1/events/{event_id}/registrations"

    async def withheld() -> Any:
        row = {r["id"]: r for r in await events.call("GET", url)}[regs["South Studio"]["id"]]
        return row if row["organisation"] != "South Studio" else None

    row = await eventually(withheld, what="the studio's name withheld from the organiser")
    assert row["organisation"] == "an organisation" and row["participant"] is None
    plan = await events.call("GET", f"/v1/events/{event_id}/table-plan")
    assert "South Studio" not in plan.text
    # south still sees its own studio, by name.
    own = (await _get(events, url, "south")).json()
    assert [r["organisation"] for r in own if r["hub"] == "south"] == ["South Studio"]
    # east can no longer ask it for a meeting: to east it is not there.
    ask = {"from_registration": regs["East Maker"]["id"], "to_registration": row["id"]}
    refused = await events.client.post(
        f"/v1/events/{event_id}/requests", json=ask, headers=bearer(events.settings, "east")
    )
    assert refused.status_code == 422 and "to_registration" in refused.text
