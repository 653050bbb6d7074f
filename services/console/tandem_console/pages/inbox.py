"""The inbox: the hub's alerts, unread counts, mark read / mark all read, filters by kind,
and the live stream relayed from the notifier (the browser's EventSource cannot send the
bearer header, so the console opens the notifier's stream with the session's token)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response, StreamingResponse

from tandem_console import feed, sse, web
from tandem_console.backend import ApiError, Backend, SignedOut, Unavailable

router = APIRouter()
PER_PAGE = 20
# The notifier has no kind filter: a filtered view looks through this many latest alerts.
FILTER_WINDOW = 100


@router.get("/inbox")
async def inbox(
    request: Request,
    api: web.Api,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    unread: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    group = kind if kind in feed.GROUPS else None
    per_page = FILTER_WINDOW if group else PER_PAGE
    listing = await api.get(
        "notifier",
        "/v1/notifications",
        unread="true" if unread else None,
        page=1 if group else page,
        per_page=per_page,
    )
    unread_items = await api.get("notifier", "/v1/notifications", unread="true", per_page=100)
    items = feed.only_group(listing["items"], group)
    return await web.render(
        request,
        "inbox.html",
        nav="inbox",
        notes=[_note(item) for item in items],
        total=len(items) if group else listing["total"],
        page=page if not group else 1,
        pages=1 if group else max(1, -(-listing["total"] // PER_PAGE)),
        kind=group,
        unread_only=unread,
        unread_total=unread_items["total"],
        unread_groups=feed.unread_by_group(unread_items["items"]),
        groups=feed.GROUP_LABELS,
        rendered_at=datetime.now(UTC).isoformat(),
        filter_window=FILTER_WINDOW if group else None,
    )


def _note(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **item,
        "label": feed.KIND_LABELS.get(item["kind"], item["kind"]),
        "headline": feed.headline(item),
        "link": feed.link_of(item),
    }


@router.post("/inbox/{notification_id}/read")
async def mark_read(
    request: Request,
    api: web.Api,
    notification_id: uuid.UUID,
    next: Annotated[str, Form(max_length=2000)] = "/inbox",
) -> Response:
    await api.post("notifier", f"/v1/notifications/{notification_id}/read")
    if web.is_htmx(request):
        found = await _find(api, str(notification_id))
        if found is not None:
            html = web.render_fragment(request, "_notification.html", note=_note(found))
            return Response(html, media_type="text/html")
    return web.redirect(web.local_path(next))


async def _find(api: Backend, notification_id: str) -> dict[str, Any] | None:
    """The alert as the feed now shows it (it is among the latest: it was just on screen)."""
    listing = await api.get("notifier", "/v1/notifications", per_page=100)
    return next((item for item in listing["items"] if item["id"] == notification_id), None)


@router.post("/inbox/read-all")
async def mark_all_read(
    request: Request,
    api: web.Api,
    lang: web.Lang,
    before: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """Mark read what the person saw: alerts up to the moment the page was rendered."""
    moment = _instant(before)
    answer = await api.call(
        "notifier",
        "POST",
        "/v1/notifications:read-all",
        params={"before": moment.isoformat() if moment else None},
    )
    marked = answer.json()["marked"]
    web.flash(
        request, lang.ngettext("%(num)d alert marked read.", "%(num)d alerts marked read.", marked)
    )
    return web.redirect("/inbox")


def _instant(value: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/inbox/stream")
async def stream(request: Request, api: web.Api) -> Response:
    """The notifier's live feed as server-sent events whose data is the alert's row,
    rendered like the page's; Last-Event-ID is passed on so a reconnect misses nothing."""
    last_id = request.headers.get("last-event-id")
    headers = {"Last-Event-ID": last_id} if last_id else {}
    return StreamingResponse(
        _relay(request, api, headers),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _relay(request: Request, api: Backend, headers: dict[str, str]) -> AsyncIterator[str]:
    try:
        async with api.stream("notifier", "/v1/notifications/stream", headers) as upstream:
            parser = sse.Parser()
            yield ": connected\n\n"
            async for line in upstream.aiter_lines():
                event = parser.feed(line.rstrip("\r"))
                if event is None:
                    if line.startswith(":"):
                        yield ": keep-alive\n\n"
                    continue
                if event.event == "notification":
                    note = _note(json.loads(event.data))
                    html = web.render_fragment(request, "_notification.html", note=note)
                    yield sse.encode("notification", html, id=event.id)
    except SignedOut:
        yield sse.encode("signed-out", web.sign_in_url(request))
    except (ApiError, Unavailable):
        # The browser's EventSource reconnects by itself (retry: 3 s).
        yield "retry: 3000\n\n"
