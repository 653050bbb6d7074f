"""The live feed use case: a hub's new feed notifications, as they are committed, with
the reader's own read marks.

Each read is its own short transaction (the stream is long-lived; it never holds one open).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_notifier import repository
from tandem_notifier.domain.stream import FeedCursor
from tandem_notifier.live import FeedSignal
from tandem_notifier.repository.feed import FeedEntry
from tandem_notifier.settings import NotifierSettings
from tandem_shared.db import transaction
from tandem_shared.errors import TandemError


class InvalidResume(TandemError):
    """A Last-Event-ID that names no notification in the caller's feed (400: the header,
    not the body, is wrong)."""


@dataclass(frozen=True)
class LiveFeed:
    sessionmaker: async_sessionmaker[AsyncSession]
    signal: FeedSignal
    settings: NotifierSettings
    hub: str
    reader: str


async def open_cursor(feed: LiveFeed, last_event_id: str | None) -> FeedCursor:
    """Start after `last_event_id` when given, else at the current instant."""
    grace = timedelta(seconds=feed.settings.stream_grace_seconds)
    if last_event_id is None:
        return FeedCursor(floor=datetime.now(UTC), grace=grace)
    try:
        resume_id = uuid.UUID(last_event_id.strip())
    except ValueError as error:
        raise InvalidResume("Last-Event-ID must be a notification id (a UUID)") from error
    async with transaction(feed.sessionmaker) as session:
        created_at = await repository.feed.entry_time(session, feed.hub, resume_id)
    if created_at is None:
        raise InvalidResume("Last-Event-ID names no notification in this hub's feed")
    cursor = FeedCursor(floor=created_at, grace=grace)
    cursor.mark_sent(resume_id, created_at)
    return cursor


async def _read(feed: LiveFeed, cursor: FeedCursor) -> list[FeedEntry]:
    async with transaction(feed.sessionmaker) as session:
        return await repository.feed.entries_since(
            session,
            feed.hub,
            feed.reader,
            since=cursor.since(),
            exclude=cursor.sent(),
            limit=feed.settings.stream_batch,
        )


async def follow(feed: LiveFeed, cursor: FeedCursor) -> AsyncIterator[FeedEntry]:
    """Yield new feed entries until `stream_max_seconds` passed."""
    deadline = time.monotonic() + feed.settings.stream_max_seconds
    while (remaining := deadline - time.monotonic()) > 0:
        waiter = feed.signal.waiter()
        rows = await _read(feed, cursor)
        for row in cursor.take(rows):
            yield row
        if len(rows) < feed.settings.stream_batch:
            await feed.signal.wait(waiter, min(feed.settings.stream_poll_seconds, remaining))
