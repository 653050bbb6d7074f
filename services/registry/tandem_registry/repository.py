"""Database access for the registry. Never commits: the edge owns the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_registry.tables import hubs, profiles, staff


async def get_hub(session: AsyncSession, hub_id: str) -> RowMapping | None:
    return (await session.execute(select(hubs).where(hubs.c.id == hub_id))).mappings().first()


async def insert_hub(session: AsyncSession, **values: Any) -> None:
    await session.execute(hubs.insert().values(**values))


async def staff_by_email(session: AsyncSession, email: str) -> RowMapping | None:
    query = select(staff).where(staff.c.email == email.lower())
    return (await session.execute(query)).mappings().first()


async def insert_staff(session: AsyncSession, **values: Any) -> None:
    await session.execute(staff.insert().values(**values))


async def set_password_hash(session: AsyncSession, staff_id: uuid.UUID, password_hash: str) -> None:
    await session.execute(
        update(staff).where(staff.c.id == staff_id).values(password_hash=password_hash)
    )


async def get_profile(session: AsyncSession, profile_id: uuid.UUID) -> RowMapping | None:
    query = select(profiles).where(profiles.c.id == profile_id)
    return (await session.execute(query)).mappings().first()


async def insert_profile(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(profiles.insert().values(**values))


async def update_profile(
    session: AsyncSession, profile_id: uuid.UUID, values: dict[str, Any], updated_at: datetime
) -> None:
    await session.execute(
        update(profiles)
        .where(profiles.c.id == profile_id)
        .values(**values, version=profiles.c.version + 1, updated_at=updated_at)
    )


async def profile_by_external_id(
    session: AsyncSession, hub: str, external_id: str
) -> RowMapping | None:
    query = select(profiles).where(profiles.c.hub == hub, profiles.c.external_id == external_id)
    return (await session.execute(query)).mappings().first()
