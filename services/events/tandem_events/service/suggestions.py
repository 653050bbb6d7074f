"""The matcher's pairs become suggested meetings between participants of upcoming
matching events: when a match arrives, and when a participant gets a place."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.events import Event
from tandem_events.domain.registrations import Registration
from tandem_events.domain.suggestions import Match, Suggestion
from tandem_events.repository import events as events_repository
from tandem_events.repository import registrations as registrations_repository
from tandem_events.repository import suggestions as repository
from tandem_events.service.board import load_roster
from tandem_events.service.common import now
from tandem_shared.auth import Principal
from tandem_shared.bus.consumer import PoisonMessage
from tandem_shared.contracts import MatchData, MatchWithdrawnData, pair_id


def _check_pair(pair: str, profile_a: uuid.UUID, profile_b: uuid.UUID) -> None:
    """A pair is two different profiles under their canonical pair id; anything else would
    store a meeting of a participant with itself or a second row for one pair."""
    if profile_a == profile_b:
        raise PoisonMessage("a match must pair two different profiles")
    if pair != pair_id(profile_a, profile_b):
        raise PoisonMessage(f"pair_id {pair!r} is not the pair id of its two profiles")


async def on_match(session: AsyncSession, data: MatchData) -> None:
    """A suggested (or rescored) pair becomes a suggested meeting at every upcoming
    matching event where both are registered (only `data.event_id` if the matcher named one)."""
    _check_pair(data.pair_id, data.profile_a, data.profile_b)
    match = Match(
        pair_id=data.pair_id,
        profile_a=data.profile_a,
        profile_b=data.profile_b,
        score=data.score,
        active=True,
        event_id=data.event_id,
        version=data.version,
    )
    if not await repository.upsert_match(session, match):
        return  # stale or repeated
    found = await registrations_repository.active_registrations_of_profiles(
        session, [match.profile_a, match.profile_b]
    )
    by_event: defaultdict[uuid.UUID, dict[uuid.UUID, Registration]] = defaultdict(dict)
    for registration in found:
        by_event[registration.event_id][registration.profile_id] = registration
    moment = now()
    for event_id, registered in by_event.items():
        a, b = registered.get(match.profile_a), registered.get(match.profile_b)
        if a is None or b is None or not match.meant_for(event_id):
            continue
        event = await events_repository.get_event(session, event_id)
        if event is not None and event.hosts_matches(moment):
            await _suggest(session, event, match, a, b)


async def on_match_withdrawn(session: AsyncSession, data: MatchWithdrawnData) -> None:
    _check_pair(data.pair_id, data.profile_a, data.profile_b)
    match = Match(
        pair_id=data.pair_id,
        profile_a=data.profile_a,
        profile_b=data.profile_b,
        score=0.0,
        active=False,
        event_id=None,
        version=data.version,
    )
    if await repository.upsert_match(session, match):
        await repository.delete_suggestions_of_pairs(session, [match.pair_id])


async def _suggest(
    session: AsyncSession, event: Event, match: Match, a: Registration, b: Registration
) -> None:
    suggestion = Suggestion(
        event_id=event.id,
        pair_id=match.pair_id,
        registration_a=a.id,
        registration_b=b.id,
        score=match.score,
    )
    await repository.upsert_suggestion(session, suggestion)


async def suggest_for_registration(
    session: AsyncSession, event: Event, registration: Registration
) -> None:
    """A participant who gets a place meets the matches already known with others there."""
    if not event.hosts_matches(now()):
        return
    matches = await repository.matches_of_profile(session, registration.profile_id)
    if not matches:
        return
    others = {
        other.profile_id: other
        for other in await registrations_repository.event_registrations(session, event.id)
        if other.holds_place
    }
    for match in matches:
        a, b = others.get(match.profile_a), others.get(match.profile_b)
        if match.meant_for(event.id) and a is not None and b is not None:
            await _suggest(session, event, match, a, b)


async def list_suggestions(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID
) -> list[Suggestion]:
    """The suggested meetings the caller may see (`domain.audience`)."""
    roster = await load_roster(session, event_id)
    audience = roster.audience(principal)
    return [
        suggestion
        for suggestion in await repository.event_suggestions(session, event_id)
        if roster.sees_pair(audience, suggestion.registration_a, suggestion.registration_b)
    ]
