"""The match writer: the match rows and messages one use case produces, staged as the use
case decides and written together at the end through the matcher's one publisher."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import repository
from tandem_matcher.domain.pairs import MatchStatus
from tandem_matcher.domain.scoring import ProfileVectors, Scored, in_pair_order
from tandem_matcher.repository import MatchRow
from tandem_matcher.service.context import now
from tandem_matcher.tables import bus
from tandem_shared.bus.publisher import Publisher
from tandem_shared.contracts import (
    MATCHES,
    Envelope,
    MatchData,
    MatchExplanation,
    MatchSuggested,
    MatchUpdated,
    MatchWithdrawn,
    MatchWithdrawnData,
    TextPair,
    pair_id,
)

PUBLISHER = Publisher("matcher", bus, owns=(MATCHES,))


class MatchWriter:
    """Stages match rows and their messages; `flush` writes them in one multi-row upsert
    and one outbox insert, instead of a SELECT, an UPDATE and an outbox row (plus its
    NOTIFY) per pair. `hub` is the hub this matcher serves: the messages' source and hub,
    so they travel on its own local matches topic only, whichever hubs the pair's sides
    belong to (explanations quote hub-only text; each hub scores for its own staff)."""

    def __init__(self, hub: str) -> None:
        self.hub = hub
        self.source = PUBLISHER.source(hub)
        self.rows: dict[str, MatchRow] = {}
        self.messages: list[tuple[str, Envelope]] = []

    def staged(self, pair: str) -> bool:
        return pair in self.rows

    def suggest(self, profile: ProfileVectors, result: Scored, current: MatchRow | None) -> None:
        """Suggest the pair anew (`current` None or withdrawn) or update its suggestion."""
        hubs = {profile.id: profile.hub, result.candidate.id: result.candidate.hub}
        a, b = sorted(hubs)
        oriented = in_pair_order(profile, result)
        explanation = MatchExplanation(
            summary=oriented.summary,
            a_needs_b_offers=_text_pair(oriented.a_needs_b_offers),
            b_needs_a_offers=_text_pair(oriented.b_needs_a_offers),
        )
        row = MatchRow(
            pair_id=pair_id(a, b),
            profile_a=uuid.UUID(a),
            profile_b=uuid.UUID(b),
            hub_a=hubs[a],
            hub_b=hubs[b],
            version=1 if current is None else current.version + 1,
            score=result.score,
            components=oriented.components,
            explanation=explanation.model_dump(mode="json"),
            status=MatchStatus.SUGGESTED,
            event_id=uuid.UUID(result.event_id) if result.event_id else None,
            updated_at=now(),
        )
        data = MatchData(
            **_pair_fields(row),
            score=row.score,
            components=row.components,
            explanation=explanation,
            event_id=row.event_id,
        )
        fresh = current is None or current.status == MatchStatus.WITHDRAWN
        kind = MatchSuggested if fresh else MatchUpdated
        self._add(row, kind(source=self.source, subject=row.pair_id, hub=self.hub, data=data))

    def withdraw(
        self, match: MatchRow, *, reason: str, status: MatchStatus = MatchStatus.WITHDRAWN
    ) -> None:
        """Take the pair out of the suggestions (`status` withdrawn or declined)."""
        row = replace(match, status=status, version=match.version + 1, updated_at=now())
        data = MatchWithdrawnData(**_pair_fields(row), reason=reason)
        self._add(
            row, MatchWithdrawn(source=self.source, subject=row.pair_id, hub=self.hub, data=data)
        )

    def _add(self, row: MatchRow, message: Envelope) -> None:
        self.rows[row.pair_id] = row
        self.messages.append((row.pair_id, message))

    async def flush(self, session: AsyncSession) -> None:
        await repository.upsert_matches(session, list(self.rows.values()))
        await PUBLISHER.publish_many(session, self.messages)
        self.rows, self.messages = {}, []

    async def forget(self, session: AsyncSession, pairs: Iterable[str]) -> None:
        """Publish the staged messages, then a tombstone per pair so the compacted topic
        forgets each pair entirely (erasure: the caller deletes the rows)."""
        await PUBLISHER.publish_many(session, self.messages)
        for pair in pairs:
            await PUBLISHER.publish_tombstone(session, MATCHES, hub=self.hub, key=pair)
        self.rows, self.messages = {}, []


def _pair_fields(row: MatchRow) -> dict[str, Any]:
    """What every match message says of its pair: who, which hubs, which version."""
    return {
        "pair_id": row.pair_id,
        "profile_a": row.profile_a,
        "profile_b": row.profile_b,
        "hub_a": row.hub_a,
        "hub_b": row.hub_b,
        "version": row.version,
    }


def _text_pair(match: tuple[str, str, float] | None) -> TextPair | None:
    if match is None:
        return None
    need, offer, similarity = match
    return TextPair(need=need, offer=offer, similarity=similarity)
