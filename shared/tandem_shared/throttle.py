"""Failed-attempt throttling with backoff (login attempts per account and per address).

After `free` failures under one key, the next attempt must wait `base · 2^(n - free)`
seconds (at most `cap`); failures older than `window` are forgotten, and a success clears
the key. The counts live in the process (a few thousand keys at most, the oldest dropped
first): with several replicas each keeps its own, so the limit is per replica.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tandem_shared.errors import TooManyRequests


@dataclass
class _Failures:
    count: int
    last: float


@dataclass(frozen=True)
class Limit:
    free: int
    base: float = 1.0
    cap: float = 900.0
    window: float = 900.0


class AttemptThrottle:
    def __init__(
        self,
        limits: dict[str, Limit],
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    def wait(self, keys: Sequence[tuple[str, str]]) -> float:
        """Seconds before another attempt under these (kind, value) keys is allowed."""
        return max((self._wait_one(key) for key in keys), default=0.0)

    def check(self, keys: Sequence[tuple[str, str]]) -> None:
        """Raise TooManyRequests (429 with Retry-After) while the keys are throttled."""
        seconds = self.wait(keys)
        if seconds > 0:
            raise TooManyRequests(
                f"too many failed attempts: try again in {math.ceil(seconds)} s",
                retry_after=math.ceil(seconds),
            )

    def failed(self, keys: Sequence[tuple[str, str]]) -> None:
        now = self._clock()
        for key in keys:
            current = self._current(key, now)
            count = current.count + 1 if current else 1
            self._failures[key] = _Failures(count, now)
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, keys: Sequence[tuple[str, str]]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _current(self, key: tuple[str, str], now: float) -> _Failures | None:
        found = self._failures.get(key)
        if found is None or now - found.last > self._limits[key[0]].window:
            return None
        return found

    def _wait_one(self, key: tuple[str, str]) -> float:
        now = self._clock()
        found = self._current(key, now)
        limit = self._limits[key[0]]
        if found is None or found.count < limit.free:
            return 0.0
        delay = min(limit.cap, limit.base * 2.0 ** min(found.count - limit.free, 30))
        return max(0.0, found.last + delay - now)


def login_throttle() -> AttemptThrottle:
    """Per account: 5 free failures, then 1 s, 2 s, 4 s … up to 15 min. Per client
    address (offices share one): 20 free failures, then the same backoff."""
    return AttemptThrottle({"account": Limit(free=5), "address": Limit(free=20)})


def login_keys(account: str, address: str | None) -> list[tuple[str, str]]:
    keys = [("account", account.strip().lower())]
    if address:
        keys.append(("address", address))
    return keys
