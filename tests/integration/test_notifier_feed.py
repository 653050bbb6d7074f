"""The notifier's feed over the real broker and PostgreSQL: the live SSE stream (served by
uvicorn on a free port, since an endless stream cannot go through the ASGI test transport)
and match withdrawals."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

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
from tests.support import bearer, eventually, produce, service_settings

pytestmark = pytest.mark.integration


@dataclass
class Notifier:
    client: httpx.AsyncClient
    settings: NotifierSettings
    kafka: Any

    def auth(self, hub: str = "demo") -> dict[str, str]:
        return bearer(self.settings, hub)

    async def publish(self, *messages: Envelope) -> None:
        records = [(m.subject.encode(), m.model_dump_json().encode()) for m in messages]
        await produce(self.kafka.bootstrap, self.settings.topic(MATCHES.name), records)

    async def feed(self, hub: str = "demo") -> list[dict[str, Any]]:
        response = await self.client.get("/v1/notifications", headers=self.auth(hub))
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Run the app's lifespan and serve it over TCP on a free port; yield its base URL."""
    async with app.router.lifespan_context(app):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
        task = asyncio.create_task(server.serve(sockets=[sock]))

        async def started() -> bool:
            return server.started

        await eventually(started, timeout=10, interval=0.05, what="uvicorn started")
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task


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
