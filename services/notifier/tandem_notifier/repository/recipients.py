"""Who hears of what: the profile directory (with the subsectors sector subscriptions
need), each staff member's subscriptions and preferences."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier.domain.preferences import Preferences, preferences_of
from tandem_notifier.domain.recipients import StaffKey, StoredSubscription
from tandem_notifier.repository.sql import dialect_insert
from tandem_notifier.tables import directory, preferences, profile_subsectors, subscriptions
from tandem_shared.contracts import Sharing
from tandem_shared.db import among, insert_ignoring_conflict, upsert_if_newer


@dataclass(frozen=True)
class KnownProfile:
    """A profile of the directory, with its subsectors when the notifier saw them."""

    id: uuid.UUID
    hub: str
    name: str
    kind: str
    sharing: Sharing
    subsectors: frozenset[str]


async def profile_names(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(directory.c.id, directory.c.name).where(among(session, directory.c.id, ids))
    )
    return {row.id: row.name for row in rows}


async def known_profiles(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, KnownProfile]:
    rows = await session.execute(
        select(
            directory.c.id,
            directory.c.hub,
            directory.c.name,
            directory.c.kind,
            directory.c.sharing,
            profile_subsectors.c.subsectors,
        )
        .select_from(
            directory.outerjoin(profile_subsectors, profile_subsectors.c.id == directory.c.id)
        )
        .where(among(session, directory.c.id, ids))
    )
    return {
        row.id: KnownProfile(
            id=row.id,
            hub=row.hub,
            name=row.name,
            kind=row.kind,
            sharing=Sharing(row.sharing),
            subsectors=frozenset(row.subsectors or ()),
        )
        for row in rows
    }


async def project_subsectors(
    session: AsyncSession, profile_id: uuid.UUID, subsectors: list[str], version: int, at: datetime
) -> None:
    await upsert_if_newer(
        session,
        profile_subsectors,
        key={"id": profile_id},
        values={"subsectors": subsectors, "version": version, "updated_at": at},
    )


async def forget_subsectors(session: AsyncSession, profile_id: uuid.UUID) -> None:
    await session.execute(delete(profile_subsectors).where(profile_subsectors.c.id == profile_id))


# --------------------------------------------------------------------------- subscriptions

_SUBSCRIPTION = (
    subscriptions.c.hub,
    subscriptions.c.subject,
    subscriptions.c.scope,
    subscriptions.c.target,
)


def _subscriptions(rows: Iterable[Any]) -> list[StoredSubscription]:
    return [StoredSubscription(row.hub, row.subject, row.scope, row.target) for row in rows]


async def subscriptions_of(
    session: AsyncSession, hub: str, subject: str
) -> list[StoredSubscription]:
    rows = await session.execute(
        select(*_SUBSCRIPTION)
        .where(subscriptions.c.hub == hub, subscriptions.c.subject == subject)
        .order_by(subscriptions.c.scope, subscriptions.c.target)
    )
    return _subscriptions(rows)


async def replace_subscriptions(
    session: AsyncSession, hub: str, subject: str, pairs: Sequence[tuple[str, str]], at: datetime
) -> None:
    """Replace the member's subscriptions. Inserts ignore conflicts, so two concurrent
    replaces end with the union of both sets instead of failing on the primary key."""
    await session.execute(
        delete(subscriptions).where(subscriptions.c.hub == hub, subscriptions.c.subject == subject)
    )
    for scope, target in pairs:
        await insert_ignoring_conflict(
            session,
            subscriptions,
            {"hub": hub, "subject": subject, "scope": scope, "target": target, "created_at": at},
        )


async def match_subscriptions(
    session: AsyncSession, hubs: Sequence[str], profile_ids: Sequence[uuid.UUID]
) -> list[StoredSubscription]:
    """Every subscription that could cover a match between these hubs and profiles (the
    domain decides which do)."""
    rows = await session.execute(
        select(*_SUBSCRIPTION).where(
            or_(
                and_(subscriptions.c.scope == "hub", among(session, subscriptions.c.target, hubs)),
                and_(subscriptions.c.scope == "sector", among(session, subscriptions.c.hub, hubs)),
                and_(
                    subscriptions.c.scope == "profile",
                    among(session, subscriptions.c.target, (str(p) for p in profile_ids)),
                ),
                subscriptions.c.scope == "network",
            )
        )
    )
    return _subscriptions(rows)


async def sector_subscriptions(session: AsyncSession) -> list[StoredSubscription]:
    rows = await session.execute(select(*_SUBSCRIPTION).where(subscriptions.c.scope == "sector"))
    return _subscriptions(rows)


# --------------------------------------------------------------------------- preferences


def _by_staff(rows: Iterable[Mapping[Any, Any]]) -> dict[StaffKey, Preferences]:
    return {(row["hub"], row["subject"]): preferences_of(row) for row in rows}


async def preferences_of_staff(session: AsyncSession, hub: str, subject: str) -> Preferences | None:
    rows = await session.execute(
        select(preferences).where(preferences.c.hub == hub, preferences.c.subject == subject)
    )
    row = rows.mappings().one_or_none()
    return None if row is None else preferences_of(row)


async def put_preferences(
    session: AsyncSession, hub: str, subject: str, values: dict[str, Any]
) -> None:
    """Insert or overwrite the member's preferences (an upsert: concurrent writes never
    collide on the primary key)."""
    statement = dialect_insert(session, preferences).values(hub=hub, subject=subject, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["hub", "subject"], set_=values)
    )


async def preferences_for(
    session: AsyncSession, staff: Sequence[StaffKey]
) -> dict[StaffKey, Preferences]:
    """The stored preferences of these staff members (those who never set any are left
    out: they take no email)."""
    if not staff:
        return {}
    rows = await session.execute(
        select(preferences).where(tuple_(preferences.c.hub, preferences.c.subject).in_(staff))
    )
    return _by_staff(rows.mappings())


async def preferences_in_hubs(
    session: AsyncSession, hubs: Sequence[str]
) -> dict[StaffKey, Preferences]:
    """The stored preferences of every known staff member of these hubs."""
    rows = await session.execute(select(preferences).where(preferences.c.hub.in_(hubs)))
    return _by_staff(rows.mappings())
