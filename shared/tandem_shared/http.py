"""HTTP basics every service shares: trace ids, metrics, health, and errors that never leak."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem_shared import metrics
from tandem_shared.errors import TandemError
from tandem_shared.logging import (
    TRACE_HEADER,
    bind_trace_id,
    get_logger,
    new_trace_id,
    trace_id_from_headers,
)

log = get_logger(__name__)
ReadyCheck = Callable[[FastAPI], Awaitable[dict[str, bool]]]


class TraceAndMetricsMiddleware:
    """Binds the request's trace id (echoed in the response) and records HTTP metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope["headers"]
        }
        trace_id = trace_id_from_headers(headers) or new_trace_id()
        bind_trace_id(trace_id)
        started = time.perf_counter()
        status = 500

        async def send_with_trace(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (TRACE_HEADER.encode(), trace_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(self.service, scope["method"], route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, scope["method"], route).observe(
                time.perf_counter() - started
            )


def install_http_basics(app: FastAPI, *, service: str, ready_check: ReadyCheck) -> None:
    app.add_middleware(TraceAndMetricsMiddleware, service=service)

    @app.exception_handler(TandemError)
    async def refused(request: Request, error: TandemError) -> JSONResponse:
        # The request's transaction (DbSession) has already rolled back: the error
        # passed through its dependency on the way here.
        return JSONResponse({"detail": error.detail()}, status_code=error.status)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        log.exception("http.unexpected_error", path=request.url.path, error=repr(error))
        return JSONResponse(
            {"detail": "internal error; the trace id identifies it in the logs"}, status_code=500
        )

    @app.get("/healthz", tags=["ops"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get(
        "/readyz",
        tags=["ops"],
        summary="Database and broker are reachable",
        responses={503: {"description": "a dependency is unreachable"}},
    )
    async def readyz() -> JSONResponse:
        checks = await ready_check(app)
        ready = all(checks.values())
        body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get(
        "/metrics", tags=["ops"], summary="Prometheus metrics", response_class=PlainTextResponse
    )
    async def prometheus_metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)
