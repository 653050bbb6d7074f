"""What a consumer group and an outbox relay tell `/readyz` about real flow.

"Can connect" is not "works": after a broker restart every connection succeeded while no
offset could be committed and no message moved. So each consumer records when it last
polled and committed, which partitions it holds back during an outage and why, and its
lag; the relay records its last failure. `problem()` turns that into a reason, or None.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tandem_shared import metrics

# A consumer's loop polls at least every half second; this much silence means it is stuck.
STALE_POLL_SECONDS = 30.0


@dataclass
class ConsumerFlow:
    service: str
    group: str
    joined: bool = False
    last_poll: float | None = None
    last_commit: float | None = None
    commit_error: str | None = None
    held: dict[str, str] = field(default_factory=dict)
    lag: dict[str, int] = field(default_factory=dict)

    def polled(self) -> None:
        self.last_poll = time.monotonic()

    def committed(self) -> None:
        self.last_commit = time.monotonic()
        self.commit_error = None

    def commit_failed(self, reason: str) -> None:
        self.commit_error = reason

    def hold(self, partition: str, reason: str) -> None:
        self.held[partition] = reason
        metrics.CONSUMER_HELD.labels(self.service, self.group).set(len(self.held))

    def release(self, partition: str) -> None:
        if self.held.pop(partition, None) is not None:
            metrics.CONSUMER_HELD.labels(self.service, self.group).set(len(self.held))

    def restart(self) -> None:
        """A new consumer instance: nothing is joined or held any more."""
        self.joined = False
        self.held.clear()
        self.commit_error = None
        metrics.CONSUMER_HELD.labels(self.service, self.group).set(0)

    def problem(self) -> str | None:
        if not self.joined:
            return f"{self.group}: not joined to its group yet"
        if self.held:
            partition, reason = next(iter(self.held.items()))
            return f"{self.group}: {len(self.held)} partition(s) held back ({partition}: {reason})"
        if self.commit_error is not None:
            return f"{self.group}: offset commits failing: {self.commit_error}"
        if self.last_poll is None or time.monotonic() - self.last_poll > STALE_POLL_SECONDS:
            return f"{self.group}: not polling"
        return None

    def details(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "joined": self.joined,
            "last_poll_seconds_ago": _age(now, self.last_poll),
            "last_commit_seconds_ago": _age(now, self.last_commit),
            "held": dict(self.held),
            "lag": sum(self.lag.values()),
        }


@dataclass
class RelayFlow:
    service: str
    last_publish: float | None = None
    error: str | None = None

    def published(self) -> None:
        self.last_publish = time.monotonic()
        self.error = None

    def failed(self, reason: str) -> None:
        self.error = reason

    def problem(self) -> str | None:
        return None if self.error is None else f"outbox relay: {self.error}"


def _age(now: float, then: float | None) -> float | None:
    return None if then is None else round(now - then, 1)
