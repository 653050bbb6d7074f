"""One publisher per service: it knows the service's CloudEvents source and the topics the
service owns, takes each message's topic from the contracts, and stages the message in the
caller's transaction through the outbox.

    publisher = Publisher("registry", bus, owns=(PROFILES,))
    message = publisher.message(ProfileUpserted, hub=hub, subject=str(id), data=data)
    await publisher.publish(session, message, key=str(id))

A message type that does not travel on one of the service's own topics is refused: that is
a programming error, caught by the first test that publishes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_shared.bus.outbox import enqueue, enqueue_many, enqueue_tombstone
from tandem_shared.bus.tables import BusTables
from tandem_shared.contracts import Envelope, TopicSpec, topic_of

E = TypeVar("E", bound=Envelope)


class UnpublishableMessage(TypeError):
    """A service tried to publish a type that does not belong on any topic it owns."""


class Publisher:
    def __init__(self, service: str, tables: BusTables, *, owns: Sequence[TopicSpec]) -> None:
        self.service = service
        self._tables = tables
        self._owned = {topic.name for topic in owns}

    def source(self, hub: str) -> str:
        """The CloudEvents `source`: which service of which hub produced a message."""
        return f"/tandem/{self.service}/{hub}"

    def message(self, message_type: type[E], *, hub: str, subject: str, data: Any) -> E:
        """Build a message of this service with its source filled in."""
        return message_type(source=self.source(hub), subject=subject, hub=hub, data=data)

    def topic_for(self, message: Envelope) -> str:
        topic = topic_of(type(message)).name
        if topic not in self._owned:
            raise UnpublishableMessage(
                f"{self.service} does not publish {getattr(message, 'type', message)!r}: "
                f"it belongs on {topic}"
            )
        return topic

    async def publish(self, session: AsyncSession, message: Envelope, *, key: str) -> None:
        await enqueue(
            session, self._tables, topic=self.topic_for(message), key=key, message=message
        )

    async def publish_many(
        self, session: AsyncSession, messages: Sequence[tuple[str, Envelope]]
    ) -> None:
        """Stage (key, message) pairs in order, one multi-row INSERT per run of one topic."""
        keyed = [(self.topic_for(message), key, message) for key, message in messages]
        for topic, run in groupby(keyed, key=lambda item: item[0]):
            batch = [(key, message) for _, key, message in run]
            await enqueue_many(session, self._tables, topic=topic, messages=batch)

    async def publish_tombstone(self, session: AsyncSession, topic: TopicSpec, *, key: str) -> None:
        """Stage a tombstone so a compacted topic forgets `key`."""
        if topic.name not in self._owned:
            raise UnpublishableMessage(f"{self.service} does not own {topic.name}")
        await enqueue_tombstone(session, self._tables, topic=topic.name, key=key)
