"""Webhooks: each hub's endpoint, its SSRF guard and the signed POST.

The guard resolves the target's host and refuses private, loopback, link-local,
multicast, reserved and unspecified addresses (unless the settings allow them); it runs
when the webhook is saved and again before every send, since DNS may change in between.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from tandem_notifier.domain.signing import headers
from tandem_notifier.settings import NotifierSettings


class UnsafeTarget(ValueError):
    """A webhook URL the notifier refuses to call."""


def _refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_url_shape(url: str, settings: NotifierSettings) -> tuple[str, int]:
    """The (host, port) of a well-formed webhook URL, or UnsafeTarget."""
    parts = urlsplit(url)
    allowed = {"https", "http"} if settings.webhook_allow_http else {"https"}
    if parts.scheme not in allowed:
        raise UnsafeTarget(f"the URL must use {' or '.join(sorted(allowed))}")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeTarget("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeTarget("the URL's port is invalid") from error
    return parts.hostname, port


async def check_target(url: str, settings: NotifierSettings) -> None:
    """Refuse `url` unless every address its host resolves to is public (or allowed)."""
    host, port = check_url_shape(url, settings)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise UnsafeTarget(f"the host {host!r} does not resolve") from error
    if settings.webhook_allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if _refused_address(address):
            raise UnsafeTarget(
                f"the host {host!r} resolves to a private, loopback, link-local or multicast "
                f"address ({address}); webhooks must reach a public address"
            )


def body_of(delivery: Mapping[Any, Any]) -> bytes:
    document = {
        "id": str(delivery["id"]),
        "type": delivery["kind"],
        "hub": delivery["hub"],
        "message_id": delivery["source_message_id"],
        "created_at": delivery["created_at"].isoformat(),
        "data": delivery["payload"],
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class WebhookGone(Exception):
    """The hub removed or disabled its webhook since the delivery was queued."""


async def post(
    webhook: Mapping[Any, Any] | None,
    delivery: Mapping[Any, Any],
    settings: NotifierSettings,
) -> None:
    """POST the signed delivery; raises on refusal, transport errors and non-2xx."""
    if webhook is None or not webhook["enabled"]:
        raise WebhookGone("the hub's webhook is disabled or gone")
    url: str = webhook["url"]
    await check_target(url, settings)
    body = body_of(delivery)
    signed = headers(webhook["secret"], int(time.time()), body, str(delivery["id"]))
    async with httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False
    ) as client:
        response = await client.post(url, content=body, headers=signed)
    if not response.is_success:
        raise httpx.HTTPStatusError(
            f"the webhook answered {response.status_code}",
            request=response.request,
            response=response,
        )
