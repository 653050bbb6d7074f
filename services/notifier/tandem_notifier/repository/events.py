"""The events seen on the hub's events topic, each in its latest version."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier.tables import events
from tandem_shared.db import upsert_if_newer


async def event_of(session: AsyncSession, event_id: uuid.UUID) -> dict[str, Any] | None:
    """The stored EventData (JSON) of the event, if any was seen."""
    data = await session.execute(select(events.c.data).where(events.c.id == event_id))
    stored: dict[str, Any] | None = data.scalar_one_or_none()
    return stored


async def project_event(
    session: AsyncSession,
    event_id: uuid.UUID,
    version: int,
    at: datetime,
    *,
    data: dict[str, Any] | None = None,
    cancelled: bool = False,
) -> bool:
    """Store a newer version of the event (a cancellation keeps the data it had); False
    for a stale or repeated version."""
    values: dict[str, Any] = {"version": version, "cancelled": cancelled, "updated_at": at}
    if data is not None:
        values["data"] = data
    return await upsert_if_newer(session, events, key={"id": event_id}, values=values)
