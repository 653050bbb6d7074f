"""The profile directory: the few facts of a profile that services other than the registry
and matcher need (to name and address it), projected from the profiles topics (the hub's
own local topic and the other hubs' network topics).

Services own their copy in their own database; this module only defines its shape and the
version-checked upsert, so the projection is written once."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_shared.bus.consumer import PoisonMessage, Subscription
from tandem_shared.contracts import (
    PROFILES,
    ProfileData,
    ProfileErased,
    ProfileErasedData,
    ProfileUpserted,
    moved_hub_problem,
)
from tandem_shared.db import UtcDateTime, upsert_if_newer


def define_directory_table(metadata: MetaData) -> Table:
    return Table(
        "profile_directory",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("hub", String(64), nullable=False, index=True),
        Column("name", String(200), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("country", String(2), nullable=False),
        Column("sharing", String(16), nullable=False),
        Column("version", Integer, nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
    )


async def refuse_moving_hub(
    session: AsyncSession, table: Table, profile_id: uuid.UUID, hub: str
) -> None:
    """Dead-letter a message that would move a known profile to another hub: an id belongs
    to the hub that first published it, so no hub can overwrite or erase another's
    profiles by reusing their ids (`table` has the profile's `id` and `hub`)."""
    known = await session.scalar(select(table.c.hub).where(table.c.id == profile_id))
    problem = moved_hub_problem(profile_id, known, hub)
    if problem is not None:
        raise PoisonMessage(problem)


async def project_profile(session: AsyncSession, table: Table, profile: ProfileData) -> bool:
    await refuse_moving_hub(session, table, profile.id, profile.hub)
    return await upsert_if_newer(
        session,
        table,
        key={"id": profile.id},
        values={
            "hub": profile.hub,
            "name": profile.name,
            "kind": profile.kind.value,
            "country": profile.country,
            "sharing": profile.sharing.value,
            "version": profile.version,
            "updated_at": profile.updated_at,
        },
    )


async def forget_profile(session: AsyncSession, table: Table, erased: ProfileErasedData) -> None:
    await refuse_moving_hub(session, table, erased.id, erased.hub)
    await session.execute(delete(table).where(table.c.id == erased.id))


def directory_subscription(
    table: Table,
    *,
    after_upsert: Callable[[AsyncSession, ProfileUpserted], Awaitable[None]] | None = None,
    after_erase: Callable[[AsyncSession, ProfileErased], Awaitable[None]] | None = None,
    batch_size: int = 1,
) -> Subscription:
    """Keep `table` current from the profiles topics (the same in every service that has
    one), then run the service's own follow-ups in the same transaction: what it keeps
    about a profile beyond the directory, or the personal data it must erase with it."""

    async def upserted(session: AsyncSession, message: ProfileUpserted) -> None:
        await project_profile(session, table, message.data)
        if after_upsert is not None:
            await after_upsert(session, message)

    async def erased(session: AsyncSession, message: ProfileErased) -> None:
        await forget_profile(session, table, message.data)
        if after_erase is not None:
            await after_erase(session, message)

    return Subscription(
        name="profile-directory",
        topics=(PROFILES,),
        handlers={ProfileUpserted: upserted, ProfileErased: erased},
        batch_size=batch_size,
    )
