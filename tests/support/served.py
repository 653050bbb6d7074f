"""Serve an app over real TCP (uvicorn on a free port) for tests that need a URL."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from tests.support import eventually


@asynccontextmanager
async def served(app: FastAPI, **config: Any) -> AsyncIterator[str]:
    """Run the app's lifespan and serve it over TCP on a free port; yield its base URL.
    `config` goes to uvicorn (`ssl_certfile` and `ssl_keyfile` serve https)."""
    scheme = "https" if config.get("ssl_certfile") else "http"
    async with app.router.lifespan_context(app):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        # uvicorn closes an idle kept-alive connection after 5 s; on a loaded machine the
        # test's client reused one just as it closed (httpx.ReadError). Tests keep theirs.
        config = {"timeout_keep_alive": 120, **config}
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", **config))
        task = asyncio.create_task(server.serve(sockets=[sock]))

        async def started() -> bool:
            return server.started

        await eventually(started, timeout=10, interval=0.05, what="uvicorn started")
        try:
            yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task
