"""One publisher per service: it knows the service's CloudEvents source and the topics the
service owns, takes each message's topic from the contracts, and stages the message in the
caller's transaction through the outbox.

    publisher = Publisher("registry", bus, owns=(PROFILES,))
    message = publisher.message(ProfileUpserted, hub=hub, subject=str(id), data=data)
    await publisher.publish(session, message, key=str(id))

A message travels on the topics of its own hub (its `hub`): the local topic of its family,
or with `scope=Scope.NETWORK` the hub's network topic of a family the network shares. A
message type of a family the service does not own is refused: that is a programming error,
caught by the first test that publishes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_shared.bus.outbox import enqueue, enqueue_many, enqueue_tombstone
from tandem_shared.bus.tables import BusTables
from tandem_shared.contracts import Envelope, Scope, TopicSpec, topic_of

E = TypeVar("E", bound=Envelope)


class UnpublishableMessage(TypeError):
    """A service tried to publish a type that does not belong on any topic it owns."""


class Publisher:
    def __init__(self, service: str, tables: BusTables, *, owns: Sequence[TopicSpec]) -> None:
        self.service = service
        self._tables = tables
        self._owned = {topic.family for topic in owns}

    def source(self, hub: str) -> str:
        """The CloudEvents `source`: which service of which hub produced a message."""
        return f"/tandem/{self.service}/{hub}"

    def message(self, message_type: type[E], *, hub: str, subject: str, data: Any) -> E:
        """Build a message of this service with its source filled in."""
        return message_type(source=self.source(hub), subject=subject, hub=hub, data=data)

    def topic_for(self, message: Envelope, scope: Scope = Scope.LOCAL) -> str:
        """The topic of the message's family that the message's hub writes in `scope`: a
        message travels only on its own hub's topics (docs/federation.md)."""
        spec = self._owned_spec(topic_of(type(message)), message)
        if scope not in spec.scopes():
            raise UnpublishableMessage(f"{spec.family} is not shared with the network")
        return spec.topic(message.hub, scope)

    def _owned_spec(self, spec: TopicSpec, message: Envelope) -> TopicSpec:
        if spec.family not in self._owned:
            raise UnpublishableMessage(
                f"{self.service} does not publish {getattr(message, 'type', message)!r}: "
                f"it belongs on the {spec.family} topics"
            )
        return spec

    async def publish(
        self, session: AsyncSession, message: Envelope, *, key: str, scope: Scope = Scope.LOCAL
    ) -> None:
        await enqueue(
            session, self._tables, topic=self.topic_for(message, scope), key=key, message=message
        )

    async def publish_many(
        self,
        session: AsyncSession,
        messages: Sequence[tuple[str, Envelope]],
        scope: Scope = Scope.LOCAL,
    ) -> None:
        """Stage (key, message) pairs in order, one multi-row INSERT per run of one topic."""
        keyed = [(self.topic_for(message, scope), key, message) for key, message in messages]
        for topic, run in groupby(keyed, key=lambda item: item[0]):
            batch = [(key, message) for _, key, message in run]
            await enqueue_many(session, self._tables, topic=topic, messages=batch)

    async def publish_tombstone(
        self,
        session: AsyncSession,
        topic: TopicSpec,
        *,
        hub: str,
        key: str,
        scope: Scope = Scope.LOCAL,
    ) -> None:
        """Stage a tombstone so `hub`'s compacted topic of the family forgets `key`."""
        if topic.family not in self._owned:
            raise UnpublishableMessage(f"{self.service} does not own the {topic.family} topics")
        await enqueue_tombstone(session, self._tables, topic=topic.topic(hub, scope), key=key)
