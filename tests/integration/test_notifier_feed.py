"""The notifier's feed over the real broker and PostgreSQL: the live SSE stream (served by
uvicorn on a free port, since an endless stream cannot go through the ASGI test transport),
match withdrawals and each staff member's own read marks."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tandem_notifier.app import create_app
from tandem_notifier.settings import NotifierSettings
from tandem_shared.contracts import (
    MATCHES,
    Envelope,
    MatchData,
    MatchExplanation,
    MatchSuggested,
    MatchWithdrawn,
    MatchWithdrawnData,
    pair_id,
)
from tests.support import bearer, eventually, produce_messages, service_settings
from tests.support.served import served

pytestmark = pytest.mark.integration


@dataclass
class Notifier:
    client: httpx.AsyncClient
    settings: NotifierSettings
    kafka: Any

    def auth(self, hub: str = "demo", subject: str | None = None) -> dict[str, str]:
        return bearer(self.settings, hub, subject=subject)

    async def publish(self, *messages: Envelope) -> None:
        await produce_messages(
            self.kafka.bootstrap, self.settings.kafka_topic_prefix, MATCHES, messages
        )

    async def feed(self, hub: str = "demo") -> list[dict[str, Any]]:
        response = await self.client.get("/v1/notifications", headers=self.auth(hub))
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def page(self, auth: dict[str, str], **params: Any) -> dict[str, Any]:
        response = await self.client.get("/v1/notifications", params=params, headers=auth)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page

    async def read(self, auth: dict[str, str], notification_id: str) -> int:
        response = await self.client.post(f"/v1/notifications/{notification_id}/read", headers=auth)
        return response.status_code

    async def read_all(self, auth: dict[str, str], **params: Any) -> int:
        response = await self.client.post("/v1/notifications:read-all", params=params, headers=auth)
        assert response.status_code == 200, response.text
        marked: int = response.json()["marked"]
        return marked

    async def published(self, *messages: Envelope, total: int) -> list[dict[str, Any]]:
        """Publish and wait until the demo hub's feed holds `total` notifications."""
        await self.publish(*messages)

        async def arrived() -> list[dict[str, Any]] | None:
            items = await self.feed()
            return items if len(items) == total else None

        return await eventually(arrived, what=f"{total} notifications in the feed")


