"""The events service's subscriptions: thin handlers that call one service function each."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.service import registrations, suggestions
from tandem_events.tables import directory
from tandem_shared.bus.consumer import Subscription
from tandem_shared.contracts import (
    MATCHES,
    PROFILES,
    MatchSuggested,
    MatchUpdated,
    MatchWithdrawn,
    ProfileErased,
    ProfileUpserted,
)
from tandem_shared.directory import forget_profile, project_profile
from tandem_shared.runtime import Runtime


def subscriptions(_runtime: Runtime) -> Sequence[Subscription]:
    async def upserted(session: AsyncSession, message: ProfileUpserted) -> None:
        await project_profile(session, directory, message.data)

    async def erased(session: AsyncSession, message: ProfileErased) -> None:
        # The directory entry and the participants' personal data go in one transaction.
        await forget_profile(session, directory, message.data)
        await registrations.forget_participant(session, message.data.id)

    async def matched(session: AsyncSession, message: MatchSuggested | MatchUpdated) -> None:
        await suggestions.on_match(session, message.data)

    async def unmatched(session: AsyncSession, message: MatchWithdrawn) -> None:
        await suggestions.on_match_withdrawn(session, message.data)

    return [
        Subscription(
            name="profile-directory",
            topics=(PROFILES,),
            handlers={ProfileUpserted: upserted, ProfileErased: erased},
        ),
        Subscription(
            name="matches",
            topics=(MATCHES,),
            handlers={MatchSuggested: matched, MatchUpdated: matched, MatchWithdrawn: unmatched},
        ),
    ]
