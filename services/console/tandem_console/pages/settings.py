"""Settings: what the person subscribes to, how they hear about it, and, for hub admins,
the hub's webhook and the log of what was sent (the dev stack's "sent mail")."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from tandem_console import forms, names, web
from tandem_console.backend import ApiError, Backend

router = APIRouter()


def subscriptions_payload(values: forms.FormValues, hub: str) -> dict[str, Any]:
    """The notifier's subscription list from the form's checkboxes."""
    items: list[dict[str, Any]] = []
    if forms.first(values, "hub") == "true":
        items.append({"scope": "hub", "hub": hub})
    items += [{"scope": "sector", "kind": kind} for kind in values.get("sectors", []) if kind]
    items += [{"scope": "profile", "profile_id": p} for p in values.get("profiles", []) if p]
    if forms.first(values, "network") == "true":
        items.append({"scope": "network"})
    return {"items": items}


def preferences_payload(values: forms.FormValues) -> dict[str, Any]:
    quiet_start, quiet_end = forms.first(values, "quiet_start"), forms.first(values, "quiet_end")
    cap = forms.first(values, "daily_cap")
    return {
        "channels": [c for c in values.get("channels", []) if c] or ["feed"],
        "delivery": forms.first(values, "delivery") or "immediate",
        "language": forms.first(values, "language") or "en",
        "daily_cap": int(cap) if cap.isdigit() else None,
        "quiet_hours": (
            {
                "start": quiet_start,
                "end": quiet_end,
                "timezone": forms.first(values, "quiet_timezone") or "UTC",
            }
            if quiet_start and quiet_end
            else None
        ),
        "email": forms.optional(values, "email"),
    }


async def _optional(call: Any) -> Any:
    """An admin-only read: None when the person's role may not see it."""
    try:
        return await call
    except ApiError as error:
        if error.status == 403:
            return None
        raise


@router.get("/settings")
async def settings_page(request: Request, api: web.Api) -> Response:
    return await _page(request, api)


async def _page(
    request: Request,
    api: Backend,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    subscriptions, preferences, webhook = await asyncio.gather(
        api.get("notifier", "/v1/subscriptions"),
        api.get("notifier", "/v1/preferences"),
        _optional(api.get("notifier", "/v1/webhooks")),
    )
    items = subscriptions["items"]
    profile_ids = [item["profile_id"] for item in items if item["scope"] == "profile"]
    known = await names.profiles(api, profile_ids)
    quiet = preferences.get("quiet_hours") or {}
    return await web.render(
        request,
        "settings.html",
        status=status,
        nav="settings",
        subscribed_hub=any(item["scope"] == "hub" for item in items),
        subscribed_network=any(item["scope"] == "network" for item in items),
        subscribed_sectors=[item["kind"] for item in items if item["scope"] == "sector"],
        subscribed_profiles=[(p, (known.get(p) or {}).get("name") or p) for p in profile_ids],
        preferences={**preferences, "quiet": quiet},
        webhook=webhook,
        errors=errors or {},
    )


@router.post("/settings/subscriptions")
async def save_subscriptions(request: Request, api: web.Api, lang: web.Lang) -> Response:
    person = web.current_person(request)
    values = forms.form_values(await request.form())
    try:
        await api.put(
            "notifier",
            "/v1/subscriptions",
            json=subscriptions_payload(values, person.hub if person else ""),
        )
    except ApiError as error:
        if error.status not in (403, 422):
            raise
        return await _page(
            request, api, errors={"subscriptions": {"form": error.message}}, status=error.status
        )
    web.flash(request, lang.gettext("Subscriptions saved."))
    return web.redirect("/settings")


@router.post("/settings/preferences")
async def save_preferences(request: Request, api: web.Api, lang: web.Lang) -> Response:
    values = forms.form_values(await request.form())
    try:
        await api.put("notifier", "/v1/preferences", json=preferences_payload(values))
    except ApiError as error:
        if error.status != 422:
            raise
        found = forms.field_errors(error.fields()) or {"form": error.message}
        return await _page(request, api, errors={"preferences": found}, status=422)
    web.flash(request, lang.gettext("Notification preferences saved."))
    return web.redirect("/settings")


@router.post("/settings/webhook")
async def save_webhook(
    request: Request,
    api: web.Api,
    lang: web.Lang,
    url: Annotated[str, Form(max_length=2000)] = "",
    secret: Annotated[str, Form(max_length=200)] = "",
    enabled: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    body = {"url": url.strip(), "secret": secret, "enabled": enabled == "true"}
    try:
        await api.put("notifier", "/v1/webhooks", json=body)
    except ApiError as error:
        if error.status != 422:
            raise
        return await _page(
            request, api, errors={"webhook": forms.field_errors(error.fields())}, status=422
        )
    web.flash(request, lang.gettext("Webhook saved."))
    return web.redirect("/settings")


@router.get("/settings/deliveries")
async def deliveries(
    request: Request,
    api: web.Api,
    channel: Annotated[str | None, Query(max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """What the notifier sent (emails, webhooks) with each one's status: hub admins."""
    listing = await api.get(
        "notifier",
        "/v1/deliveries",
        channel=channel if channel in ("email", "webhook") else None,
        page=page,
        per_page=50,
    )
    return await web.render(
        request,
        "deliveries.html",
        nav="settings",
        listing=listing,
        channel=channel or "",
        page=page,
    )
