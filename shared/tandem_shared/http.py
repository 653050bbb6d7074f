"""HTTP basics every service shares: trace ids, metrics, health, and errors that never leak;
and the limits every service applies: a body size limit (413), and 503 while it starts or
its database is down, never 500."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem_shared import metrics
from tandem_shared.api_docs import DOCS_ASSETS_PATH
from tandem_shared.bus.faults import OUTAGE_CLASSES, Fault, classify
from tandem_shared.errors import TandemError
from tandem_shared.logging import (
    TRACE_HEADER,
    bind_trace_id,
    get_logger,
    new_trace_id,
    trace_id_from_headers,
)

log = get_logger(__name__)
DEFAULT_MAX_BODY_BYTES = 1_048_576
# Always answered, also while the service starts: probes, metrics and the API docs.
OPS_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}
)


@dataclass
class Readiness:
    """What /readyz answers: a boolean per check, why each failing one fails, and details
    (each consumer group's flow)."""

    checks: dict[str, bool]
    reasons: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(self.checks.values())


ReadyCheck = Callable[[FastAPI], Awaitable[Readiness | dict[str, bool]]]
StartingCheck = Callable[[FastAPI], str | None]


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


def install_http_basics(
    app: FastAPI,
    *,
    service: str,
    ready_check: ReadyCheck,
    starting: StartingCheck | None = None,
    max_body_bytes: Callable[[FastAPI], int] | int = DEFAULT_MAX_BODY_BYTES,
    larger_bodies: Mapping[str, int] | None = None,
) -> None:
    """`larger_bodies` maps a path to its own limit, for the few routes made for bulk
    uploads (an import); every other path gets `max_body_bytes`."""
    general = _limit_of(app, max_body_bytes)
    exceptions = dict(larger_bodies or {})
    app.add_middleware(
        BodySizeLimitMiddleware, limit=lambda path: exceptions.get(path) or general()
    )
    if starting is not None:
        app.add_middleware(StartingGateMiddleware, reason=lambda: starting(app))
    app.add_middleware(TraceAndMetricsMiddleware, service=service)
    _install_error_handlers(app)
    _install_ops_routes(app, service, ready_check)


def _limit_of(app: FastAPI, limit: Callable[[FastAPI], int] | int) -> Callable[[], int]:
    if isinstance(limit, int):
        return lambda: limit
    return lambda: limit(app)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TandemError)
    async def refused(request: Request, error: TandemError) -> JSONResponse:
        # The request's transaction (DbSession) has already rolled back: the error
        # passed through its dependency on the way here.
        return JSONResponse(
            {"detail": error.detail()}, status_code=error.status, headers=error.headers()
        )

    async def dependency_failing(request: Request, error: Exception) -> JSONResponse:
        if classify(error) is not Fault.TRANSIENT:
            raise error  # a bug, not an outage: the 500 below
        # The database or broker is failing: nothing was done, the client may retry.
        log.warning("http.dependency_unavailable", path=request.url.path, error=repr(error))
        return JSONResponse(
            {"detail": "temporarily unavailable: a dependency is failing; retry shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    # Handled where HTTP errors are (not as a 500 is): the outage classes only.
    for outage in OUTAGE_CLASSES:
        app.add_exception_handler(outage, dependency_failing)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        log.exception("http.unexpected_error", path=request.url.path, error=repr(error))
        return JSONResponse(
            {"detail": "internal error; the trace id identifies it in the logs"}, status_code=500
        )


def _install_ops_routes(app: FastAPI, service: str, ready_check: ReadyCheck) -> None:
    @app.get("/healthz", tags=["ops"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get(
        "/readyz",
        tags=["ops"],
        summary="Database, broker and message flow work",
        responses={503: {"description": "not ready; `reasons` says why"}},
    )
    async def readyz() -> JSONResponse:
        readiness = await _readiness(app, service, ready_check)
        body: dict[str, Any] = {
            "status": "ready" if readiness.ready else "not ready",
            "checks": readiness.checks,
        }
        if readiness.reasons:
            body["reasons"] = readiness.reasons
        if readiness.details:
            body["flow"] = readiness.details
        return JSONResponse(body, status_code=200 if readiness.ready else 503)

    @app.get(
        "/metrics", tags=["ops"], summary="Prometheus metrics", response_class=PlainTextResponse
    )
    async def prometheus_metrics() -> PlainTextResponse:
        # Scrapes see the readiness of the moment (tandem_ready), not of the last probe.
        await _readiness(app, service, ready_check)
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _readiness(app: FastAPI, service: str, ready_check: ReadyCheck) -> Readiness:
    try:
        found = await ready_check(app)
    except Exception as error:  # a check must answer, never fail the probe with a 500
        log.warning("http.ready_check_failed", error=repr(error))
        found = Readiness(checks={"service": False}, reasons={"service": repr(error)[:300]})
    readiness = found if isinstance(found, Readiness) else Readiness(checks=found)
    for check, passed in readiness.checks.items():
        metrics.READY.labels(service, check).set(1 if passed else 0)
    return readiness


class StartingGateMiddleware:
    """While the service starts (waiting for its database or broker), every request but
    the ops routes gets 503 with the reason and a Retry-After, instead of a 500 from a
    half-started service."""

    def __init__(self, app: ASGIApp, reason: Callable[[], str | None]) -> None:
        self.app = app
        self.reason = reason

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        why = self.reason() if scope["type"] == "http" else None
        if why is None or _is_ops_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": f"the service is not ready yet: {why}"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
        await response(scope, receive, send)


def _is_ops_path(path: str) -> bool:
    return path in OPS_PATHS or path.startswith(f"{DOCS_ASSETS_PATH}/")


class BodyTooLarge(StarletteHTTPException):
    """An HTTPException, so FastAPI's body parsing lets it through as the 413 it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_message(limit))


class BodySizeLimitMiddleware:
    """Refuses a request body over the limit with 413, by its Content-Length or, for a
    streamed body, as soon as the bytes read pass the limit."""

    def __init__(self, app: ASGIApp, limit: Callable[[str], int]) -> None:
        self.app = app
        self.limit = limit  # the limit for a request path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if not started:
                await _too_large(limit)(scope, receive, send)


def _too_large_message(limit: int) -> str:
    return f"request body too large: at most {limit} bytes are accepted"


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": _too_large_message(limit)}, status_code=413)
