"""Dead-letter records: what the consumer writes to `<topic>.dlq`, and how an operator reads
them back.

Whatever the failed record is (any size, bytes or headers), its dead-letter copy fits the
producer's request limit: the original headers, a SHA-256 digest of the original value, the
message id when one can be found, and the value itself, cut to what fits, with a header
saying what was cut and why. The digest and message id identify a poison message across
the copies that a consumer killed between writing the copy and committing may write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka.record.default_records import DefaultRecordBatchBuilder

PREFIX = "dlq_"
REASON = "dlq_reason"
ERROR = "dlq_error"
CONSUMER = "dlq_consumer"
ORIGINAL_TOPIC = "dlq_original_topic"
ORIGINAL_PARTITION = "dlq_original_partition"
ORIGINAL_OFFSET = "dlq_original_offset"
MESSAGE_ID = "dlq_message_id"
DIGEST = "dlq_digest"
ORIGINAL_SIZE = "dlq_original_size"
FAILED_AT = "dlq_failed_at"
TRUNCATED = "dlq_truncated"
REPLAY_OF = "dlq_replay_of"

ERROR_CHARS = 2000
KEY_BYTES = 1024
HEADER_VALUE_BYTES = 4096
HEADERS_BYTES = 64 * 1024
# Room left for the request and batch framing around the one record.
FRAMING_BYTES = 16 * 1024
Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class FailedRecord:
    """The record that could not be handled, as the consumer saw it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]


@dataclass(frozen=True)
class OutgoingDeadLetter:
    key: bytes | None
    value: bytes | None
    headers: Headers


def record_size(key: bytes | None, value: bytes | None, headers: Headers) -> int:
    """The producer's own estimate, the one it checks against `max_request_size`."""
    estimate: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    return estimate


def digest(value: bytes | None) -> str:
    return hashlib.sha256(value or b"").hexdigest()


def message_id_of(value: bytes | None, headers: Sequence[tuple[str, bytes | None]]) -> str:
    """The CloudEvents id: the `ce_id` header, else the JSON body's `id`, else ''."""
    for name, raw in headers:
        if name == "ce_id" and raw:
            return raw.decode("utf-8", "replace")[:100]
    if not value or len(value) > 4 * 1024 * 1024:
        return ""
    try:
        body = json.loads(value)
    except (ValueError, RecursionError):
        return ""
    found = body.get("id") if isinstance(body, dict) else None
    return found[:100] if isinstance(found, str) else ""


def build(
    failed: FailedRecord, *, reason: str, error: str, consumer: str, max_request_size: int
) -> OutgoingDeadLetter:
    """The dead-letter copy of `failed`, within `max_request_size` (less framing)."""
    budget = max(4 * 1024, max_request_size - FRAMING_BYTES)
    original = [(name, raw or b"") for name, raw in failed.headers if not name.startswith(PREFIX)]
    marks: Headers = [
        (REASON, _utf8(reason, 500)),
        (ERROR, _utf8(error, ERROR_CHARS)),
        (CONSUMER, _utf8(consumer, 300)),
        (ORIGINAL_TOPIC, _utf8(failed.topic, 300)),
        (ORIGINAL_PARTITION, str(failed.partition).encode()),
        (ORIGINAL_OFFSET, str(failed.offset).encode()),
        (MESSAGE_ID, message_id_of(failed.value, failed.headers).encode()),
        (DIGEST, digest(failed.value).encode()),
        (ORIGINAL_SIZE, str(len(failed.value or b"")).encode()),
        (FAILED_AT, datetime.now(UTC).isoformat().encode()),
    ]
    key, value = failed.key, failed.value
    if record_size(key, value, original + marks) <= budget:
        return OutgoingDeadLetter(key, value, original + marks)
    return _cut_to_fit(key, value, original, marks, budget)


