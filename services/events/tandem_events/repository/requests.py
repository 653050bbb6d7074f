"""Meeting requests between participants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.requests import MeetingRequest, RequestStatus
from tandem_events.repository.common import maybe, record, records
from tandem_events.repository.revision import touch_schedule
from tandem_events.tables import meeting_requests


async def get_request(
    session: AsyncSession, event_id: uuid.UUID, request_id: uuid.UUID
) -> MeetingRequest | None:
    query = select(meeting_requests).where(
        meeting_requests.c.id == request_id, meeting_requests.c.event_id == event_id
    )
    return maybe(MeetingRequest, (await session.execute(query)).first())


async def insert_request(session: AsyncSession, values: dict[str, Any]) -> MeetingRequest:
    """Store a new (pending) request: the scheduler reads only answered ones."""
    query = insert(meeting_requests).values(**values).returning(meeting_requests)
    return record(MeetingRequest, (await session.execute(query)).one())


async def answer_request(
    session: AsyncSession,
    request: MeetingRequest,
    status: RequestStatus,
    reason: str | None,
    *,
    now: datetime,
) -> MeetingRequest:
    """Record the answer. An acceptance is a meeting to schedule, and a decline matters
    too: the pair's suggestion no longer counts."""
    query = (
        update(meeting_requests)
        .where(meeting_requests.c.id == request.id)
        .values(status=status, reason=reason, updated_at=now)
        .returning(meeting_requests)
    )
    answered = record(MeetingRequest, (await session.execute(query)).one())
    await touch_schedule(session, [request.event_id])
    return answered


async def event_requests(session: AsyncSession, event_id: uuid.UUID) -> list[MeetingRequest]:
    query = (
        select(meeting_requests)
        .where(meeting_requests.c.event_id == event_id)
        .order_by(meeting_requests.c.created_at, meeting_requests.c.id)
    )
    return records(MeetingRequest, await session.execute(query))


async def set_request_rules(
    session: AsyncSession, request: MeetingRequest, values: dict[str, Any], *, now: datetime
) -> MeetingRequest:
    """Replace the request's scheduling rules: the scheduler reads them."""
    query = (
        update(meeting_requests)
        .where(meeting_requests.c.id == request.id)
        .values(**values, updated_at=now)
        .returning(meeting_requests)
    )
    changed = record(MeetingRequest, (await session.execute(query)).one())
    await touch_schedule(session, [request.event_id])
    return changed
