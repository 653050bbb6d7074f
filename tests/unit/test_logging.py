"""Trace ids from HTTP headers: a W3C traceparent wins, else a plausible x-trace-id."""

from __future__ import annotations

import pytest

from tandem_shared.logging import TRACE_HEADER, new_trace_id, trace_id_from_headers

pytestmark = pytest.mark.unit

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"traceparent": TRACEPARENT}, TRACE),
        ({"traceparent": f"  {TRACEPARENT.upper()}  "}, TRACE),
        ({"traceparent": TRACEPARENT, TRACE_HEADER: "other-id"}, TRACE),
        ({TRACE_HEADER: "req-42"}, "req-42"),
        ({TRACE_HEADER: "  a.b_c:d-1  "}, "a.b_c:d-1"),
        ({TRACE_HEADER: "x" * 64}, "x" * 64),
        ({"traceparent": "garbage", TRACE_HEADER: "fallback-1"}, "fallback-1"),
    ],
    ids=[
        "traceparent",
        "traceparent-upper-padded",
        "traceparent-wins",
        "x-trace-id",
        "x-trace-id-padded",
        "x-trace-id-64",
        "bad-traceparent-falls-back",
    ],
)
def test_trace_id_is_taken_from_headers(headers: dict[str, str], expected: str) -> None:
    assert trace_id_from_headers(headers) == expected


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"traceparent": "garbage"},
        {"traceparent": f"00-{TRACE[:-1]}-00f067aa0ba902b7-01"},  # short trace id
        {"traceparent": f"00-{TRACE}-00f067aa0ba902b7"},  # no flags
        {"traceparent": f"00-{TRACE[:-1]}g-00f067aa0ba902b7-01"},  # not hex
        {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01-extra"},
        {TRACE_HEADER: ""},
        {TRACE_HEADER: "   "},
        {TRACE_HEADER: "x" * 65},
        {TRACE_HEADER: "has space"},
        {TRACE_HEADER: "new\nline"},
        {TRACE_HEADER: "semi;colon"},
        {TRACE_HEADER: "ünïcode"},
    ],
)
def test_implausible_headers_give_no_trace_id(headers: dict[str, str]) -> None:
    assert trace_id_from_headers(headers) is None


@pytest.mark.parametrize(
    "traceparent",
    [
        f"00-{'0' * 32}-00f067aa0ba902b7-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-00f067aa0ba902b7-01",
    ],
    ids=["zero-trace-id", "zero-parent-id", "version-ff"],
)
def test_invalid_w3c_traceparent_is_ignored(traceparent: str) -> None:
    assert trace_id_from_headers({"traceparent": traceparent}) is None


def test_new_trace_ids_are_accepted_back_and_unique() -> None:
    ids = {new_trace_id() for _ in range(100)}
    assert len(ids) == 100
    for trace_id in ids:
        assert trace_id_from_headers({TRACE_HEADER: trace_id}) == trace_id
        traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
        assert trace_id_from_headers({"traceparent": traceparent}) == trace_id
