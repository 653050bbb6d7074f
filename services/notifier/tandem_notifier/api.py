"""The notifier's HTTP API: the in-app feed, its live stream, each staff member's
subscriptions and preferences, one-click unsubscribe, the hub's webhook and the delivery
log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, status
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import AwareDatetime, BaseModel, Field

from tandem_notifier import pages, service, streams
from tandem_notifier.domain.policy import Channel, Status
from tandem_notifier.domain.preferences import Preferences, Subscriptions
from tandem_notifier.domain.stream import FeedCursor
from tandem_notifier.live import feed_signal
from tandem_notifier.repository.deliveries import Webhook
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
    read_at: datetime | None = Field(description="when the caller read it (null: unread)")
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
    unread: Annotated[bool, Query(description="only those the caller has not read")] = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The caller's hub feed, newest first. The feed is shared by the hub's staff; read
    marks are each staff member's own."""
    return await service.feed.feed_page(
        session, principal, unread_only=unread, page=page, per_page=per_page
    )


async def _live_feed(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    last_event_id: Annotated[
        str | None, Header(description="resume after this notification id")
    ] = None,
) -> tuple[streams.LiveFeed, FeedCursor]:
    feed = streams.LiveFeed(
        runtime.sessionmaker,
        feed_signal(runtime),
        runtime.settings,
        principal.hub,
        principal.subject,
    )
    return feed, await streams.open_cursor(feed, last_event_id)


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
    async for entry in streams.follow(*live):
        note = NotificationOut.model_validate(entry, from_attributes=True)
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
    """Mark the notification read for the caller only (again: keeps the first time)."""
    await service.feed.mark_read(session, principal, notification_id)


class MarkedOut(BaseModel):
    marked: int = Field(description="notifications newly marked read (already read: not counted)")


@router.post("/notifications:read-all", response_model=MarkedOut, tags=["feed"])
async def mark_all_read(
    principal: CurrentPrincipal,
    session: DbSession,
    before: Annotated[
        AwareDatetime | None,
        Query(description="only those created at or before this instant (with its offset)"),
    ] = None,
) -> MarkedOut:
    """Mark every notification of the caller's hub feed read for the caller."""
    return MarkedOut(marked=await service.feed.mark_all_read(session, principal, before=before))


@router.get("/subscriptions", response_model=Subscriptions, tags=["preferences"])
async def get_subscriptions(principal: CurrentPrincipal, session: DbSession) -> Subscriptions:
    return await service.preferences.current_subscriptions(session, principal)


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
    return await service.preferences.replace_subscriptions(session, principal, wanted)


@router.get("/preferences", response_model=Preferences, tags=["preferences"])
async def get_preferences(principal: CurrentPrincipal, session: DbSession) -> Preferences:
    return await service.preferences.current_preferences(session, principal)


@router.put("/preferences", response_model=Preferences, tags=["preferences"])
async def put_preferences(
    wanted: Preferences, principal: CurrentPrincipal, session: DbSession
) -> Preferences:
    """Replace the caller's preferences (fields left out take their defaults). The email
    channel goes to `email`, else to the token's subject when that is an address."""
    return await service.preferences.replace_preferences(session, principal, wanted)


UnsubscribeToken = Annotated[
    str, Query(max_length=2000, description="the signed token of an email's unsubscribe link")
]
_UNSUBSCRIBE_ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "a link this notifier did not sign (forged, altered, or from a "
        "rotated secret); nothing is changed",
        "content": {"text/html": {}},
    },
}


def _unsubscribe_secret(runtime: RuntimeDep) -> str:
    secret: str = runtime.settings.unsubscribe_secret.get_secret_value()
    return secret


UnsubscribeSecret = Annotated[str, Depends(_unsubscribe_secret)]


