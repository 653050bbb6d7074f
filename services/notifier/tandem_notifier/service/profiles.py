"""Profiles: what the notifier keeps beyond the shared directory (subsectors, which sector
subscriptions need)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository
from tandem_shared.contracts import ProfileErased, ProfileUpserted


async def on_upserted(session: AsyncSession, message: ProfileUpserted) -> None:
    profile = message.data
    await repository.recipients.project_subsectors(
        session, profile.id, list(profile.subsectors), profile.version, profile.updated_at
    )


async def on_erased(session: AsyncSession, message: ProfileErased) -> None:
    await repository.recipients.forget_subsectors(session, message.data.id)
