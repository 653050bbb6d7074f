"""Meeting requests and the matcher's suggestions against PostgreSQL and the real broker."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tandem_events.tables import matches
from tandem_shared.contracts import (
    MATCHES,
    MatchWithdrawn,
    MatchWithdrawnData,
    ProfileData,
    dead_letter_topic,
    pair_id,
)
from tandem_shared.db import transaction
from tests.support import eventually, read_topic
from tests.support.events import (
    Events,
    match_suggested,
    matching_event,
    profile,
)

pytestmark = pytest.mark.integration


async def _register(events: Events, event_id: str, *people: ProfileData) -> list[dict[str, Any]]:
    base = f"/v1/events/{event_id}/registrations"
    return [
        await events.call(
            "POST",
            base,
            json={
                "profile_id": str(p.id),
                "participant": {"name": p.name, "email": "p@example.org"},
            },
            hub=p.hub,
            expect=201,
        )
        for p in people
    ]


async def test_a_request_is_accepted_or_declined_by_the_asked_side(events: Events) -> None:
    a, b, c = profile("A"), profile("B", hub="north"), profile("C", hub="south")
    await events.add_profiles(a, b, c)
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    ra, rb, rc = await _register(events, event["id"], a, b, c)
    base = f"/v1/events/{event['id']}/requests"

    ask = {"from_registration": rb["id"], "to_registration": rc["id"], "message": "Coffee?"}
    await events.call("POST", base, json=ask, hub="south", expect=403)  # south is the asked side
    first = await events.call("POST", base, json=ask, hub="north", expect=201)
    assert first["status"] == "pending"
    await events.call("POST", base, json=ask, hub="north", expect=409)  # one open request a pair

    url = f"{base}/{first['id']}"
    await events.call("POST", f"{url}:accept", hub="north", expect=403)
    accepted = await events.call("POST", f"{url}:accept", hub="south")
    assert accepted["status"] == "accepted"
    assert (await events.call("POST", f"{url}:accept", hub="south"))["status"] == "accepted"
    await events.call("POST", f"{url}:decline", json={"reason": "x"}, hub="south", expect=409)

    other = {"from_registration": ra["id"], "to_registration": rc["id"]}
    second = await events.call("POST", base, json=other, expect=201)
    declined = await events.call(
        "POST", f"{base}/{second['id']}:decline", json={"reason": "fully booked"}
    )  # the organiser may answer for anyone
    assert (declined["status"], declined["reason"]) == ("declined", "fully booked")
    assert [r["status"] for r in await events.call("GET", base)] == ["accepted", "declined"]

    # What people wrote is only for the organiser and the two sides' hubs; a participant's
    # hub sees only its own participants' requests, a hub with no part in the event none.
    by_hub = {hub: await events.call("GET", base, hub=hub) for hub in ("demo", "north", "south")}
    assert [(r["message"], r["reason"]) for r in by_hub["demo"]] == [
        ("Coffee?", None),
        (None, "fully booked"),
    ]  # the organiser sees everything
    assert [(r["id"], r["message"]) for r in by_hub["north"]] == [(first["id"], "Coffee?")]
    assert [r["id"] for r in by_hub["south"]] == [first["id"], second["id"]]  # asked twice
    assert by_hub["south"][1]["reason"] == "fully booked"
    assert await events.call("GET", base, hub="elsewhere") == []


async def test_a_match_of_a_profile_with_itself_goes_to_the_dlq(events: Events) -> None:
    a, b = profile("A"), profile("B")
    await events.add_profiles(a, b)
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    await _register(events, event["id"], a, b)
    itself = match_suggested(a, a)
    ab = match_suggested(a, b)
    wrong = ab.data.model_copy(update={"pair_id": pair_id(a.id, uuid.uuid4())})
    wrong_pair = ab.model_copy(update={"data": wrong})
    good = match_suggested(a, b)
    await events.publish(MATCHES, itself, wrong_pair, good)

    url = f"/v1/events/{event['id']}/suggestions"
    found = await eventually(lambda: events.call("GET", url), what="the good suggestion")
    dead = await read_topic(
        events.kafka.bootstrap,
        events.settings.topic(dead_letter_topic(MATCHES.topic("demo"))),
        expect=2,
    )
    assert sorted(dict(r.headers)["dlq_reason"].decode() for r in dead) == [
        "rejected by handler",
        "rejected by handler",
    ]
    assert [(s["registration_a"] != s["registration_b"]) for s in found] == [True]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to_registration": "00000000-0000-0000-0000-000000000001"}, "to_registration"),
        ({"to_registration": "SELF"}, "must differ"),
        ({"to_registration": "WITHDRAWN"}, "withdrawn"),
        ({"message": "x" * 2001}, "message"),
        ({"message": "Coffee?\x00"}, "NUL"),
    ],
)
async def test_bad_requests_are_422(events: Events, body: dict[str, Any], field: str) -> None:
    a, b, c = profile("A"), profile("B"), profile("C")
    await events.add_profiles(a, b, c)
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    ra, rb, rc = await _register(events, event["id"], a, b, c)
    await events.call("POST", f"/v1/events/{event['id']}/registrations/{rc['id']}:withdraw")
    aliases = {"SELF": ra["id"], "WITHDRAWN": rc["id"]}
    ask = {"from_registration": ra["id"], "to_registration": rb["id"], **body}
    ask["to_registration"] = aliases.get(ask["to_registration"], ask["to_registration"])
    response = await events.client.post(
        f"/v1/events/{event['id']}/requests", json=ask, headers=events.auth()
    )
    assert response.status_code == 422, response.text
    assert field in response.text
    assert await events.call("GET", f"/v1/events/{event['id']}/requests") == []


async def test_match_suggestions_for_registered_pairs_come_and_go(events: Events) -> None:
    a, b, c, d = (profile(name) for name in "ABCD")
    await events.add_profiles(a, b, c, d)
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    cafe = matching_event(kind="world_cafe", title="Café")
    other_kind = await events.call("POST", "/v1/events", json=cafe, expect=201)
    ra, rb = await _register(events, event["id"], a, b)
    await _register(events, other_kind["id"], a, b)
    url = f"/v1/events/{event['id']}/suggestions"

    # a-b both registered: a suggestion; a-c: c not registered (yet)
    ab, ac = match_suggested(a, b, score=0.9), match_suggested(a, c, score=0.7)
    await events.publish(MATCHES, ab, ac)

    async def suggestions(count: int) -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = await events.call("GET", url)
        return found if len(found) == count else None

    [only] = await eventually(lambda: suggestions(1), what="the a-b suggestion")
    # The a-c match may sit on another partition: wait until it is stored too.
    await eventually(lambda: _stored_match(events, ac.data.pair_id), what="the a-c match stored")
    assert (only["pair_id"], only["score"]) == (ab.data.pair_id, 0.9)
    assert {only["registration_a"], only["registration_b"]} == {ra["id"], rb["id"]}
    assert await events.call("GET", f"/v1/events/{other_kind['id']}/suggestions") == []

    # c registers later: the stored a-c match becomes a suggestion at once
    await _register(events, event["id"], c)
    assert {s["pair_id"] for s in await events.call("GET", url)} == {
        ab.data.pair_id,
        ac.data.pair_id,
    }

    data = MatchWithdrawnData(
        **ab.data.model_dump(include={"pair_id", "profile_a", "profile_b", "hub_a", "hub_b"}),
        version=2,
        reason="score below threshold",
    )
    await events.publish(
        MATCHES,
        MatchWithdrawn(source="/t", subject=ab.subject, hub="demo", data=data),
    )
    [left] = await eventually(lambda: suggestions(1), what="the a-b suggestion withdrawn")
    assert left["pair_id"] == ac.data.pair_id


async def _stored_match(events: Events, pair_id: str) -> bool:
    async with transaction(events.app.state.runtime.sessionmaker) as session:
        query = select(matches.c.pair_id).where(matches.c.pair_id == pair_id)
        return (await session.execute(query)).first() is not None
