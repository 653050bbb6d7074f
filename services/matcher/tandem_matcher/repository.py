"""Database access for the matcher. Never commits: the edge owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher.tables import (
    events,
    feedback,
    learned_weights,
    matches,
    outcomes,
    profiles,
    registrations,
    relations,
)
from tandem_shared.contracts import ProfileData, RegistrationData
from tandem_shared.db import dialect_name, insert_ignoring_conflict, upsert_if_newer

# Statuses a profile's match list shows (declined and withdrawn pairs are history).
LISTED_STATUSES = ("suggested", "accepted", "partners")


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
        query = query.where(matches.c.status.in_(LISTED_STATUSES))
    return list((await session.execute(query.order_by(matches.c.score.desc()))).mappings().all())


async def get_match(session: AsyncSession, pair_id: str) -> RowMapping | None:
    return (
        (await session.execute(select(matches).where(matches.c.pair_id == pair_id)))
        .mappings()
        .first()
    )


async def insert_match(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(matches.insert().values(**values))


async def matches_by_pair(session: AsyncSession, pair_ids: Sequence[str]) -> dict[str, RowMapping]:
    """The stored matches among `pair_ids`, in one query."""
    if not pair_ids:
        return {}
    query = select(matches).where(matches.c.pair_id.in_(sorted(set(pair_ids))))
    return {row["pair_id"]: row for row in (await session.execute(query)).mappings().all()}


async def upsert_matches(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Write whole match rows (new or changed) in one statement: a rescore touches many
    pairs, and one round trip per pair was most of its cost."""
    if not rows:
        return
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    statement = dialect.insert(matches)
    statement = statement.on_conflict_do_update(
        index_elements=[matches.c.pair_id],
        set_={
            column.name: statement.excluded[column.name]
            for column in matches.columns
            if column.name != "pair_id"
        },
    )
    await session.execute(statement, list(rows))


async def update_match(session: AsyncSession, pair_id: str, values: dict[str, Any]) -> None:
    await session.execute(update(matches).where(matches.c.pair_id == pair_id).values(**values))


async def matches_with_status(session: AsyncSession, statuses: Sequence[str]) -> list[RowMapping]:
    query = select(matches).where(matches.c.status.in_(statuses))
    return list((await session.execute(query)).mappings().all())


async def profiles_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, RowMapping]:
    query = select(profiles.c.id, profiles.c.hub, profiles.c.sharing, profiles.c.name)
    rows = (await session.execute(query.where(profiles.c.id.in_(ids)))).mappings().all()
    return {row["id"]: row for row in rows}


async def forget_profile(session: AsyncSession, profile_id: uuid.UUID) -> None:
    """Erasure: the profile and everything the matcher knows about its pairs."""
    pair_mentions = f"%{profile_id}%"
    for table in (matches, relations):
        await session.execute(
            delete(table).where(
                or_(table.c.profile_a == profile_id, table.c.profile_b == profile_id)
            )
        )
    await session.execute(delete(feedback).where(feedback.c.pair_id.like(pair_mentions)))
    await session.execute(delete(outcomes).where(outcomes.c.pair_id.like(pair_mentions)))
    await session.execute(delete(registrations).where(registrations.c.profile_id == profile_id))
    await session.execute(delete(profiles).where(profiles.c.id == profile_id))


# ------------------------------------------------------------------ registrations


async def project_registration(
    session: AsyncSession, data: RegistrationData, *, active: bool, at: datetime
) -> bool:
    """Store the registration's latest state; False for a stale or repeated message. A
    withdrawal of the same version as the stored registration still wins (a producer
    may not bump the version when it withdraws)."""
    stored = (
        (await session.execute(select(registrations).where(registrations.c.id == data.id)))
        .mappings()
        .first()
    )
    values = {
        "event_id": data.event_id,
        "profile_id": data.profile_id,
        "version": data.version,
        "active": active,
        "updated_at": at,
    }
    if stored is None:
        await session.execute(registrations.insert().values(id=data.id, **values))
        return True
    newer = data.version > stored["version"]
    withdrawal = data.version == stored["version"] and stored["active"] and not active
    if not (newer or withdrawal):
        return False
    await session.execute(
        update(registrations).where(registrations.c.id == data.id).values(**values)
    )
    return True


async def active_registrations(session: AsyncSession) -> list[RowMapping]:
    query = select(registrations).where(registrations.c.active.is_(True))
    return list((await session.execute(query)).mappings().all())


async def registered(session: AsyncSession, event_id: uuid.UUID, profile_id: uuid.UUID) -> bool:
    """Whether the profile still has another active registration to the event."""
    query = select(registrations.c.id).where(
        registrations.c.event_id == event_id,
        registrations.c.profile_id == profile_id,
        registrations.c.active.is_(True),
    )
    return (await session.execute(query.limit(1))).first() is not None


# ------------------------------------------------------------------ events


async def project_event(
    session: AsyncSession,
    event_id: uuid.UUID,
    version: int,
    *,
    ends_at: datetime | None,
    cancelled: bool,
    at: datetime,
) -> bool:
    """Store the event's end and cancellation; False for a stale or repeated version. A
    cancellation keeps the stored end time."""
    values: dict[str, Any] = {"version": version, "cancelled": cancelled, "updated_at": at}
    if ends_at is not None:
        values["ends_at"] = ends_at
    return await upsert_if_newer(session, events, key={"id": event_id}, values=values)


async def all_events(session: AsyncSession) -> list[RowMapping]:
    return list((await session.execute(select(events))).mappings().all())


async def get_event(session: AsyncSession, event_id: uuid.UUID) -> RowMapping | None:
    query = select(events).where(events.c.id == event_id)
    return (await session.execute(query)).mappings().first()


# ------------------------------------------------------------------ relations, feedback


async def all_relations(session: AsyncSession) -> list[RowMapping]:
    return list((await session.execute(select(relations))).mappings().all())


async def set_relation(
    session: AsyncSession, pair: str, a: uuid.UUID, b: uuid.UUID, relation: str, at: datetime
) -> None:
    await session.execute(delete(relations).where(relations.c.pair_id == pair))
    await session.execute(
        relations.insert().values(
            pair_id=pair, profile_a=a, profile_b=b, relation=relation, updated_at=at
        )
    )


async def add_feedback(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(feedback.insert().values(**values))


async def claim_outcome(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Record a meeting's outcome once; False if that meeting's outcome was seen before."""
    return await insert_ignoring_conflict(session, outcomes, values)


async def learned(session: AsyncSession) -> dict[str, float]:
    rows = (await session.execute(select(learned_weights))).mappings().all()
    return {row["component"]: row["value"] for row in rows}


async def save_learned(session: AsyncSession, weights: dict[str, float], at: datetime) -> None:
    current = await learned(session)
    for component, value in weights.items():
        if component in current:
            await session.execute(
                update(learned_weights)
                .where(learned_weights.c.component == component)
                .values(value=value, updates=learned_weights.c.updates + 1, updated_at=at)
            )
        else:
            await session.execute(
                learned_weights.insert().values(
                    component=component, value=value, updates=1, updated_at=at
                )
            )
