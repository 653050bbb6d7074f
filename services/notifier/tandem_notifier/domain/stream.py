"""Where a live feed stream stands (pure).

Rows are read in (created_at, id) order. A row's created_at is set before its transaction
commits, so a row can become visible after a newer one was already streamed. The cursor
therefore re-reads a short `grace` window behind the newest row it sent and remembers the
ids it sent in that window: nothing committed late is lost and nothing is sent twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar


class FeedRow(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def created_at(self) -> datetime: ...


R = TypeVar("R", bound=FeedRow)


@dataclass
class FeedCursor:
    floor: datetime
    grace: timedelta = timedelta(seconds=5)
    _sent: dict[uuid.UUID, datetime] = field(default_factory=dict)

    def since(self) -> datetime:
        """Read rows created at or after this instant."""
        newest = max(self._sent.values(), default=self.floor)
        return max(self.floor, newest - self.grace)

    def sent(self) -> set[uuid.UUID]:
        """The ids already sent that a read from `since()` could return again."""
        return set(self._sent)

    def mark_sent(self, row_id: uuid.UUID, created_at: datetime) -> None:
        self._sent[row_id] = created_at

    def take(self, rows: Sequence[R]) -> list[R]:
        """The rows not sent yet, now marked sent; forgets ids that fell out of the window."""
        fresh = [row for row in rows if row.id not in self._sent]
        for row in fresh:
            self._sent[row.id] = row.created_at
        threshold = self.since()
        self._sent = {key: at for key, at in self._sent.items() if at >= threshold}
        return fresh
