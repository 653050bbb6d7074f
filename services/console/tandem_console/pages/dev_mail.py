"""Sent mail (dev): the emails the dev stack's mail catcher kept, so that what the notifier
sends can be seen without a mail server. Only when `dev_mail_url` is set (`make run`)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from tandem_console import web

router = APIRouter()


async def _kept_mail(request: Request, url: str) -> list[dict[str, Any]] | None:
    """The catcher's emails, newest first; None when it does not answer."""
    try:
        response = await web.state(request).http.get(url, timeout=5)
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return items


@router.get("/dev/mail")
async def sent_mail(request: Request, api: web.Api) -> Response:
    url = web.state(request).settings.dev_mail_url
    if url is None:
        raise HTTPException(404)
    messages = await _kept_mail(request, url)
    return await web.render(request, "dev_mail.html", nav="dev-mail", messages=messages, source=url)
