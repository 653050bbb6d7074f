"""Notifier use cases: turn matches into feed notifications for the hubs concerned."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from tandem_shared.auth import Principal
from tandem_shared.contracts import MatchSuggested, MatchUpdated

from tandem_notifier import repository
from tandem_notifier.domain.messages import render_match

FEED = "feed"


async def on_match(session: AsyncSession, message: MatchSuggested | MatchUpdated) -> None:
    match = message.data
    names = await repository.profile_names(session, [match.profile_a, match.profile_b])
    rendered = render_match(
        match,
        names.get(match.profile_a, "an organisation"),
        names.get(match.profile_b, "an organisation"),
        updated=isinstance(message, MatchUpdated),
    )
    now = datetime.now(UTC)
    for hub in sorted({match.hub_a, match.hub_b}):
        await repository.insert_notification(
            session,
            {
                "id": uuid.uuid4(),
                "hub": hub,
                "channel": FEED,
                "kind": message.type,
                "subject": match.pair_id,
                "title": rendered.title,
                "body": rendered.body,
                "data": match.model_dump(mode="json"),
                "source_message_id": str(message.id),
                "created_at": now,
                "read_at": None,
            },
        )


async def feed(
    session: AsyncSession, principal: Principal, *, unread_only: bool, page: int, per_page: int
) -> dict[str, Any]:
    rows, total = await repository.feed(
        session,
        principal.hub,
        unread_only=unread_only,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return {"items": rows, "total": total, "page": page, "per_page": per_page}


async def mark_read(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> bool:
    return await repository.mark_read(session, principal.hub, notification_id, datetime.now(UTC))
