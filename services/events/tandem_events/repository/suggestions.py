"""The matcher's pairs (`matches`, its latest word on each) and the suggested meetings
drawn from them at each event (`suggestions`, which the scheduler reads)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.suggestions import Match, Suggestion
from tandem_events.repository.common import records
from tandem_events.repository.revision import touch_schedule
from tandem_events.tables import matches, suggestions
from tandem_shared.db import upsert_if_newer


async def upsert_match(session: AsyncSession, match: Match) -> bool:
    """Store the matcher's latest version of the pair; False for a stale message."""
    values = {
        "profile_a": match.profile_a,
        "profile_b": match.profile_b,
        "score": match.score,
        "active": match.active,
        "event_id": match.event_id,
        "version": match.version,
    }
    return await upsert_if_newer(session, matches, key={"pair_id": match.pair_id}, values=values)


def _of_profile(profile_id: uuid.UUID) -> ColumnElement[bool]:
    return or_(matches.c.profile_a == profile_id, matches.c.profile_b == profile_id)


async def matches_of_profile(
    session: AsyncSession, profile_id: uuid.UUID, *, active_only: bool = True
) -> list[Match]:
    query = select(matches).where(_of_profile(profile_id))
    if active_only:
        query = query.where(matches.c.active.is_(True))
    return records(Match, await session.execute(query))


async def delete_matches_of_profile(session: AsyncSession, profile_id: uuid.UUID) -> None:
    await session.execute(delete(matches).where(_of_profile(profile_id)))


async def upsert_suggestion(session: AsyncSession, suggestion: Suggestion) -> None:
    """Store (or replace) the pair's suggested meeting at the event."""
    key = (suggestions.c.event_id == suggestion.event_id) & (
        suggestions.c.pair_id == suggestion.pair_id
    )
    await session.execute(delete(suggestions).where(key))
    await session.execute(
        insert(suggestions).values(
            event_id=suggestion.event_id,
            pair_id=suggestion.pair_id,
            registration_a=suggestion.registration_a,
            registration_b=suggestion.registration_b,
            score=suggestion.score,
        )
    )
    await touch_schedule(session, [suggestion.event_id])


async def delete_suggestions_of_pairs(session: AsyncSession, pairs: Sequence[str]) -> None:
    """The matcher no longer suggests these pairs (withdrawn, or a profile erased)."""
    if pairs:
        await _delete_suggestions(session, suggestions.c.pair_id.in_(pairs))


async def delete_suggestions_of_registration(
    session: AsyncSession, registration_id: uuid.UUID
) -> None:
    await _delete_suggestions(
        session,
        or_(
            suggestions.c.registration_a == registration_id,
            suggestions.c.registration_b == registration_id,
        ),
    )


async def _delete_suggestions(session: AsyncSession, condition: ColumnElement[bool]) -> None:
    query = delete(suggestions).where(condition).returning(suggestions.c.event_id)
    await touch_schedule(session, (await session.execute(query)).scalars())


async def event_suggestions(session: AsyncSession, event_id: uuid.UUID) -> list[Suggestion]:
    query = (
        select(suggestions)
        .where(suggestions.c.event_id == event_id)
        .order_by(suggestions.c.pair_id)
    )
    return records(Suggestion, await session.execute(query))
