"""structlog, configured once for every service: JSON in production, console in development.

The `trace_id` lives in structlog's context variables: bound from the HTTP `traceparent`
or `x-trace-id` header by the middleware, copied into outbox rows, carried as a Kafka
header, and bound again by the consumer runner.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import Any

import structlog

TRACE_HEADER = "x-trace-id"
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
_TRACE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def configure_logging(*, service: str, json: bool, level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    if json:
        shared.append(structlog.processors.format_exc_info)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries that log through the standard library (uvicorn, aiokafka) stay quieter.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(message)s")


def new_trace_id() -> str:
    return uuid.uuid4().hex


def trace_id_from_headers(headers: dict[str, str]) -> str | None:
    """A W3C traceparent's trace id, else a plausible x-trace-id, else None."""
    traceparent = headers.get("traceparent", "")
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match and _valid_traceparent(*match.groups()):
        return match.group(2)
    candidate = headers.get(TRACE_HEADER, "").strip()
    return candidate if _TRACE_ID.match(candidate) else None


def _valid_traceparent(version: str, trace_id: str, parent_id: str) -> bool:
    # W3C Trace Context: version ff and all-zero ids are invalid and must be ignored.
    return version != "ff" and trace_id != "0" * 32 and parent_id != "0" * 16


def bind_trace_id(trace_id: str) -> None:
    structlog.contextvars.bind_contextvars(trace_id=trace_id)


def current_trace_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("trace_id")
    return str(value) if value else None


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
