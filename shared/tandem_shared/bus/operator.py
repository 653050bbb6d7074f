"""What an operator does with the bus: read, inspect and replay a service's dead letters,
and republish what a broker lost. Behind `tandem-<service> dlq …` and `outbox republish`.

- Dead letters are read from every `.dlq` topic and kept when a consumer group of this
  service wrote them; each poison message is listed once however many copies a consumer
  killed between writing and committing left behind. A letter is `handled` once the group
  that dead-lettered it has the message in its inbox (a replay, or a later copy, went
  through), `pending` otherwise.
- Replay produces the original record (key, value, original headers) to its original
  topic: it goes through the consumers and their inboxes, so a group that handled it
  before drops it as a duplicate.
- Republish marks the outbox rows written since a time unsent again: the service's relay
  sends them again in their order, and the consumers' inboxes drop those they already had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_shared.bus import dead_letters
from tandem_shared.bus.dead_letters import DeadLetter, Distinct
from tandem_shared.bus.kafka import client_options, create_producer, group_prefix
from tandem_shared.bus.tables import BusTables
from tandem_shared.contracts import ALL_TOPICS, dead_letter_topic, topic_owner
from tandem_shared.settings import ServiceSettings


@dataclass(frozen=True)
class Listed:
    entry: Distinct
    handled: bool

    @property
    def letter(self) -> DeadLetter:
        return self.entry.letter


async def read_dead_letters(settings: ServiceSettings, service: str) -> list[DeadLetter]:
    """Every dead letter a consumer group of `service` wrote, oldest first per topic."""
    # Dead letters stay in the hub that could not read them, beside its local topics
    # (a network topic's too: see ConsumerRunner.dead_letter).
    topics = [
        dead_letter_topic(settings.topic(spec.topic(hub)))
        for hub in settings.local_hubs
        for spec in ALL_TOPICS
    ]
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=settings.kafka_max_request_bytes,
    )
    try:
        await consumer.start()
        records = await _read_to_end(consumer, topics)
    finally:
        await consumer.stop()
    prefix = group_prefix(settings, service)
    letters = [dead_letters.read(record) for record in records]
    return [letter for letter in letters if letter.consumer.startswith(prefix)]


async def _read_to_end(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[object]:
    known = await consumer.topics()
    partitions = [
        TopicPartition(topic, partition)
        for topic in topics
        if topic in known
        for partition in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    if not partitions:
        return []
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    ends = await consumer.end_offsets(partitions)
    records: list[object] = []
    waiting = {partition for partition in partitions if ends[partition] > 0}
    while waiting:
        batch = await consumer.getmany(*waiting, timeout_ms=1000)
        for partition, found in batch.items():
            records.extend(record for record in found if record.offset < ends[partition])
            if found and found[-1].offset + 1 >= ends[partition]:
                waiting.discard(partition)
        if not batch:
            break  # nothing more arrives: a compacted or truncated partition
    return records


async def list_dead_letters(
    session: AsyncSession, tables: BusTables, letters: Sequence[DeadLetter]
) -> list[Listed]:
    """Each poison message once, with whether its group has handled it since."""
    entries = dead_letters.distinct(letters)
    handled = await _handled(session, tables, [entry.letter for entry in entries])
    return [
        Listed(entry, (entry.letter.consumer, entry.letter.message_id) in handled)
        for entry in entries
    ]


async def _handled(
    session: AsyncSession, tables: BusTables, letters: Sequence[DeadLetter]
) -> set[tuple[str, str]]:
    pairs = {(letter.consumer, letter.message_id) for letter in letters if letter.message_id}
    if not pairs:
        return set()
    inbox = tables.inbox
    rows = await session.execute(
        select(inbox.c.consumer, inbox.c.message_id).where(
            or_(
                *(
                    and_(inbox.c.consumer == consumer, inbox.c.message_id == message_id)
                    for consumer, message_id in pairs
                )
            )
        )
    )
    return {(row.consumer, row.message_id) for row in rows}


async def replay(settings: ServiceSettings, letters: Sequence[DeadLetter]) -> int:
    """Produce each letter's original record to its original topic; how many. Only to a
    topic this deployment's hubs write: a letter from another hub's network topic is that
    hub's to fix (its one writer), and replaying it here would forge its topic."""
    foreign = [letter.original_topic for letter in letters if not _ours(settings, letter)]
    if foreign:
        raise dead_letters.NotReplayable(
            f"cannot replay onto {foreign[0]}: another hub writes that topic"
        )
    originals = [(letter, dead_letters.replay_headers(letter)) for letter in letters]
    producer = create_producer(settings, client_id="tandem-dlq-replay")
    await producer.start()
    try:
        for letter, headers in originals:
            await producer.send_and_wait(
                letter.original_topic, value=letter.value, key=letter.key, headers=headers
            )
    finally:
        await producer.stop()
    return len(originals)


def _ours(settings: ServiceSettings, letter: DeadLetter) -> bool:
    owner = topic_owner(letter.original_topic, settings.kafka_topic_prefix)
    return owner is None or owner.hub in settings.local_hubs


async def republish_since(session: AsyncSession, tables: BusTables, since: datetime) -> int:
    """Mark the outbox rows written since `since` unsent again; how many."""
    outbox = tables.outbox
    result = await session.execute(
        update(outbox)
        .where(outbox.c.created_at >= since, outbox.c.sent_at.is_not(None))
        .values(sent_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)