@router.get(
    "/unsubscribe",
    response_class=HTMLResponse,
    tags=["preferences"],
    responses=_UNSUBSCRIBE_ANSWERS,
)
async def unsubscribe_page(
    session: DbSession, secret: UnsubscribeSecret, token: UnsubscribeToken = ""
) -> HTMLResponse:
    """The page an email's unsubscribe link opens: it asks, and its button POSTs. A GET
    changes nothing, because link scanners and previews fetch every URL in a mail."""
    try:
        found = await service.unsubscribe.email_status(session, secret, token)
    except service.unsubscribe.BadLink:
        return HTMLResponse(pages.bad_link(), status.HTTP_400_BAD_REQUEST)
    return HTMLResponse(pages.unsubscribe_confirm(found, token))


@router.post(
    "/unsubscribe",
    response_class=HTMLResponse,
    tags=["preferences"],
    responses=_UNSUBSCRIBE_ANSWERS,
)
async def unsubscribe(
    session: DbSession, secret: UnsubscribeSecret, token: UnsubscribeToken = ""
) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe: mailbox providers POST `List-Unsubscribe=One-Click`
    here (the body is not needed: the token says who and what). Removes `email` from the
    link owner's channels and suppresses their queued alerts; repeating it changes nothing."""
    try:
        done = await service.unsubscribe.unsubscribe(session, secret, token)
    except service.unsubscribe.BadLink:
        return HTMLResponse(pages.bad_link(), status.HTTP_400_BAD_REQUEST)
    return HTMLResponse(pages.unsubscribe_done(done))


class DeliveryOut(BaseModel):
    id: uuid.UUID
    source_message_id: str
    hub: str
    recipient: str
    channel: str
    kind: str
    subject: str
    transactional: bool
    address: str | None
    language: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    digest_id: uuid.UUID | None
    created_at: datetime
    sent_at: datetime | None


class DeliveriesOut(BaseModel):
    items: list[DeliveryOut]
    total: int
    page: int
    per_page: int


DeliveryStatus = Literal["pending", "sent", "failed", "suppressed", "digested"]


@router.get(
    "/deliveries",
    response_model=DeliveriesOut,
    tags=["deliveries"],
    responses={403: {"description": "only hub_admin (own hub) and network_admin (all)"}},
)
async def deliveries(
    principal: CurrentPrincipal,
    session: DbSession,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    channel: Annotated[Literal["email", "webhook"] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The delivery log, newest first: every email and webhook with its status."""
    return await service.admin.delivery_log(
        session,
        principal,
        status=None if status_ is None else Status(status_),
        channel=None if channel is None else Channel(channel),
        page=page,
        per_page=per_page,
    )


class WebhookIn(BaseModel):
    url: Annotated[str, Field(min_length=8, max_length=2000)]
    secret: Annotated[str, Field(min_length=16, max_length=200)]
    enabled: bool = True


class WebhookOut(BaseModel):
    url: str | None
    enabled: bool
    secret_set: bool = Field(description="the secret itself is never returned")
    updated_at: datetime | None


def _webhook_out(webhook: Webhook | None) -> WebhookOut:
    if webhook is None:
        return WebhookOut(url=None, enabled=False, secret_set=False, updated_at=None)
    return WebhookOut(
        url=webhook.url, enabled=webhook.enabled, secret_set=True, updated_at=webhook.updated_at
    )


@router.get(
    "/webhooks",
    response_model=WebhookOut,
    tags=["webhooks"],
    responses={403: {"description": "only a hub_admin"}},
)
async def get_webhook(principal: CurrentPrincipal, session: DbSession) -> WebhookOut:
    return _webhook_out(await service.admin.webhook(session, principal))


@router.put(
    "/webhooks",
    response_model=WebhookOut,
    tags=["webhooks"],
    responses={
        403: {"description": "only a hub_admin"},
        422: {"description": "a malformed URL or one resolving to a private address"},
    },
)
async def put_webhook(
    wanted: WebhookIn, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> WebhookOut:
    """Set the hub's webhook. Deliveries are POSTed as JSON, signed with
    `X-Tandem-Signature: sha256=<HMAC-SHA256 of "<X-Tandem-Timestamp>.<body>">`."""
    saved = await service.admin.put_webhook(
        session,
        principal,
        url=wanted.url,
        secret=wanted.secret,
        enabled=wanted.enabled,
        settings=runtime.settings,
    )
    return _webhook_out(saved)
