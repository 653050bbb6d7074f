"""The profile directory: the few facts of a profile that services other than the registry
and matcher need (to name and address it), projected from `tandem.profiles.v1`.

Services own their copy in their own database; this module only defines its shape and the
version-checked upsert, so the projection is written once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, delete
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_shared.bus.consumer import Subscription
from tandem_shared.contracts import (
    PROFILES,
    ProfileData,
    ProfileErased,
    ProfileErasedData,
    ProfileUpserted,
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


async def project_profile(session: AsyncSession, table: Table, profile: ProfileData) -> bool:
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
    await session.execute(delete(table).where(table.c.id == erased.id))


def directory_subscription(
    table: Table,
    *,
    after_upsert: Callable[[AsyncSession, ProfileUpserted], Awaitable[None]] | None = None,
    after_erase: Callable[[AsyncSession, ProfileErased], Awaitable[None]] | None = None,
    batch_size: int = 1,
) -> Subscription:
    """Keep `table` current from tandem.profiles.v1 (the same in every service that has
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
        topics=(PROFILES.name,),
        handlers={ProfileUpserted: upserted, ProfileErased: erased},
        batch_size=batch_size,
    )
