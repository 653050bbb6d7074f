"""Database access for the matcher. Never commits: the edge owns the transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher.tables import matches, profiles
from tandem_shared.contracts import ProfileData
from tandem_shared.db import upsert_if_newer


async def project_profile(session: AsyncSession, data: ProfileData) -> bool:
    values = data.model_dump(
        mode="json",
        include={
            "hub",
            "version",
            "name",
            "kind",
            "sharing",
            "looking_for",
            "languages",
            "country",
            "region",
            "website",
            "offers",
            "needs",
        },
    )
    values["updated_at"] = data.updated_at
    return await upsert_if_newer(session, profiles, key={"id": data.id}, values=values)


async def get_profile(session: AsyncSession, profile_id: uuid.UUID) -> RowMapping | None:
    return (
        (await session.execute(select(profiles).where(profiles.c.id == profile_id)))
        .mappings()
        .first()
    )


async def all_profiles(session: AsyncSession) -> list[RowMapping]:
    return list((await session.execute(select(profiles))).mappings().all())


async def delete_profile(session: AsyncSession, profile_id: uuid.UUID) -> None:
    await session.execute(delete(profiles).where(profiles.c.id == profile_id))


async def matches_of(
    session: AsyncSession, profile_id: uuid.UUID, *, active_only: bool = True
) -> list[RowMapping]:
    query = select(matches).where(
        or_(matches.c.profile_a == profile_id, matches.c.profile_b == profile_id)
    )
    if active_only:
        query = query.where(matches.c.status != "withdrawn")
    return list((await session.execute(query.order_by(matches.c.score.desc()))).mappings().all())


async def get_match(session: AsyncSession, pair_id: str) -> RowMapping | None:
    return (
        (await session.execute(select(matches).where(matches.c.pair_id == pair_id)))
        .mappings()
        .first()
    )


async def insert_match(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(matches.insert().values(**values))


async def update_match(session: AsyncSession, pair_id: str, values: dict[str, Any]) -> None:
    await session.execute(update(matches).where(matches.c.pair_id == pair_id).values(**values))


async def delete_matches_of(session: AsyncSession, profile_id: uuid.UUID) -> None:
    await session.execute(
        delete(matches).where(
            or_(matches.c.profile_a == profile_id, matches.c.profile_b == profile_id)
        )
    )
