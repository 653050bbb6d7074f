"""What a hub's consumer reads, believes and where it dead-letters, from topic ownership
(`contracts`: every topic has one writing hub, named in it; docs/federation.md)."""

from __future__ import annotations

from collections.abc import Sequence

from tandem_shared.contracts import (
    Envelope,
    TopicSpec,
    local_dead_letter_topic,
    provenance_problem,
    subscription_pattern,
    topic_owner,
)
from tandem_shared.settings import ServiceSettings

# How soon a pattern subscription sees a topic created after it started (a hub joining).
NEW_TOPICS_FOUND_WITHIN_MS = 5000


def pattern(families: Sequence[TopicSpec], settings: ServiceSettings) -> str:
    """The topics a consumer group reads: its hubs' local topics, other hubs' network ones."""
    return subscription_pattern(families, settings.local_hubs, settings.kafka_topic_prefix)


def refusal(topic: str, message: Envelope, settings: ServiceSettings) -> str | None:
    """Why a message may not be believed from `topic` (see `contracts.provenance_problem`)."""
    owner = topic_owner(topic, settings.kafka_topic_prefix)
    if owner is None:
        return None  # not a Tandem topic name: nothing to check it against
    return provenance_problem(message, owner)


def dead_letter_topic(topic: str, settings: ServiceSettings) -> str:
    """Dead letters stay in the consumer's hub: a network topic's go beside the hub's own
    local topic of the family, never to a topic another hub owns."""
    prefix = settings.kafka_topic_prefix
    owner = topic_owner(topic, prefix)
    hub = owner.hub if owner is not None and owner.hub in settings.local_hubs else settings.hub
    return local_dead_letter_topic(topic, hub, prefix)
