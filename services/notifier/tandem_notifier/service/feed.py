"""The hub's feed as one staff member reads it: pages, and their own read marks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository
from tandem_shared.auth import Principal
from tandem_shared.errors import NotFound


async def feed_page(
    session: AsyncSession, principal: Principal, *, unread_only: bool, page: int, per_page: int
) -> dict[str, Any]:
    """A page of the caller's hub feed with the caller's own read marks."""
    entries, total = await repository.feed.page(
        session,
        principal.hub,
        principal.subject,
        unread_only=unread_only,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return {"items": entries, "total": total, "page": page, "per_page": per_page}


async def mark_read(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> None:
    """Mark one notification read for the caller only; NotFound if their hub's feed has
    none with that id."""
    if not await repository.feed.mark_read(
        session, principal.hub, principal.subject, notification_id, datetime.now(UTC)
    ):
        raise NotFound("notification not found")


async def mark_all_read(
    session: AsyncSession, principal: Principal, *, before: datetime | None
) -> int:
    """Mark the caller's hub feed read for the caller (up to `before`); how many were new."""
    return await repository.feed.mark_all_read(
        session, principal.hub, principal.subject, datetime.now(UTC), before=before
    )
