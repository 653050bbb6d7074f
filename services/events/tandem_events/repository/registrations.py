"""Registrations, and the directory facts (hub, name, sharing) of the profiles behind them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.registrations import (
    HOLDS_PLACE,
    DirectoryEntry,
    Registration,
    Status,
)
from tandem_events.repository.common import maybe, record, records
from tandem_events.repository.revision import touch_schedule
from tandem_events.tables import directory, meeting_requests, registrations
from tandem_shared.contracts import Sharing


async def get_registration(
    session: AsyncSession, event_id: uuid.UUID, registration_id: uuid.UUID
) -> Registration | None:
    query = select(registrations).where(
        registrations.c.id == registration_id, registrations.c.event_id == event_id
    )
    return maybe(Registration, (await session.execute(query)).first())


async def event_registrations(session: AsyncSession, event_id: uuid.UUID) -> list[Registration]:
    """The event's registrations in the order they were made (the waitlist's order)."""
    query = (
        select(registrations)
        .where(registrations.c.event_id == event_id)
        .order_by(registrations.c.created_at, registrations.c.id)
    )
    return records(Registration, await session.execute(query))


async def insert_registration(session: AsyncSession, values: dict[str, Any]) -> Registration:
    """Store a new registration; one that holds a place is a new participant for the
    scheduler (a waitlisted one is not, yet)."""
    query = insert(registrations).values(**values).returning(registrations)
    registration = record(Registration, (await session.execute(query)).one())
    if registration.holds_place:
        await touch_schedule(session, [registration.event_id])
    return registration


async def set_status(
    session: AsyncSession, registration: Registration, status: Status, *, now: datetime
) -> Registration:
    """Move the registration to `status` as its next version. The scheduler's participants
    change when a registration that holds a place (or gets one) changes."""
    query = (
        update(registrations)
        .where(registrations.c.id == registration.id)
        .values(status=status, updated_at=now, version=registrations.c.version + 1)
        .returning(registrations)
    )
    changed = record(Registration, (await session.execute(query)).one())
    if registration.holds_place or changed.holds_place:
        await touch_schedule(session, [registration.event_id])
    return changed


async def set_registration_rules(
    session: AsyncSession, registration: Registration, values: dict[str, Any], *, now: datetime
) -> Registration:
    """Replace the registration's scheduling rules as its next version."""
    query = (
        update(registrations)
        .where(registrations.c.id == registration.id)
        .values(**values, updated_at=now, version=registrations.c.version + 1)
        .returning(registrations)
    )
    changed = record(Registration, (await session.execute(query)).one())
    await touch_schedule(session, [registration.event_id])
    return changed


async def scrub_participant(session: AsyncSession, profile_id: uuid.UUID) -> list[uuid.UUID]:
    """Clear the personal data of every registration of `profile_id` (and the messages of
    their requests); their ids. Nothing the scheduler reads changes."""
    query = (
        update(registrations)
        .where(registrations.c.profile_id == profile_id)
        .values(
            participant_name=None,
            participant_email=None,
            participant_languages=[],
            colleague_name=None,
            colleague_email=None,
        )
        .returning(registrations.c.id)
    )
    ids = list((await session.execute(query)).scalars())
    if ids:
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
) -> list[Registration]:
    """The registrations holding a place, at any event, of these profiles."""
    query = select(registrations).where(
        registrations.c.profile_id.in_(profile_ids), registrations.c.status.in_(sorted(HOLDS_PLACE))
    )
    return records(Registration, await session.execute(query))


async def directory_entry(session: AsyncSession, profile_id: uuid.UUID) -> DirectoryEntry | None:
    return (await directory_entries(session, [profile_id])).get(profile_id)


async def directory_entries(
    session: AsyncSession, profile_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, DirectoryEntry]:
    """The directory facts (hub, name, sharing) of those profiles it holds, by id."""
    if not profile_ids:
        return {}
    query = select(directory.c.id, directory.c.hub, directory.c.name, directory.c.sharing).where(
        directory.c.id.in_(profile_ids)
    )
    return {
        row.id: DirectoryEntry(id=row.id, hub=row.hub, name=row.name, sharing=Sharing(row.sharing))
        for row in await session.execute(query)
    }
