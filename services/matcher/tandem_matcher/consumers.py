"""The matcher's subscriptions: thin handlers that call one service function each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import service
from tandem_shared.bus.consumer import Subscription
from tandem_shared.contracts import (
    MEETINGS,
    PROFILES,
    REGISTRATIONS,
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

    # One consumer for all three topics: its handlers run one at a time, so rescoring
    # after a profile, a registration or an outcome never races on the index or a pair.
    return [
        Subscription(
            name="matching",
            topics=(PROFILES.name, REGISTRATIONS.name, MEETINGS.name),
            handlers={
                ProfileUpserted: upserted,
                ProfileErased: erased,
                RegistrationCreated: registration,
                RegistrationWithdrawn: registration,
                MeetingOutcomeRecorded: outcome,
            },
        )
    ]
