"""The matcher's subscriptions: thin handlers that call one service function each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import service
from tandem_shared.bus.consumer import Subscription
from tandem_shared.contracts import (
    EVENTS,
    MEETINGS,
    PROFILES,
    REGISTRATIONS,
    EventCancelled,
    EventScheduled,
    EventUpdated,
    MeetingOutcomeRecorded,
    ProfileErased,
    ProfileUpserted,
    RegistrationCreated,
    RegistrationWithdrawn,
)
from tandem_shared.runtime import Runtime


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    ctx: service.MatcherContext = runtime.state["matcher"]

    async def upserted(session: AsyncSession, message: Any) -> None:
        await service.on_profile_upserted(session, message, ctx)

    async def erased(session: AsyncSession, message: Any) -> None:
        await service.on_profile_erased(session, message, ctx)

    async def registration(session: AsyncSession, message: Any) -> None:
        await service.on_registration(session, message, ctx)

    async def outcome(session: AsyncSession, message: Any) -> None:
        await service.on_meeting_outcome(session, message, ctx)

    async def event(session: AsyncSession, message: Any) -> None:
        await service.on_event(session, message, ctx)

    # One consumer for all four topics: its handlers run one at a time, so rescoring after
    # a profile, a registration, an event or an outcome never races on the index or a pair.
    # Not batched: a transaction's index changes reach the index only after it commits.
    return [
        Subscription(
            name="matching",
            topics=(PROFILES, REGISTRATIONS, EVENTS, MEETINGS),
            handlers={
                ProfileUpserted: upserted,
                ProfileErased: erased,
                RegistrationCreated: registration,
                RegistrationWithdrawn: registration,
                MeetingOutcomeRecorded: outcome,
                EventScheduled: event,
                EventUpdated: event,
                EventCancelled: event,
            },
        )
    ]
