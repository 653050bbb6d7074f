"""A dead-letter copy always fits the producer's limit, whatever the failed record held, and
keeps what an operator needs: the original headers, a digest, the message id, and the value
(cut, with a note saying so, only when it does not fit)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem_shared.bus import dead_letters
from tandem_shared.bus.dead_letters import FailedRecord, NotReplayable

pytestmark = pytest.mark.unit

LIMIT = 1_048_576


def _big(size: int, seed: int) -> bytes:
    """`size` bytes, cheap to make, not all the same."""
    return (hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1))[:size]


sizes = st.sampled_from([0, 1, 100, 60_000, 900_000, 1_040_000, 1_048_576, 1_500_000, 3_000_000])
values = st.one_of(
    st.none(),
    st.binary(max_size=300),
    st.builds(_big, sizes, st.integers(0, 10)),
    st.builds(lambda i: json.dumps({"id": f"id-{i}", "type": "x"}).encode(), st.integers()),
)
keys = st.one_of(st.none(), st.binary(max_size=50), st.builds(_big, sizes, st.integers(0, 3)))
header_values = st.one_of(st.none(), st.binary(max_size=40), st.builds(_big, sizes, st.just(1)))
headers = st.lists(st.tuples(st.text(max_size=30), header_values), max_size=6)
failed_records = st.builds(
    FailedRecord,
    topic=st.text(min_size=1, max_size=249),
    partition=st.integers(0, 1000),
    offset=st.integers(0, 2**62),
    key=keys,
    value=values,
    headers=headers,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(failed=failed_records, error=st.text(max_size=5000), limit=st.sampled_from([LIMIT, 4 << 20]))
def test_a_dead_letter_copy_always_fits_and_keeps_its_digest(
    failed: FailedRecord, error: str, limit: int
) -> None:
    copy = dead_letters.build(
        failed, reason="invalid message", error=error, consumer="group", max_request_size=limit
    )
    assert dead_letters.record_size(copy.key, copy.value, copy.headers) <= limit
    marks = dict(copy.headers)
    assert marks[dead_letters.DIGEST].decode() == hashlib.sha256(failed.value or b"").hexdigest()
    assert marks[dead_letters.ORIGINAL_SIZE] == str(len(failed.value or b"")).encode()
    assert marks[dead_letters.REASON] == b"invalid message"
    if dead_letters.TRUNCATED not in marks:
        assert (copy.key, copy.value) == (failed.key, failed.value)
        original = [
            (name, raw or b"") for name, raw in failed.headers if not name.startswith("dlq_")
        ]
        assert copy.headers[: len(original)] == original
    elif failed.value is not None:
        assert copy.value is not None and failed.value.startswith(copy.value)
        assert b"value cut from" in marks[dead_letters.TRUNCATED]


def test_an_oversize_record_keeps_headers_digest_and_a_prefix_of_its_value() -> None:
    value = json.dumps({"id": "abc-1", "data": "x" * 2_000_000}).encode()
    failed = FailedRecord(
        "t.profiles", 2, 41, b"key", value, [("ce_id", b"abc-1"), ("trace_id", b"t1")]
    )
    copy = dead_letters.build(
        failed, reason="handler failed 5 times", error="boom", consumer="g", max_request_size=LIMIT
    )
    marks = dict(copy.headers)
    assert copy.headers[:2] == [("ce_id", b"abc-1"), ("trace_id", b"t1")]
    assert marks[dead_letters.MESSAGE_ID] == b"abc-1"
    assert marks[dead_letters.DIGEST] == hashlib.sha256(value).hexdigest().encode()
    assert copy.value is not None and value.startswith(copy.value)
    assert LIMIT - 32 * 1024 < len(copy.value) < LIMIT
    assert marks[dead_letters.TRUNCATED].startswith(f"value cut from {len(value)} to ".encode())


def test_the_message_id_comes_from_the_body_when_there_is_no_header() -> None:
    assert dead_letters.message_id_of(b'{"id": "m-7"}', []) == "m-7"
    assert dead_letters.message_id_of(b"[1, 2]", []) == ""
    assert dead_letters.message_id_of(b"\xff\xfe", []) == ""
    assert dead_letters.message_id_of(b"[" * 100_000, []) == ""


def _consumed(copy: dead_letters.OutgoingDeadLetter, offset: int) -> SimpleNamespace:
    return SimpleNamespace(
        partition=0,
        offset=offset,
        timestamp=int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000),
        key=copy.key,
        value=copy.value,
        headers=copy.headers,
    )


def test_copies_of_one_poison_message_are_listed_once() -> None:
    """A consumer killed after writing the copy and before committing writes it again."""
    poison = FailedRecord("t.matches", 0, 7, b"k", b'{"id": "p-1"}', [("ce_id", b"p-1")])
    other = FailedRecord("t.matches", 0, 8, b"k", b"{not json", [])
    copies = [
        dead_letters.build(poison, reason="r", error="e", consumer="g", max_request_size=LIMIT),
        dead_letters.build(other, reason="r", error="e", consumer="g", max_request_size=LIMIT),
        dead_letters.build(poison, reason="r", error="e", consumer="g", max_request_size=LIMIT),
    ]
    letters = [dead_letters.read(_consumed(copy, offset)) for offset, copy in enumerate(copies)]
    listed = dead_letters.distinct(letters)
    assert [(entry.letter.offset, entry.copies) for entry in listed] == [(0, 2), (1, 1)]
    assert listed[0].letter.message_id == "p-1"
    assert listed[0].letter.headers == [("ce_id", b"p-1")]  # the original headers only


def test_a_cut_copy_cannot_be_replayed() -> None:
    huge = FailedRecord("t.matches", 0, 1, None, _big(2_000_000, 1), [])
    copy = dead_letters.build(huge, reason="r", error="e", consumer="g", max_request_size=LIMIT)
    with pytest.raises(NotReplayable, match="was cut"):
        dead_letters.replay_headers(dead_letters.read(_consumed(copy, 0)))
