"""Registrations against PostgreSQL and the real broker: profiles from the directory
projection, the waitlist, withdrawal and check-in, contact data withheld from other hubs,
registration messages and erasure of a profile's personal data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tandem_events.tables import matches, registrations
from tandem_shared.contracts import (
    MATCHES,
    PROFILES,
    REGISTRATIONS,
    ProfileErased,
    ProfileErasedData,
    RegistrationData,
    Sharing,
)
from tandem_shared.db import transaction
from tests.support import eventually
from tests.support.events import (
    Events,
    match_suggested,
    matching_event,
    profile,
)

pytestmark = pytest.mark.integration


def registration(profile_id: Any, name: str = "Anna Nowak", **changes: Any) -> dict[str, Any]:
    return {
        "profile_id": str(profile_id),
        "participant": {"name": name, "email": "anna@example.org", "languages": ["pl"]},
        **changes,
    }


async def test_a_full_event_waitlists_and_a_withdrawal_moves_the_first_up(events: Events) -> None:
    people = [profile(f"Org {n}") for n in range(4)]
    await events.add_profiles(*people)
    event = await events.call("POST", "/v1/events", json=matching_event(capacity=2), expect=201)
    base = f"/v1/events/{event['id']}/registrations"
    made = [await events.call("POST", base, json=registration(p.id), expect=201) for p in people]
    assert [r["status"] for r in made] == ["registered", "registered", "waitlisted", "waitlisted"]
    assert made[0]["organisation"] == "Org 0"

    withdrawn = await events.call("POST", f"{base}/{made[0]['id']}:withdraw")
    assert withdrawn["status"] == "withdrawn"
    again = await events.call("POST", f"{base}/{made[0]['id']}:withdraw")
    assert again["version"] == withdrawn["version"]
    statuses = [r["status"] for r in await events.call("GET", base)]
    assert statuses == ["withdrawn", "registered", "registered", "waitlisted"]

    checked = await events.call("POST", f"{base}/{made[1]['id']}:check-in")
    assert checked["status"] == "checked_in"
    await events.call("POST", f"{base}/{made[3]['id']}:check-in", expect=409)

    # created for the three that got a place (one by promotion), withdrawn for the first
    messages = await events.messages(REGISTRATIONS.topic("demo"), expect=4)
    assert all(isinstance(m.data, RegistrationData) for m in messages)
    assert sorted((m.type, str(getattr(m.data, "id", ""))) for m in messages) == sorted(
        [
            ("registration.created", made[0]["id"]),
            ("registration.created", made[1]["id"]),
            ("registration.withdrawn", made[0]["id"]),
            ("registration.created", made[2]["id"]),
        ]
    )


async def test_only_visible_profiles_register_and_only_once(events: Events) -> None:
    private_north = profile("North Only", hub="north", sharing=Sharing.HUB)
    shared_north = profile("North Shared", hub="north")
    await events.add_profiles(private_north, shared_north)
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    base = f"/v1/events/{event['id']}/registrations"

    refused = await events.client.post(
        base, json=registration(private_north.id), headers=events.auth("demo")
    )
    assert refused.status_code == 422 and "profile_id" in refused.text
    # Not even north may take its hub-only profile to another hub's event (the organiser
    # would see it); at north's own event it may.
    elsewhere = await events.client.post(
        base, json=registration(private_north.id), headers=events.auth("north")
    )
    assert elsewhere.status_code == 422 and "hub-only" in elsewhere.text
    own = await events.call("POST", "/v1/events", json=matching_event(), hub="north", expect=201)
    own_base = f"/v1/events/{own['id']}/registrations"
    await events.call(
        "POST", own_base, json=registration(private_north.id), hub="north", expect=201
    )
    await events.call("POST", base, json=registration(shared_north.id), expect=201)
    await events.call("POST", base, json=registration(shared_north.id), expect=409)
    await events.call("POST", own_base, json=registration(shared_north.id), hub="north", expect=201)
    unknown = registration("00000000-0000-0000-0000-000000000001")
    await events.call("POST", base, json=unknown, expect=422)
    await events.call(
        "POST",
        "/v1/events/00000000-0000-0000-0000-000000000000/registrations",
        json=registration(shared_north.id),
        expect=404,
    )
    assert len(await events.call("GET", base)) == 1
    assert len(await events.call("GET", own_base, hub="north")) == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"availability": [0, 6]}, "availability"),  # the event has slots 0..5
        ({"availability": [-1]}, "availability"),
        ({"max_meetings": -1}, "max_meetings"),
        ({"participant": {"name": "A", "email": "not-an-email"}}, "email"),
        ({"participant": {"name": "", "email": "a@example.org"}}, "name"),
        ({"participant": {"name": "A\x00", "email": "a@example.org"}}, "NUL"),
        ({"participant": {"name": "A", "email": "a@example.org", "languages": ["xx"]}}, "639"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_bad_registrations_are_422(
    events: Events, changes: dict[str, Any], field: str
) -> None:
    org = profile("Org")
    await events.add_profiles(org)
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    base = f"/v1/events/{event['id']}/registrations"
    response = await events.client.post(
        base, json=registration(org.id, **changes), headers=events.auth()
    )
    assert response.status_code == 422, response.text
    assert field in response.text
    assert await events.call("GET", base) == []


async def test_contacts_only_for_the_organiser_and_writes_only_for_the_hubs_concerned(
    events: Events,
) -> None:
    org = profile("Org", hub="south")
    await events.add_profiles(org)
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    base = f"/v1/events/{event['id']}/registrations"
    made = await events.call("POST", base, json=registration(org.id), hub="south", expect=201)

    assert (await events.call("GET", base))[0]["participant"]["email"] == "anna@example.org"
    # The participant's own hub sees its registration without the contact; a hub with no
    # part in the event reads nothing of it.
    assert (await events.call("GET", base, hub="south"))[0]["participant"] is None
    assert await events.call("GET", base, hub="north") == []
    await events.call("POST", f"{base}/{made['id']}:withdraw", hub="north", expect=403)
    await events.call("POST", f"{base}/{made['id']}:check-in", hub="south", expect=403)
    assert (await events.call("POST", f"{base}/{made['id']}:withdraw", hub="south"))[
        "status"
    ] == "withdrawn"


async def test_erasure_of_a_profile_removes_its_participants_personal_data(events: Events) -> None:
    org, other = profile("Org"), profile("Other")
    await events.add_profiles(org, other)
    event = await events.call("POST", "/v1/events", json=matching_event(), expect=201)
    base = f"/v1/events/{event['id']}/registrations"
    with_colleague = {
        **registration(org.id, "Erased Person"),
        "colleague": {"name": "Erased Colleague", "email": "second@example.org"},
        "agendas": "separate",
    }
    await events.call("POST", base, json=with_colleague, expect=201)
    await events.call("POST", base, json=registration(other.id, "Kept Person"), expect=201)
    await events.publish(MATCHES, match_suggested(org, other))
    suggestions_url = f"/v1/events/{event['id']}/suggestions"
    await eventually(lambda: events.call("GET", suggestions_url), what="the suggestion")

    data = ProfileErasedData(id=org.id, hub=org.hub, version=2, erased_at=datetime.now(UTC))
    erased = ProfileErased(
        source="/tandem/registry/test", subject=str(org.id), hub=org.hub, data=data
    )
    await events.publish(PROFILES, erased)

    async def scrubbed() -> list[dict[str, Any]] | None:
        async with transaction(events.app.state.runtime.sessionmaker) as session:
            rows = [dict(r) for r in (await session.execute(select(registrations))).mappings()]
        names = {r["participant_name"] for r in rows}
        return rows if names == {None, "Kept Person"} else None

    rows = await eventually(scrubbed, what="the erased participant's data cleared")
    erased_row = next(r for r in rows if r["profile_id"] == org.id)
    assert erased_row["participant_email"] is None and erased_row["participant_languages"] == []
    assert (erased_row["colleague_name"], erased_row["colleague_email"]) == (None, None)
    # the organisation still brings two people with separate agendas: the schedule stays
    assert erased_row["colleague"] and erased_row["agendas"] == "separate"
    # what the matcher said about the erased organisation goes too
    assert await events.call("GET", suggestions_url) == []
    async with transaction(events.app.state.runtime.sessionmaker) as session:
        assert (await session.execute(select(matches))).all() == []
