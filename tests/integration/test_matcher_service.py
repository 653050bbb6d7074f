"""The matcher over the real broker and PostgreSQL: profiles, registrations and meeting
outcomes in; match.suggested / updated / withdrawn out; the API answers; feedback and
erasure change what is suggested."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tandem_matcher.app import create_app
from tandem_matcher.settings import MatcherSettings
from tandem_matcher.tables import (
    bus,
    events,
    learned_weights,
    matches,
    profiles,
    registrations,
)
from tandem_shared.auth import Role
from tandem_shared.contracts import (
    EVENTS,
    MATCHES,
    MEETINGS,
    PROFILES,
    REGISTRATIONS,
    Envelope,
    EventCancelled,
    EventCancelledData,
    EventData,
    EventScheduled,
    MeetingOutcomeData,
    MeetingOutcomeRecorded,
    ProfileErased,
    ProfileErasedData,
    ProfileUpserted,
    RegistrationCreated,
    RegistrationData,
    RegistrationWithdrawn,
    TopicSpec,
    pair_id,
    parse_message,
)
from tandem_shared.db import create_engine
from tests.support import (
    bearer,
    complementary_profiles,
    eventually,
    produce_messages,
    read_topic,
    running,
    service_settings,
)
from tests.support.matcher import demo_upserted as upserted
from tests.support.matcher import two_profiles

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class Matcher:
    client: httpx.AsyncClient
    settings: MatcherSettings
    kafka: Any
    prefix: str
    database_url: str

    def auth(self, hub: str = "demo", role: Role = Role.STAFF) -> dict[str, str]:
        return bearer(self.settings, hub, role)

    async def publish(self, topic: TopicSpec, *messages: Envelope) -> None:
        await produce_messages(self.kafka.bootstrap, self.prefix, topic, messages)

    async def match_messages(self, expect: int) -> list[Any]:
        """The matches topic from the start, parsed (tombstones as None)."""
        records = await read_topic(
            self.kafka.bootstrap, self.prefix + MATCHES.topic("demo"), expect=expect, timeout=10
        )
        return [parse_message(r.value) if r.value is not None else None for r in records]

    async def scalar(self, query: Any) -> Any:
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as connection:
                return (await connection.execute(query)).scalar()
        finally:
            await engine.dispose()

    async def outbox_drained(self) -> bool:
        unsent = await self.scalar(
            select(bus.outbox.c.id).where(bus.outbox.c.sent_at.is_(None)).limit(1)
        )
        return unsent is None

    async def matches_of(
        self, profile_id: uuid.UUID, auth: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.client.get(
            f"/v1/profiles/{profile_id}/matches", headers=auth or self.auth()
        )


@asynccontextmanager
async def running_matcher(
    databases: dict[str, str], kafka: Any, prefix: str, **overrides: Any
) -> AsyncIterator[Matcher]:
    settings = service_settings(
        MatcherSettings,
        database_url=databases["matcher"],
        kafka=kafka,
        prefix=prefix,
        learning_rate=0.2,
        **overrides,
    )
    async with running(create_app(settings)) as client:
        yield Matcher(client, settings, kafka, prefix, databases["matcher"])


@pytest.fixture
async def matcher(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> AsyncIterator[Matcher]:
    async with running_matcher(clean_databases, kafka, topic_prefix) as running_one:
        yield running_one


def of_pair(messages: list[Any], pair: str) -> list[str]:
    return [m.type for m in messages if m is not None and m.subject == pair]


async def suggested_pair(matcher: Matcher, a: ProfileUpserted, b: ProfileUpserted) -> str:
    await matcher.publish(PROFILES, a, b)

    async def listed() -> list[Any] | None:
        response = await matcher.matches_of(a.data.id)
        return response.json()["matches"] if response.status_code == 200 else None

    found = await eventually(listed, what="the pair in the API")
    assert [m["profile_id"] for m in found] == [str(b.data.id)]
    return pair_id(a.data.id, b.data.id)


async def test_profiles_in_match_out_and_the_api_answers(matcher: Matcher) -> None:
    museum, studio = two_profiles()
    pair = await suggested_pair(matcher, museum, studio)

    (listed,) = (await matcher.matches_of(museum.data.id)).json()["matches"]
    assert listed["status"] == "suggested" and 0 < listed["score"] <= 1
    for name in ("reciprocal", "sector", "looking_for", "language", "geography", "event"):
        assert 0 <= listed["components"][name] <= 1, name
    assert listed["components"]["sector"] == 1.0  # heritage x creative
    assert listed["components"]["geography"] == 0.6  # PL and DE are neighbours
    assert listed["explanation"]["a_needs_b_offers"]["need"]

    detail = await matcher.client.get(f"/v1/matches/{pair}", headers=matcher.auth())
    assert detail.status_code == 200
    assert detail.json()["score"] == listed["score"]
    assert {detail.json()["profile_a"], detail.json()["profile_b"]} == {
        str(museum.data.id),
        str(studio.data.id),
    }
    admin = matcher.auth("elsewhere", Role.NETWORK_ADMIN)
    assert (await matcher.client.get(f"/v1/matches/{pair}", headers=admin)).status_code == 200

    # Hub-only profiles: another hub's staff sees neither the pair nor the profile list,
    # and an unknown pair looks exactly the same.
    stranger = matcher.auth("elsewhere")
    hidden = await matcher.client.get(f"/v1/matches/{pair}", headers=stranger)
    unknown = await matcher.client.get(
        f"/v1/matches/{pair_id(uuid.uuid4(), uuid.uuid4())}", headers=matcher.auth()
    )
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()
    assert (await matcher.matches_of(museum.data.id, stranger)).status_code == 404
    assert (await matcher.client.get(f"/v1/matches/{pair}")).status_code == 401
    assert (
        await matcher.client.get("/v1/matches/not-a-pair", headers=matcher.auth())
    ).status_code == 422

    messages = await matcher.match_messages(expect=1)
    assert of_pair(messages, pair) == ["match.suggested"]
    assert messages[0].data.components["sector"] == 1.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "declined"}, "reason"),
        ({"outcome": "declined", "reason": "  "}, "reason"),
        ({"outcome": "declined", "reason": "x" * 501}, "reason"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "accepted", "surprise": 1}, "surprise"),
    ],
)
async def test_bad_feedback_is_refused_and_changes_nothing(
    matcher: Matcher, body: dict[str, Any], field: str
) -> None:
    museum, studio = two_profiles()
    pair = await suggested_pair(matcher, museum, studio)
    response = await matcher.client.post(
        f"/v1/matches/{pair}/feedback", json=body, headers=matcher.auth()
    )
    assert response.status_code == 422
    assert ("body", field) in {tuple(error["loc"]) for error in response.json()["detail"]}
    status = await matcher.scalar(select(matches.c.status).where(matches.c.pair_id == pair))
    assert status == "suggested"


async def test_declined_pair_is_withdrawn_and_never_suggested_again(matcher: Matcher) -> None:
    museum, studio = two_profiles()
    pair = await suggested_pair(matcher, museum, studio)
    other_hub = await matcher.client.post(
        f"/v1/matches/{pair}/feedback",
        json={"outcome": "declined", "reason": "not ours"},
        headers=matcher.auth("elsewhere"),
    )
    assert other_hub.status_code == 404

    response = await matcher.client.post(
        f"/v1/matches/{pair}/feedback",
        json={"outcome": "declined", "reason": "They already work with another museum."},
        headers=matcher.auth(),
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "declined"
    assert response.json()["given_by"] == "staff@demo"
    assert (await matcher.matches_of(museum.data.id)).json()["matches"] == []
    detail = await matcher.client.get(f"/v1/matches/{pair}", headers=matcher.auth())
    assert detail.json()["status"] == "declined"

    # The museum changes its profile: it is rescored, but the declined pair stays out.
    changed = upserted(
        {**museum.data.model_dump(), "description": "Now with a new wing"}, version=2
    )
    await matcher.publish(PROFILES, changed)

    async def rescored() -> bool:
        version = await matcher.scalar(
            select(profiles.c.version).where(profiles.c.id == museum.data.id)
        )
        return version == 2 and await matcher.outbox_drained()

    await eventually(rescored, what="the museum's second version scored")
    messages = await matcher.match_messages(expect=3)
    assert of_pair(messages, pair) == ["match.suggested", "match.withdrawn"]
    assert "declined" in messages[-1].data.reason
    assert (await matcher.matches_of(museum.data.id)).json()["matches"] == []


async def test_co_registration_updates_the_match_with_the_event(matcher: Matcher) -> None:
    museum, studio = two_profiles()
    pair = await suggested_pair(matcher, museum, studio)
    event_id = uuid.uuid4()
    registrations = [
        RegistrationCreated(
            source="/test",
            subject=str(event_id),
            hub="demo",
            data=RegistrationData(
                id=uuid.uuid4(),
                event_id=event_id,
                profile_id=profile.data.id,
                hub="demo",
                version=1,
            ),
        )
        for profile in (museum, studio)
    ]
    await matcher.publish(REGISTRATIONS, *registrations)

    async def updated() -> Any:
        messages = await matcher.match_messages(expect=2)
        return [m for m in messages if m is not None and m.type == "match.updated"]

    (update,) = await eventually(updated, what="match.updated after the registration")
    assert update.subject == pair
    assert update.data.event_id == event_id
    assert update.data.components["event"] == 1.0
    (listed,) = (await matcher.matches_of(studio.data.id)).json()["matches"]
    assert listed["event_id"] == str(event_id) and listed["components"]["event"] == 1.0


def registration(
    event_id: uuid.UUID, profile: ProfileUpserted, *, withdrawn: bool = False, version: int = 1
) -> RegistrationCreated | RegistrationWithdrawn:
    data = RegistrationData(
        id=uuid.uuid5(event_id, str(profile.data.id)),  # one registration per event and profile
        event_id=event_id,
        profile_id=profile.data.id,
        hub="demo",
        version=version,
    )
    kind = RegistrationWithdrawn if withdrawn else RegistrationCreated
    return kind(source="/test", subject=str(event_id), hub="demo", data=data)


def scheduled(event_id: uuid.UUID, ends_at: datetime) -> EventScheduled:
    data = EventData(
        id=event_id,
        hub="demo",
        version=1,
        title="Matchmaking day",
        kind="matching_event",
        starts_at=ends_at - timedelta(hours=8),
        ends_at=ends_at,
        timezone="Europe/Warsaw",
    )
    return EventScheduled(source="/test", subject=str(event_id), hub="demo", data=data)


def updates_of(messages: list[Any], pair: str) -> list[Any]:
    return [m for m in messages if m is not None and m.subject == pair]


async def test_registration_withdrawn_updates_the_match_without_the_event(
    matcher: Matcher,
) -> None:
    museum, studio = two_profiles()
    pair = await suggested_pair(matcher, museum, studio)
    event_id = uuid.uuid4()
    await matcher.publish(REGISTRATIONS, *(registration(event_id, p) for p in (museum, studio)))

    async def with_event() -> Any:
        found = [m for m in updates_of(await matcher.match_messages(expect=2), pair)]
        return found if found[-1].data.event_id == event_id else None

    await eventually(with_event, what="match.updated with the event")
    await matcher.publish(REGISTRATIONS, registration(event_id, studio, withdrawn=True))

    async def without_event() -> Any:
        found = updates_of(await matcher.match_messages(expect=3), pair)
        return found if len(found) == 3 else None

    found = await eventually(without_event, what="match.updated after the withdrawal")
    assert [m.type for m in found] == ["match.suggested", "match.updated", "match.updated"]
    assert found[-1].data.event_id is None
    assert found[-1].data.components["event"] == 0.0
    (listed,) = (await matcher.matches_of(museum.data.id)).json()["matches"]
    assert listed["event_id"] is None and listed["components"]["event"] == 0.0


async def test_only_upcoming_events_that_are_not_cancelled_count(matcher: Matcher) -> None:
    museum, studio = two_profiles()
    pair = await suggested_pair(matcher, museum, studio)
    past, upcoming = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    await matcher.publish(
        EVENTS,
        scheduled(past, now - timedelta(days=3)),
        scheduled(upcoming, now + timedelta(days=30)),
    )

    async def events_known() -> bool:
        known: int = await matcher.scalar(select(func.count()).select_from(events))
        return known == 2

    await eventually(events_known, what="both events projected")
    # Both register to the event that is over: that is no reason to meet.
    await matcher.publish(REGISTRATIONS, *(registration(past, p) for p in (museum, studio)))

    async def past_registrations_seen() -> bool:
        count = await matcher.scalar(
            select(func.count()).select_from(registrations).where(registrations.c.event_id == past)
        )
        return count == 2 and await matcher.outbox_drained()

    await eventually(past_registrations_seen, what="the registrations to the past event")
    await matcher.publish(REGISTRATIONS, *(registration(upcoming, p) for p in (museum, studio)))

    async def with_upcoming() -> Any:
        found = updates_of(await matcher.match_messages(expect=2), pair)
        return found if found[-1].data.event_id == upcoming else None

    found = await eventually(with_upcoming, what="match.updated with the upcoming event")
    assert [m.type for m in found] == ["match.suggested", "match.updated"]

    # The upcoming event is cancelled: the pair loses the event.
    cancel = EventCancelled(
        source="/test",
        subject=str(upcoming),
        hub="demo",
        data=EventCancelledData(id=upcoming, hub="demo", version=2, reason="venue closed"),
    )
    await matcher.publish(EVENTS, cancel)

    async def cancelled() -> Any:
        found = updates_of(await matcher.match_messages(expect=3), pair)
        return found if len(found) == 3 else None

    found = await eventually(cancelled, what="match.updated after the cancellation")
    assert found[-1].type == "match.updated" and found[-1].data.event_id is None
    assert found[-1].data.components["event"] == 0.0
    (listed,) = (await matcher.matches_of(museum.data.id)).json()["matches"]
    assert listed["event_id"] is None


async def test_a_pair_pushed_out_of_both_top_ks_is_withdrawn(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> None:
    """k = 1. C is B with A's country (a better partner for A), D is A with B's country (a
    better partner for B): once both came, A-B is in neither top-1 and is withdrawn.
    Geography decides here, so the test runs USE with main's weights (geography 0.06):
    the calibrated default weights give geography nothing (it earned no held-out gain)."""
    museum_fields, studio_fields = complementary_profiles()
    a = upserted({**museum_fields, "id": uuid.uuid4()})
    b = upserted({**studio_fields, "id": uuid.uuid4()})
    c = upserted(
        {**studio_fields, "id": uuid.uuid4(), "name": "Skanownia Rzeszów", "country": "PL"}
    )
    d = upserted(
        {**museum_fields, "id": uuid.uuid4(), "name": "Stadtmuseum Halle", "country": "DE"}
    )
    async with running_matcher(
        clean_databases, kafka, topic_prefix, top_k=1, encoder="use-m3"
    ) as matcher:
        pair = await suggested_pair(matcher, a, b)
        await matcher.publish(PROFILES, c)

        async def c_scored() -> bool:
            listed = (await matcher.matches_of(a.data.id)).json()["matches"]
            return str(c.data.id) in {m["profile_id"] for m in listed}

        await eventually(c_scored, what="A-C suggested")
        # Still in B's top-1: A-B stays.
        assert of_pair(await matcher.match_messages(expect=2), pair) == ["match.suggested"]
        await matcher.publish(PROFILES, d)

        async def withdrawn() -> Any:
            messages = await matcher.match_messages(expect=4)
            found = updates_of(messages, pair)
            return found if found[-1].type == "match.withdrawn" else None

        found = await eventually(withdrawn, what="A-B withdrawn")
        assert [m.type for m in found] == ["match.suggested", "match.withdrawn"]
        assert found[-1].data.reason == "out of both profiles' top-k"
        listed = (await matcher.matches_of(a.data.id)).json()["matches"]
        assert [m["profile_id"] for m in listed] == [str(c.data.id)]
        assert of_pair(
            messages := await matcher.match_messages(expect=4), pair_id(a.data.id, c.data.id)
        ) == ["match.suggested"]
        assert of_pair(messages, pair_id(b.data.id, d.data.id)) == ["match.suggested"]


async def test_erasure_withdraws_every_match_of_the_profile(matcher: Matcher) -> None:
    museum, studio = two_profiles(sharing="network")
    _, second = complementary_profiles()
    studio_two = upserted({**second, "name": "Atelier Drei", "id": uuid.uuid4()}, sharing="network")
    await suggested_pair(matcher, museum, studio)
    await matcher.publish(PROFILES, studio_two)

    async def two_matches() -> bool:
        response = await matcher.matches_of(museum.data.id)
        return len(response.json()["matches"]) == 2

    await eventually(two_matches, what="the museum's two matches")
    erased = ProfileErased(
        source="/test",
        subject=str(museum.data.id),
        hub="demo",
        data=ProfileErasedData(id=museum.data.id, hub="demo", version=2, erased_at=NOW),
    )
    await matcher.publish(PROFILES, erased)

    async def gone() -> bool:
        return (await matcher.matches_of(museum.data.id)).status_code == 404

    await eventually(gone, what="the museum erased")
    for other in (studio, studio_two):
        listed = (await matcher.matches_of(other.data.id)).json()["matches"]
        assert str(museum.data.id) not in {m["profile_id"] for m in listed}
        pair = pair_id(museum.data.id, other.data.id)
        detail = await matcher.client.get(f"/v1/matches/{pair}", headers=matcher.auth())
        assert detail.status_code == 404

    async def withdrawn() -> Any:
        messages = await matcher.match_messages(expect=6)
        pairs = [pair_id(museum.data.id, o.data.id) for o in (studio, studio_two)]
        kinds = [of_pair(messages, pair) for pair in pairs]
        done = all(k and k[-1] == "match.withdrawn" for k in kinds)
        tombstones = sum(1 for m in messages if m is None)
        return (kinds, tombstones) if done and tombstones == 2 else None

    kinds, _ = await eventually(withdrawn, what="a withdrawal and a tombstone per pair")
    assert all(k[0] == "match.suggested" for k in kinds)


async def test_meeting_agreement_makes_partners_and_moves_the_weights(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> None:
    """Learning scales each configured weight within [0.5x, 2x]: it runs with main's
    weights (USE), since the calibrated defaults give sector 0, which cannot move."""
    async with running_matcher(clean_databases, kafka, topic_prefix, encoder="use-m3") as matcher:
        museum, studio = two_profiles()
        pair = await suggested_pair(matcher, museum, studio)
        admin = matcher.auth("demo", Role.NETWORK_ADMIN)
        before = (await matcher.client.get("/v1/weights", headers=admin)).json()
        assert before["current"] == before["configured"]
        assert (await matcher.client.get("/v1/weights", headers=matcher.auth())).status_code == 403

        outcome = MeetingOutcomeRecorded(
            source="/test",
            subject=str(uuid.uuid4()),
            hub="demo",
            data=MeetingOutcomeData(
                id=uuid.uuid4(), event_id=uuid.uuid4(), version=1, pair_id=pair, outcome="agreement"
            ),
        )
        await matcher.publish(MEETINGS, outcome, outcome)  # redelivered: learned once

        async def partners() -> Any:
            listed = (await matcher.matches_of(museum.data.id)).json()["matches"]
            return listed if listed and listed[0]["status"] == "partners" else None

        await eventually(partners, what="the pair marked as partners")
        updates = await matcher.scalar(
            select(learned_weights.c.updates).where(learned_weights.c.component == "sector")
        )
        assert updates == 1
        after = (await matcher.client.get("/v1/weights", headers=admin)).json()
        assert after["current"] != after["configured"]
        # The pair's sector fit was its strongest component: its weight went up, within bounds.
        assert after["current"]["sector"] > after["configured"]["sector"]
        for name, configured in after["configured"].items():
            assert 0.5 * configured - 1e-9 <= after["current"][name] <= 2 * configured + 1e-9
