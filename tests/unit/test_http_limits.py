"""Every service refuses a body over its limit with 413 and a message, whether the client
declared its length or streamed it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from tandem_shared.http import Readiness, install_http_basics

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
