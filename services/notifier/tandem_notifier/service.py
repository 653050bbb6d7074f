"""Notifier use cases: turn matches into feed notifications for the hubs concerned."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository
from tandem_notifier.domain.messages import Rendered, render_match, render_withdrawal
from tandem_notifier.live import FeedSignal, notify_after_commit
from tandem_shared.auth import Principal
from tandem_shared.contracts import MatchSuggested, MatchUpdated, MatchWithdrawn

FEED = "feed"
UNKNOWN = "an organisation"


async def _names(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> tuple[str, str]:
    names = await repository.profile_names(session, [a, b])
    return names.get(a, UNKNOWN), names.get(b, UNKNOWN)


async def _notify(
    session: AsyncSession,
    hub: str,
    message: MatchSuggested | MatchUpdated | MatchWithdrawn,
    rendered: Rendered,
    now: datetime,
) -> bool:
    """Add one feed notification for `hub`; False if this message already notified it."""
    return await repository.insert_notification(
        session,
        {
            "id": uuid.uuid4(),
            "hub": hub,
            "channel": FEED,
            "kind": message.type,
            "subject": message.data.pair_id,
            "title": rendered.title,
            "body": rendered.body,
            "data": message.data.model_dump(mode="json"),
            "source_message_id": str(message.id),
            "created_at": now,
            "read_at": None,
            "withdrawn_at": None,
        },
    )


async def on_match(
    session: AsyncSession, message: MatchSuggested | MatchUpdated, signal: FeedSignal
) -> None:
    match = message.data
    name_a, name_b = await _names(session, match.profile_a, match.profile_b)
    rendered = render_match(match, name_a, name_b, updated=isinstance(message, MatchUpdated))
    now = datetime.now(UTC)
    inserted = False
    for hub in sorted({match.hub_a, match.hub_b}):
        inserted |= await _notify(session, hub, message, rendered, now)
    if inserted:
        notify_after_commit(session, signal)


async def on_withdrawn(session: AsyncSession, message: MatchWithdrawn, signal: FeedSignal) -> None:
    """Mark the pair's alerts withdrawn and tell each hub that had one (only those: a
    withdrawal of a match a hub never heard of would be noise)."""
    withdrawal = message.data
    name_a, name_b = await _names(session, withdrawal.profile_a, withdrawal.profile_b)
    rendered = render_withdrawal(withdrawal, name_a, name_b)
    now = datetime.now(UTC)
    inserted = False
    for hub in sorted({withdrawal.hub_a, withdrawal.hub_b}):
        if await repository.withdraw_pair(session, hub, withdrawal.pair_id, now):
            inserted |= await _notify(session, hub, message, rendered, now)
    if inserted:
        notify_after_commit(session, signal)


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
