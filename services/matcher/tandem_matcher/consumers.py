"""The matcher's subscriptions: thin handlers that call one service function each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import service
from tandem_shared.bus.consumer import Subscription
from tandem_shared.contracts import PROFILES, ProfileErased, ProfileUpserted
from tandem_shared.runtime import Runtime


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    ctx: service.MatcherContext = runtime.state["matcher"]

    async def upserted(session: AsyncSession, message: Any) -> None:
        await service.on_profile_upserted(session, message, ctx)

    async def erased(session: AsyncSession, message: Any) -> None:
        await service.on_profile_erased(session, message, ctx)

    return [
        Subscription(
            name="profiles",
            topics=(PROFILES.name,),
            handlers={ProfileUpserted: upserted, ProfileErased: erased},
        )
    ]