def _cut_to_fit(
    key: bytes | None, value: bytes | None, original: Headers, marks: Headers, budget: int
) -> OutgoingDeadLetter:
    cuts = []
    if key is not None and len(key) > KEY_BYTES:
        cuts.append(f"key cut from {len(key)} to {KEY_BYTES} bytes")
        key = key[:KEY_BYTES]
    kept = _headers_within(original, min(HEADERS_BYTES, budget // 4))
    if kept != original:
        cuts.append(f"original headers cut from {len(original)} to {len(kept)} (or shortened)")
    size = len(value or b"")
    note = "; ".join([*cuts, f"value cut from {size} bytes"])
    headers = [*kept, *marks, (TRUNCATED, _utf8(note, 1000))]
    if value is None:
        return OutgoingDeadLetter(key, None, headers)
    room = budget - record_size(key, b"", headers) - 16  # 16: longer length varints
    kept_value = value[: max(0, room)]
    note = "; ".join([*cuts, f"value cut from {size} to {len(kept_value)} bytes"])
    headers[-1] = (TRUNCATED, _utf8(note + f" to fit the producer's {budget} byte budget", 1000))
    while kept_value and record_size(key, kept_value, headers) > budget:
        kept_value = kept_value[: len(kept_value) - 1024]
    return OutgoingDeadLetter(key, kept_value, headers)


def _headers_within(headers: Headers, limit: int) -> Headers:
    kept: Headers = []
    used = 0
    for name, raw in headers:
        name = name[:256]
        raw = raw[:HEADER_VALUE_BYTES]
        used += len(name.encode("utf-8", "replace")) + len(raw)
        if used > limit:
            break
        kept.append((name, raw))
    return kept


def _utf8(text: str, limit: int) -> bytes:
    """`text` as UTF-8, at most `limit` bytes (never a broken character at the end)."""
    raw = text.encode("utf-8", "replace")[:limit]
    return raw.decode("utf-8", "ignore").encode()


@dataclass(frozen=True)
class DeadLetter:
    """One dead-letter record read back from a `.dlq` topic."""

    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes | None
    headers: Headers
    marks: dict[str, str]

    @property
    def consumer(self) -> str:
        return self.marks.get(CONSUMER, "")

    @property
    def reason(self) -> str:
        return self.marks.get(REASON, "")

    @property
    def message_id(self) -> str:
        return self.marks.get(MESSAGE_ID) or message_id_of(self.value, self.headers)

    @property
    def digest(self) -> str:
        return self.marks.get(DIGEST) or digest(self.value)

    @property
    def original_topic(self) -> str:
        return self.marks.get(ORIGINAL_TOPIC, "")

    @property
    def truncated(self) -> str:
        return self.marks.get(TRUNCATED, "")

    @property
    def id(self) -> str:
        """A short, stable id for the poison message (the same for every copy of it)."""
        identity = f"{self.consumer}\n{self.original_topic}\n{self.message_id}\n{self.digest}"
        return hashlib.sha256(identity.encode()).hexdigest()[:12]


def read(record: Any) -> DeadLetter:
    """A consumed dead-letter record (an aiokafka ConsumerRecord)."""
    headers: Headers = [(name, raw or b"") for name, raw in record.headers or ()]
    marks = {
        name: raw.decode("utf-8", "replace") for name, raw in headers if name.startswith(PREFIX)
    }
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        timestamp=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        key=record.key,
        value=record.value,
        headers=[(name, raw) for name, raw in headers if not name.startswith(PREFIX)],
        marks=marks,
    )


@dataclass(frozen=True)
class Distinct:
    letter: DeadLetter
    copies: int


def distinct(letters: Iterable[DeadLetter]) -> list[Distinct]:
    """Each poison message once, in the order first dead-lettered, with its copy count."""
    first: dict[str, DeadLetter] = {}
    copies: dict[str, int] = {}
    for letter in letters:
        first.setdefault(letter.id, letter)
        copies[letter.id] = copies.get(letter.id, 0) + 1
    return [Distinct(letter, copies[letter_id]) for letter_id, letter in first.items()]


class NotReplayable(Exception):
    """A dead letter whose original cannot be rebuilt (its value was cut to fit), or that
    came from a topic another hub writes."""


def replay_headers(letter: DeadLetter) -> Headers:
    if letter.truncated:
        raise NotReplayable(
            f"dead letter {letter.id} was cut to fit the dead-letter topic "
            f"({letter.truncated}); republish the original from its producer instead"
        )
    return [*letter.headers, (REPLAY_OF, f"{letter.partition}:{letter.offset}".encode())]