@pytest.fixture
async def notifier(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> AsyncIterator[Notifier]:
    settings = service_settings(
        NotifierSettings,
        database_url=clean_databases["notifier"],
        kafka=kafka,
        prefix=topic_prefix,
        stream_poll_seconds=60.0,  # live events must come from the commit wake-up, not the poll
    )
    async with (
        served(create_app(settings)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        yield Notifier(client, settings, kafka)


def suggested(hub_a: str = "demo", hub_b: str = "elsewhere", version: int = 1) -> MatchSuggested:
    a, b = uuid.uuid4(), uuid.uuid4()
    pair = pair_id(a, b)
    data = MatchData(
        pair_id=pair,
        profile_a=a,
        profile_b=b,
        hub_a=hub_a,
        hub_b=hub_b,
        version=version,
        score=0.8,
        explanation=MatchExplanation(summary="a needs what b offers"),
    )
    return MatchSuggested(source="/tandem/matcher/test", subject=pair, hub=hub_a, data=data)


def withdrawn(match: MatchSuggested, reason: str = "score below threshold") -> MatchWithdrawn:
    data = MatchWithdrawnData(
        **match.data.model_dump(include={"pair_id", "profile_a", "profile_b", "hub_a", "hub_b"}),
        version=match.data.version + 1,
        reason=reason,
    )
    return MatchWithdrawn(source=match.source, subject=match.subject, hub=match.hub, data=data)


class EventStream:
    """Server-sent events read from an open streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 20.0) -> dict[str, str]:
        async with asyncio.timeout(timeout):
            event: dict[str, str] = {}
            async for line in self._lines:
                if not line:
                    if "data" in event:
                        return event
                    event = {}
                    continue
                field, _, value = line.partition(":")
                if field:  # a line starting with ":" is a comment (keep-alive)
                    event[field] = value.removeprefix(" ")
        raise AssertionError("the stream ended")


@asynccontextmanager
async def open_stream(notifier: Notifier, **headers: str) -> AsyncIterator[EventStream]:
    request_headers = {**notifier.auth(), **headers}
    async with notifier.client.stream(
        "GET", "/v1/notifications/stream", headers=request_headers
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventStream(response)


async def test_stream_delivers_new_notifications_live_once_each(notifier: Notifier) -> None:
    async with open_stream(notifier) as events:
        other_hubs, first, second = suggested("x", "y"), suggested(), suggested("elsewhere", "demo")
        await notifier.publish(other_hubs, first)
        event = await events.next()
        assert event["event"] == "notification"
        note = json.loads(event["data"])
        assert event["id"] == note["id"]
        assert note["kind"] == "match.suggested"
        assert note["subject"] == first.data.pair_id

        await notifier.publish(first, second)  # a redelivered message, then a new one
        again = json.loads((await events.next())["data"])
        assert again["subject"] == second.data.pair_id

    feed = await notifier.feed()
    assert [item["id"] for item in feed] == [again["id"], note["id"]]


async def test_stream_resumes_after_last_event_id(notifier: Notifier) -> None:
    first, second = suggested(), suggested()
    await notifier.publish(first)
    old = await eventually(notifier.feed, what="the first notification")
    await notifier.publish(second)

    async def both() -> list[dict[str, Any]] | None:
        items = await notifier.feed()
        return items if len(items) == 2 else None

    await eventually(both, what="the second notification")
    async with open_stream(notifier, **{"Last-Event-ID": old[0]["id"]}) as events:
        resumed = json.loads((await events.next())["data"])
    assert resumed["subject"] == second.data.pair_id


async def test_stream_refuses_bad_requests_with_4xx(notifier: Notifier) -> None:
    path = "/v1/notifications/stream"
    assert (await notifier.client.get(path)).status_code == 401
    for last_event_id in ("not-a-uuid", str(uuid.uuid4())):
        response = await notifier.client.get(
            path, headers={**notifier.auth(), "Last-Event-ID": last_event_id}
        )
        assert response.status_code == 400
        assert "Last-Event-ID" in response.json()["detail"]


async def test_withdrawal_marks_the_alerts_and_tells_each_hub_that_had_one(
    notifier: Notifier,
) -> None:
    match = suggested()
    await notifier.publish(match)
    await eventually(notifier.feed, what="the suggestion")
    never_notified = withdrawn(suggested("demo", "x"))
    async with open_stream(notifier) as events:
        withdrawal = withdrawn(match)  # then redelivered, then withdrawn again
        await notifier.publish(never_notified, withdrawal, withdrawal, withdrawn(match))
        notice = json.loads((await events.next())["data"])
    assert notice["kind"] == "match.withdrawn"
    assert notice["subject"] == match.data.pair_id
    assert "score below threshold" in notice["body"]
    for hub in ("demo", "elsewhere"):
        feed = await notifier.feed(hub)
        assert [item["kind"] for item in feed] == ["match.withdrawn", "match.suggested"]
        assert feed[0]["withdrawn_at"] is None
        assert feed[1]["withdrawn_at"] is not None


async def test_read_marks_are_each_staff_members_own(notifier: Notifier) -> None:
    first, second = await notifier.published(suggested(), suggested(), total=2)
    anna, bert = (
        notifier.auth(subject="anna@demo.example"),
        notifier.auth(subject="bert@demo.example"),
    )
    assert await notifier.read(anna, first["id"]) == 204

    annas = await notifier.page(anna)
    read_at = {item["id"]: item["read_at"] for item in annas["items"]}
    assert read_at[first["id"]] is not None and read_at[second["id"]] is None
    unread = await notifier.page(anna, unread="true")
    assert [item["id"] for item in unread["items"]] == [second["id"]]
    assert unread["total"] == 1
    berts = await notifier.page(bert, unread="true")
    assert [item["id"] for item in berts["items"]] == [first["id"], second["id"]]
    assert berts["total"] == 2 and all(item["read_at"] is None for item in berts["items"])

    assert await notifier.read(anna, first["id"]) == 204  # again: the first time stays
    again = await notifier.page(anna)
    assert {item["id"]: item["read_at"] for item in again["items"]} == read_at
    assert (await notifier.page(anna))["total"] == 2


async def test_reads_of_another_hubs_notifications_are_404(notifier: Notifier) -> None:
    match = suggested("demo", "elsewhere")
    (ours,) = await notifier.published(match, total=1)
    stranger = notifier.auth("x", subject="anna@demo.example")  # same subject, other hub
    assert await notifier.read(stranger, ours["id"]) == 404
    assert await notifier.read(notifier.auth(), str(uuid.uuid4())) == 404
    # The other side's hub has its own notification of the match, with its own id.
    (theirs,) = await notifier.feed("elsewhere")
    assert await notifier.read(notifier.auth(), theirs["id"]) == 404
    assert await notifier.read(notifier.auth("elsewhere"), theirs["id"]) == 204
    assert (await notifier.page(notifier.auth(), unread="true"))["total"] == 1
    assert await notifier.read_all(stranger) == 0


async def test_read_all_marks_the_callers_feed_up_to_before(notifier: Notifier) -> None:
    await notifier.published(suggested(), suggested(), total=2)
    newest, *older = await notifier.published(suggested(), total=3)
    anna, bert = (
        notifier.auth(subject="anna@demo.example"),
        notifier.auth(subject="bert@demo.example"),
    )
    assert await notifier.read(anna, older[1]["id"]) == 204
    first_read = (await notifier.page(anna))["items"][2]["read_at"]

    # Up to the newer of the first two: only that one is new; the one read stays as it was.
    assert await notifier.read_all(anna, before=older[0]["created_at"]) == 1
    unread = await notifier.page(anna, unread="true")
    assert [item["id"] for item in unread["items"]] == [newest["id"]]
    assert unread["total"] == 1
    assert (await notifier.page(anna))["items"][2]["read_at"] == first_read

    assert await notifier.read_all(anna) == 1
    assert await notifier.read_all(anna) == 0
    assert (await notifier.page(anna, unread="true"))["total"] == 0
    berts = await notifier.page(bert, unread="true", per_page=1)
    assert berts["total"] == 3 and len(berts["items"]) == 1


async def test_read_all_refuses_a_before_without_its_offset(notifier: Notifier) -> None:
    for before in ("2026-01-01T00:00:00", "yesterday"):
        response = await notifier.client.post(
            "/v1/notifications:read-all", params={"before": before}, headers=notifier.auth()
        )
        assert response.status_code == 422, (before, response.text)


def suggested_about(profile: uuid.UUID, score: float) -> MatchSuggested:
    """A new match of `profile` (in the demo hub) with a new organisation elsewhere."""
    match = suggested()
    other = uuid.uuid4()
    data = match.data.model_copy(
        update={
            "profile_a": profile,
            "profile_b": other,
            "pair_id": pair_id(profile, other),
            "score": score,
        }
    )
    return match.model_copy(update={"data": data, "subject": data.pair_id})


async def test_a_hub_feed_gets_at_most_the_daily_cap_of_alerts_per_organisation(
    notifier: Notifier,
) -> None:
    """Alerts calm enough to read: the fourth new match of one organisation in a day
    stays out of the feed (the default cap is 3 a day). Across batches it is first come,
    first served; the matches are published one after another (each lands on its pair's
    partition, so sent together their order would be the broker's)."""
    assert notifier.settings.alert_daily_cap == 3
    museum = uuid.uuid4()
    matches = [suggested_about(museum, score) for score in (0.9, 0.8, 0.7, 0.6)]
    for count, match in enumerate(matches[:3], start=1):
        await notifier.published(match, total=count)
    await notifier.publish(matches[3])
    sentinel = suggested()  # other organisations: still alerted, and after the four
    feed = await notifier.published(sentinel, total=4)
    subjects = {item["subject"] for item in feed}
    assert subjects == {m.data.pair_id for m in matches[:3]} | {sentinel.data.pair_id}
