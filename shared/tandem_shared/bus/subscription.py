"""What a consumer group subscribes to, and the inbox that makes redelivery harmless."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_shared.bus.tables import BusTables
from tandem_shared.contracts import Envelope, TopicSpec
from tandem_shared.db import insert_ignoring_conflict, insert_many_ignoring_conflict

Handler = Callable[[AsyncSession, Any], Awaitable[None]]
TombstoneHandler = Callable[[AsyncSession, str, str], Awaitable[None]]
RunHandler = Callable[[AsyncSession, Sequence[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A handler that takes a run of consecutive messages at once, so it can read and write
    with a few set-based statements instead of a few per message. In a batch (see
    `Subscription.batch_size`) consecutive claimed records whose types map to the same
    `Batched` go to it together, in order; one at a time (retries, `batch_size` 1) it gets
    a run of one, so there is a single code path."""

    handle: RunHandler

    async def __call__(self, session: AsyncSession, message: Any) -> None:
        await self.handle(session, [message])


@dataclass(frozen=True)
class Subscription:
    """What one consumer group reads and how it handles each message type.

    Types without a handler are acknowledged and skipped: a topic carries several types
    and a service may care about only some of them.

    `batch_size` > 1 handles up to that many consecutive records of a partition in one
    transaction (each still claimed in the inbox): one commit instead of one per record,
    for consumers that get many small messages. If anything in the batch fails, the batch
    is rolled back and its records are handled one at a time as usual (retries, DLQ).
    Only for handlers whose effects are all in the transaction or in after-commit hooks,
    and that tolerate earlier records of the batch being visible in the same transaction.
    A handler wrapped in `Batched` gets each run of consecutive records at once.
    """

    name: str
    # Topic families: the group reads its hubs' local topics of them and, for a family the
    # network shares, every other hub's network topic (`contracts.subscription_pattern`).
    topics: tuple[TopicSpec, ...]
    handlers: Mapping[type[Envelope], Handler]
    on_tombstone: TombstoneHandler | None = None
    batch_size: int = 1


async def claim_in_inbox(
    session: AsyncSession, tables: BusTables, *, consumer: str, message_id: str, topic: str
) -> bool:
    """Insert the inbox row; False when this consumer already handled the message."""
    values = {
        "consumer": consumer,
        "message_id": message_id,
        "topic": topic,
        "received_at": datetime.now(UTC),
    }
    return await insert_ignoring_conflict(session, tables.inbox, values)


async def claim_many_in_inbox(
    session: AsyncSession, tables: BusTables, *, consumer: str, messages: Sequence[tuple[str, str]]
) -> set[str]:
    """Claim many (message id, topic) at once; the ids this consumer had not handled yet."""
    now = datetime.now(UTC)
    rows = [
        {"consumer": consumer, "message_id": message_id, "topic": topic, "received_at": now}
        for message_id, topic in messages
    ]
    return set(
        await insert_many_ignoring_conflict(session, tables.inbox, rows, returning="message_id")
    )
