"""Database access for the events service. Never commits: the edge owns the transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.events import EventQuery
from tandem_events.tables import (
    directory,
    events,
    matches,
    meeting_requests,
    meetings,
    registrations,
    suggestions,
)
from tandem_shared.db import upsert_if_newer

ACTIVE = ("registered", "checked_in")

# --------------------------------------------------------------------------- events


async def get_event(
    session: AsyncSession, event_id: uuid.UUID, *, for_update: bool = False
) -> RowMapping | None:
    query = select(events).where(events.c.id == event_id)
    if for_update:
        # Serialises registrations (capacity) and scheduling runs of one event.
        query = query.with_for_update()
    return (await session.execute(query)).mappings().first()


async def insert_event(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(events.insert().values(**values))


async def update_event(session: AsyncSession, event_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(update(events).where(events.c.id == event_id).values(**values))


async def touch_schedule(
    session: AsyncSession, event_id: uuid.UUID, *, repair: str | None = None
) -> None:
    """Record that what the scheduler reads for the event changed (the next revision); with
    `repair`, also that an existing schedule must be repaired (only if the event is active
    and has a schedule: an unscheduled event stays unscheduled)."""
    await session.execute(
        update(events)
        .where(events.c.id == event_id)
        .values(schedule_revision=events.c.schedule_revision + 1)
    )
    if repair is not None:
        await session.execute(
            update(events)
            .where(
                events.c.id == event_id,
                events.c.status == "active",
                events.c.scheduled_at.is_not(None),
            )
            .values(repair_pending=repair)
        )


async def pending_repairs(session: AsyncSession) -> list[uuid.UUID]:
    query = select(events.c.id).where(events.c.repair_pending.is_not(None)).order_by(events.c.id)
    return list((await session.execute(query)).scalars())


async def list_events(
    session: AsyncSession, filters: EventQuery
) -> tuple[Sequence[RowMapping], int]:
    conditions: list[ColumnElement[bool]] = []
    if filters.kind is not None:
        conditions.append(events.c.kind == filters.kind.value)
    if filters.hub is not None:
        conditions.append(events.c.hub == filters.hub)
    if filters.status is not None:
        conditions.append(events.c.status == filters.status)
    if filters.sector is not None:
        # A JSON array is stored as text on every backend (json, not jsonb, on PostgreSQL):
        # match the quoted element, which no other sector's name contains.
        conditions.append(
            cast(events.c.sectors, String).contains(
                json.dumps(filters.sector.value), autoescape=True
            )
        )
    if filters.starts_after is not None:
        conditions.append(events.c.starts_at >= filters.starts_after)
    if filters.starts_before is not None:
        conditions.append(events.c.starts_at < filters.starts_before)
    condition = and_(true(), *conditions)
    total = (
        await session.execute(select(func.count()).select_from(events).where(condition))
    ).scalar_one()
    query = (
        select(events)
        .where(condition)
        .order_by(events.c.starts_at, events.c.id)
        .offset((filters.page - 1) * filters.per_page)
        .limit(filters.per_page)
    )
    return (await session.execute(query)).mappings().all(), total


# --------------------------------------------------------------------------- profiles


async def get_directory_entry(session: AsyncSession, profile_id: uuid.UUID) -> RowMapping | None:
    query = select(directory).where(directory.c.id == profile_id)
    return (await session.execute(query)).mappings().first()


async def profile_names(
    session: AsyncSession, profile_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not profile_ids:
        return {}
    query = select(directory.c.id, directory.c.name).where(directory.c.id.in_(profile_ids))
    return {row.id: row.name for row in await session.execute(query)}


# --------------------------------------------------------------------------- registrations


async def get_registration(
    session: AsyncSession, event_id: uuid.UUID, registration_id: uuid.UUID
) -> RowMapping | None:
    query = select(registrations).where(
        registrations.c.id == registration_id, registrations.c.event_id == event_id
    )
    return (await session.execute(query)).mappings().first()


async def event_registrations(session: AsyncSession, event_id: uuid.UUID) -> Sequence[RowMapping]:
    query = (
        select(registrations)
        .where(registrations.c.event_id == event_id)
        .order_by(registrations.c.created_at, registrations.c.id)
    )
    return (await session.execute(query)).mappings().all()


async def insert_registration(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(registrations.insert().values(**values))


async def update_registration(
    session: AsyncSession, registration_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(
        update(registrations)
        .where(registrations.c.id == registration_id)
        .values(**values, version=registrations.c.version + 1)
    )


async def scrub_participant(session: AsyncSession, profile_id: uuid.UUID) -> list[uuid.UUID]:
    """Clear the personal data of every registration of `profile_id`; their ids."""
    ids = list(
        (
            await session.execute(
                select(registrations.c.id).where(registrations.c.profile_id == profile_id)
            )
        ).scalars()
    )
    if ids:
        await session.execute(
            update(registrations)
            .where(registrations.c.id.in_(ids))
            .values(participant_name=None, participant_email=None, participant_languages=[])
        )
        await session.execute(
            update(meeting_requests)
            .where(
                or_(
                    meeting_requests.c.from_registration.in_(ids),
                    meeting_requests.c.to_registration.in_(ids),
                )
            )
            .values(message=None, reason=None)
        )
    return ids


async def active_registrations_of_profiles(
    session: AsyncSession, profile_ids: Sequence[uuid.UUID]
) -> Sequence[RowMapping]:
    query = select(registrations).where(
        registrations.c.profile_id.in_(profile_ids), registrations.c.status.in_(ACTIVE)
    )
    return (await session.execute(query)).mappings().all()


# --------------------------------------------------------------------------- requests


async def get_request(
    session: AsyncSession, event_id: uuid.UUID, request_id: uuid.UUID
) -> RowMapping | None:
    query = select(meeting_requests).where(
        meeting_requests.c.id == request_id, meeting_requests.c.event_id == event_id
    )
    return (await session.execute(query)).mappings().first()


async def insert_request(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(meeting_requests.insert().values(**values))


async def update_request(
    session: AsyncSession, request_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(
        update(meeting_requests).where(meeting_requests.c.id == request_id).values(**values)
    )


async def event_requests(session: AsyncSession, event_id: uuid.UUID) -> Sequence[RowMapping]:
    query = (
        select(meeting_requests)
        .where(meeting_requests.c.event_id == event_id)
        .order_by(meeting_requests.c.created_at, meeting_requests.c.id)
    )
    return (await session.execute(query)).mappings().all()


# --------------------------------------------------------------------------- matches


async def get_match(session: AsyncSession, pair: str) -> RowMapping | None:
    query = select(matches).where(matches.c.pair_id == pair)
    return (await session.execute(query)).mappings().first()


async def matches_of_profile(session: AsyncSession, profile_id: uuid.UUID) -> Sequence[RowMapping]:
    query = select(matches).where(
        matches.c.active.is_(True),
        or_(matches.c.profile_a == profile_id, matches.c.profile_b == profile_id),
    )
    return (await session.execute(query)).mappings().all()


async def all_matches_of_profile(
    session: AsyncSession, profile_id: uuid.UUID
) -> Sequence[RowMapping]:
    query = select(matches).where(
        or_(matches.c.profile_a == profile_id, matches.c.profile_b == profile_id)
    )
    return (await session.execute(query)).mappings().all()


async def delete_matches_of_profile(session: AsyncSession, profile_id: uuid.UUID) -> None:
    await session.execute(
        delete(matches).where(
            or_(matches.c.profile_a == profile_id, matches.c.profile_b == profile_id)
        )
    )


async def upsert_suggestion(session: AsyncSession, values: dict[str, Any]) -> None:
    key = (suggestions.c.event_id == values["event_id"]) & (
        suggestions.c.pair_id == values["pair_id"]
    )
    await session.execute(delete(suggestions).where(key))
    await session.execute(suggestions.insert().values(**values))


async def events_suggesting(session: AsyncSession, pair: str) -> list[uuid.UUID]:
    query = select(suggestions.c.event_id).where(suggestions.c.pair_id == pair).distinct()
    return list((await session.execute(query)).scalars())


async def delete_suggestions(
    session: AsyncSession, *, pair: str | None = None, registration_id: uuid.UUID | None = None
) -> None:
    query = delete(suggestions)
    if pair is not None:
        query = query.where(suggestions.c.pair_id == pair)
    if registration_id is not None:
        query = query.where(
            or_(
                suggestions.c.registration_a == registration_id,
                suggestions.c.registration_b == registration_id,
            )
        )
    await session.execute(query)


async def event_suggestions(session: AsyncSession, event_id: uuid.UUID) -> Sequence[RowMapping]:
    query = (
        select(suggestions)
        .where(suggestions.c.event_id == event_id)
        .order_by(suggestions.c.pair_id)
    )
    return (await session.execute(query)).mappings().all()


# --------------------------------------------------------------------------- meetings


async def event_meetings(
    session: AsyncSession, event_id: uuid.UUID, *, status: str | None = None
) -> Sequence[RowMapping]:
    query = select(meetings).where(meetings.c.event_id == event_id)
    if status is not None:
        query = query.where(meetings.c.status == status)
    query = query.order_by(meetings.c.slot, meetings.c.table_label, meetings.c.key)
    return (await session.execute(query)).mappings().all()


async def get_meeting(
    session: AsyncSession, event_id: uuid.UUID, meeting_id: uuid.UUID
) -> RowMapping | None:
    query = select(meetings).where(meetings.c.id == meeting_id, meetings.c.event_id == event_id)
    return (await session.execute(query)).mappings().first()


async def insert_meeting(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(meetings.insert().values(**values))


async def update_meeting(
    session: AsyncSession, meeting_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(update(meetings).where(meetings.c.id == meeting_id).values(**values))


async def upsert_match(session: AsyncSession, pair: str, values: dict[str, Any]) -> bool:
    """Store the matcher's latest version of the pair; False for a stale message."""
    return await upsert_if_newer(session, matches, key={"pair_id": pair}, values=values)
