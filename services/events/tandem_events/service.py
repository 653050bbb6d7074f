"""Events use cases (so far: the profile directory the schedules will name people from)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from tandem_shared.contracts import ProfileErased, ProfileUpserted
from tandem_shared.directory import forget_profile, project_profile

from tandem_events.tables import directory


async def on_profile_upserted(session: AsyncSession, message: ProfileUpserted) -> None:
    await project_profile(session, directory, message.data)


async def on_profile_erased(session: AsyncSession, message: ProfileErased) -> None:
    await forget_profile(session, directory, message.data)
