"""The notifier's subscriptions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import service
from tandem_notifier.live import feed_signal
from tandem_notifier.tables import directory
from tandem_shared.bus.consumer import Subscription
from tandem_shared.contracts import MATCHES, MatchSuggested, MatchUpdated, MatchWithdrawn
from tandem_shared.directory import directory_subscription
from tandem_shared.runtime import Runtime


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    signal = feed_signal(runtime)

    async def on_match(session: AsyncSession, message: MatchSuggested | MatchUpdated) -> None:
        await service.on_match(session, message, signal)

    async def on_withdrawn(session: AsyncSession, message: MatchWithdrawn) -> None:
        await service.on_withdrawn(session, message, signal)

    return [
        directory_subscription(directory),
        Subscription(
            name="matches",
            topics=(MATCHES.name,),
            handlers={
                MatchSuggested: on_match,
                MatchUpdated: on_match,
                MatchWithdrawn: on_withdrawn,
            },
        ),
    ]
