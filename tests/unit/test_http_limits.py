"""Every service refuses a body over its limit with 413 and a message, whether the client
declared its length or streamed it; failed logins back off per account and per address."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from tandem_shared.errors import TooManyRequests
from tandem_shared.http import Readiness, install_http_basics
from tandem_shared.throttle import AttemptThrottle, Limit, login_keys

pytestmark = pytest.mark.unit


class Note(BaseModel):
    text: str


def _app(limit: int) -> FastAPI:
    async def ready(_app: FastAPI) -> Readiness:
        return Readiness(checks={"ok": True})

    app = FastAPI()
    install_http_basics(app, service="test", ready_check=ready, max_body_bytes=limit)

    @app.post("/notes")
    async def post_note(note: Note) -> dict[str, int]:
        return {"length": len(note.text)}

    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_body_over_the_limit_gets_413_with_a_message() -> None:
    async with _client(_app(1024)) as client:
        small = await client.post("/notes", json={"text": "x" * 100})
        big = await client.post("/notes", json={"text": "x" * 2000})
    assert small.status_code == 200
    assert big.status_code == 413
    assert big.json() == {"detail": "request body too large: at most 1024 bytes are accepted"}


async def test_a_streamed_body_over_the_limit_gets_413() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    async with _client(_app(1024)) as client:
        response = await client.post(
            "/notes", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert "at most 1024 bytes" in response.json()["detail"]


async def test_a_malformed_content_length_is_refused() -> None:
    async with _client(_app(1024)) as client:
        response = await client.post(
            "/notes",
            content=b"{}",
            headers={"Content-Length": "abc", "Content-Type": "application/json"},
        )
    assert response.status_code in (400, 413)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failed_logins_back_off_per_account_and_per_address() -> None:
    clock = Clock()
    throttle = AttemptThrottle(
        {"account": Limit(free=3, cap=60.0), "address": Limit(free=5, cap=60.0)},
        clock=clock,
    )
    alice = login_keys("Alice@Hub.eu ", "10.0.0.1")
    for _ in range(3):
        assert throttle.wait(alice) == 0.0
        throttle.failed(alice)
    assert throttle.wait(alice) == 1.0  # the fourth attempt waits
    with pytest.raises(TooManyRequests) as refused:
        throttle.check(login_keys("alice@hub.eu", "10.0.0.9"))  # same account, elsewhere
    assert refused.value.headers() == {"Retry-After": "1"}
    clock.now += 1
    throttle.failed(alice)
    assert throttle.wait(alice) == 2.0  # doubling
    for _ in range(10):
        clock.now += 100
        throttle.failed(alice)
    assert throttle.wait(alice) == 60.0  # capped
    # The address is throttled for other accounts too once it passed its own limit.
    assert throttle.wait(login_keys("bob@hub.eu", "10.0.0.1")) > 0
    assert throttle.wait(login_keys("bob@hub.eu", "10.0.0.2")) == 0.0
    throttle.succeeded(login_keys("alice@hub.eu", None))
    assert throttle.wait(login_keys("alice@hub.eu", "10.0.0.3")) == 0.0


def test_failures_are_forgotten_after_the_window_and_keys_are_bounded() -> None:
    clock = Clock()
    throttle = AttemptThrottle({"account": Limit(free=1, window=60.0)}, max_keys=2, clock=clock)
    throttle.failed([("account", "a")])
    assert throttle.wait([("account", "a")]) == 1.0
    clock.now += 61
    assert throttle.wait([("account", "a")]) == 0.0
    for name in "bcd":
        throttle.failed([("account", name)])
    assert throttle.wait([("account", "b")]) == 0.0  # the oldest was dropped
    assert throttle.wait([("account", "d")]) == 1.0
