"""The matcher's projection of other services' facts (profiles, registrations, events),
kept current by their messages; each change rescores the pairs it can affect."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import repository
from tandem_matcher.domain.pairs import MatchStatus
from tandem_matcher.service import embeddings
from tandem_matcher.service.context import MatcherContext, now
from tandem_matcher.service.replicas import begin
from tandem_matcher.service.rescoring import rescore, withdraw
from tandem_matcher.service.writer import MatchWriter
from tandem_matcher.tables import profiles
from tandem_shared.contracts import (
    EventCancelled,
    EventCancelledData,
    EventScheduled,
    EventUpdated,
    ProfileErased,
    ProfileUpserted,
    RegistrationCreated,
    RegistrationWithdrawn,
)
from tandem_shared.directory import refuse_moving_hub


async def on_profile_upserted(
    session: AsyncSession, message: ProfileUpserted, ctx: MatcherContext
) -> None:
    data = message.data
    await refuse_moving_hub(session, profiles, data.id, data.hub)
    row = {**data.model_dump(mode="json"), "id": data.id}
    # Encoded before taking the index lock: it is the costly part, and needs no state.
    vectors = await asyncio.to_thread(ctx.index.vectors_for, row)
    ctx = await begin(session, ctx)
    if not await repository.project_profile(session, data):
        return  # stale or repeated version
    # Scoring takes the new vectors from `vectors`; the index gets them after commit.
    ctx.later(lambda: ctx.index.put(vectors))
    ctx.record("profile", id=str(data.id))
    await embeddings.store(session, ctx.index, [vectors])
    await rescore(session, ctx, vectors)


async def on_profile_erased(
    session: AsyncSession, message: ProfileErased, ctx: MatcherContext
) -> None:
    profile_id = message.data.id
    await refuse_moving_hub(session, profiles, profile_id, message.data.hub)
    ctx = await begin(session, ctx)
    writer = MatchWriter(ctx.hub)
    pairs = []
    for match in await repository.matches_of(session, profile_id, listed_only=False):
        if match.status not in (MatchStatus.WITHDRAWN, MatchStatus.DECLINED):
            withdraw(writer, ctx, match, reason="profile erased")
        pairs.append(match.pair_id)
    await writer.forget(session, pairs)
    await repository.forget_profile(session, profile_id)
    ctx.standing.forget(str(profile_id))
    ctx.later(lambda: ctx.index.remove(str(profile_id)))
    ctx.record("profile", id=str(profile_id))


async def on_registration(
    session: AsyncSession,
    message: RegistrationCreated | RegistrationWithdrawn,
    ctx: MatcherContext,
) -> None:
    """Co-registration changed: rescore the profile within the event's participants."""
    data = message.data
    active = isinstance(message, RegistrationCreated)
    ctx = await begin(session, ctx)
    if not await repository.project_registration(session, data, active=active, at=message.time):
        return  # stale or repeated
    event_id, profile_id = str(data.event_id), str(data.profile_id)
    vectors = ctx.index.vectors
    was_registered = event_id in vectors.events_of(profile_id)
    if active:
        ctx.now(
            lambda: vectors.register(event_id, profile_id),
            lambda: None if was_registered else vectors.unregister(event_id, profile_id),
        )
    elif not await repository.registered(session, data.event_id, data.profile_id):
        ctx.now(
            lambda: vectors.unregister(event_id, profile_id),
            lambda: vectors.register(event_id, profile_id) if was_registered else None,
        )
    ctx.record("registration", event_id=event_id, profile_id=profile_id)
    profile = ctx.index.get(profile_id)
    if profile is None:
        return  # the profile's own upsert will score it with this registration
    participants = ctx.index.vectors.participants(event_id) - {profile_id}
    await rescore(session, ctx, profile, among=participants)


async def on_event(
    session: AsyncSession,
    message: EventScheduled | EventUpdated | EventCancelled,
    ctx: MatcherContext,
) -> None:
    """An event was scheduled, moved or cancelled: if that changes whether co-registration
    at it counts, rescore its participants' pairs among themselves."""
    data = message.data
    cancelled = isinstance(message, EventCancelled)
    ends_at = None if isinstance(data, EventCancelledData) else data.ends_at
    ctx = await begin(session, ctx)
    stored = await repository.project_event(
        session, data.id, data.version, ends_at=ends_at, cancelled=cancelled, at=message.time
    )
    if stored is None:
        return  # stale or repeated
    vectors, event_id, moment = ctx.index.vectors, str(data.id), now()
    previous = vectors.event_state(event_id)
    counted = vectors.upcoming(event_id, moment)
    ctx.now(
        lambda: vectors.set_event(event_id, stored),
        lambda: vectors.set_event(event_id, previous),
    )
    ends = stored.ends_at.isoformat() if stored.ends_at else None
    ctx.record("event", id=event_id, ends_at=ends, cancelled=stored.cancelled)
    if vectors.upcoming(event_id, moment) == counted:
        return
    participants = vectors.participants(event_id)
    for profile_id in sorted(participants):
        profile = ctx.index.get(profile_id)
        if profile is not None:
            await rescore(session, ctx, profile, among=participants - {profile_id})
