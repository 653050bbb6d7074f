"""The notifier's HTTP API: the in-app feed, its live stream, and each staff member's
subscriptions and preferences."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, status
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel

from tandem_notifier import recipients, service, streams
from tandem_notifier.domain.preferences import Preferences, Subscriptions
from tandem_notifier.domain.stream import FeedCursor
from tandem_notifier.live import feed_signal
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.runtime import DbSession, RuntimeDep

router = APIRouter(prefix="/v1")


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    subject: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    withdrawn_at: datetime | None = None


class FeedOut(BaseModel):
    items: list[NotificationOut]
    total: int
    page: int
    per_page: int


@router.get("/notifications", response_model=FeedOut, tags=["feed"])
async def notifications(
    principal: CurrentPrincipal,
    session: DbSession,
    unread: Annotated[bool, Query(description="only unread ones")] = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    return await service.feed(session, principal, unread_only=unread, page=page, per_page=per_page)


async def _live_feed(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    last_event_id: Annotated[
        str | None, Header(description="resume after this notification id")
    ] = None,
) -> tuple[streams.LiveFeed, FeedCursor]:
    feed = streams.LiveFeed(
        runtime.sessionmaker, feed_signal(runtime), runtime.settings, principal.hub
    )
    try:
        return feed, await streams.open_cursor(feed, last_event_id)
    except streams.InvalidResume as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error


@router.get(
    "/notifications/stream",
    response_class=EventSourceResponse,
    tags=["feed"],
    responses={400: {"description": "Last-Event-ID names no notification in this hub's feed"}},
)
async def stream(
    live: Annotated[tuple[streams.LiveFeed, FeedCursor], Depends(_live_feed)],
) -> AsyncIterator[ServerSentEvent]:
    """The hub's new feed notifications, live; each event's id is the notification id."""
    async for row in streams.follow(*live):
        note = NotificationOut.model_validate(dict(row))
        yield ServerSentEvent(id=str(note.id), event="notification", data=note, retry=1000)


@router.post(
    "/notifications/{notification_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["feed"],
    responses={404: {"description": "no such notification for this hub"}},
)
async def mark_read(
    notification_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> None:
    if not await service.mark_read(session, principal, notification_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "notification not found")


@router.get("/subscriptions", response_model=Subscriptions, tags=["preferences"])
async def get_subscriptions(principal: CurrentPrincipal, session: DbSession) -> Subscriptions:
    return await recipients.subscriptions(session, principal)


@router.put(
    "/subscriptions",
    response_model=Subscriptions,
    tags=["preferences"],
    responses={
        403: {"description": "a hub other than yours, or the network without network_admin"},
        422: {"description": "invalid subscriptions or an unknown profile"},
    },
)
async def put_subscriptions(
    wanted: Subscriptions, principal: CurrentPrincipal, session: DbSession
) -> Subscriptions:
    """Replace all of the caller's subscriptions with `items`."""
    try:
        return await recipients.replace_subscriptions(session, principal, wanted)
    except recipients.Refused as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from error
    except recipients.Invalid as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error


@router.get("/preferences", response_model=Preferences, tags=["preferences"])
async def get_preferences(principal: CurrentPrincipal, session: DbSession) -> Preferences:
    return await recipients.preferences(session, principal)


@router.put("/preferences", response_model=Preferences, tags=["preferences"])
async def put_preferences(
    wanted: Preferences, principal: CurrentPrincipal, session: DbSession
) -> Preferences:
    """Replace the caller's preferences (fields left out take their defaults)."""
    return await recipients.replace_preferences(session, principal, wanted)
