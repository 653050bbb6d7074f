"""Webhooks: each hub's endpoint, its SSRF guard and the signed POST.

The guard resolves the target's host and refuses private, loopback, link-local,
multicast, reserved and unspecified addresses (unless the settings allow them); it runs
when the webhook is saved and again before every send, since DNS may change in between.
A send then connects to an address that guard checked, never resolving the host again
(`domain/targets.py`): a DNS answer that changes between the check and the connection
(rebinding) cannot steer the POST to an internal address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httpx

from tandem_notifier.domain.signing import headers
from tandem_notifier.domain.targets import IPAddress, addresses_of, pin, refused_address
from tandem_notifier.repository.deliveries import Delivery, Webhook
from tandem_notifier.settings import NotifierSettings
from tandem_shared.errors import Invalid

# (host, port) -> the addresses it resolves to, as strings.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

# Addresses tried per send when the first ones refuse the connection. Each may take the
# whole connect timeout, and the worker waits for its batch: a name answering many dead
# addresses must not hold it for minutes.
MAX_ADDRESSES = 3


class UnsafeTarget(Invalid):
    """A webhook URL the notifier refuses to call: 422 on `url` when a hub saves it, and a
    permanent failure when a queued delivery meets it."""

    def __init__(self, reason: str) -> None:
        super().__init__("url", reason)

    def detail(self) -> object:
        # Told apart from a malformed body: the URL parses, but is not one we call.
        problems = cast(list[dict[str, object]], super().detail())
        return [{**problem, "type": "unsafe_target"} for problem in problems]


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


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Target:
    """A webhook URL and every address its host resolved to, all of them checked."""

    url: str
    addresses: tuple[IPAddress, ...]


async def resolve_target(
    url: str, settings: NotifierSettings, resolve: Resolver = system_resolver
) -> Target:
    """Resolve `url`'s host once and refuse it unless every address is public (or
    allowed); raises UnsafeTarget."""
    host, port = check_url_shape(url, settings)
    try:
        addresses = addresses_of(await resolve(host, port))
    except (OSError, UnicodeError, ValueError) as error:
        raise UnsafeTarget(f"the host {host!r} does not resolve") from error
    if not addresses:
        raise UnsafeTarget(f"the host {host!r} does not resolve")
    if not settings.webhook_allow_private:
        for address in addresses:
            if refused_address(address):
                raise UnsafeTarget(
                    f"the host {host!r} resolves to a private, loopback, link-local or "
                    f"multicast address ({address}); webhooks must reach a public address"
                )
    return Target(url, addresses)


async def check_target(
    url: str, settings: NotifierSettings, resolve: Resolver = system_resolver
) -> None:
    """Refuse `url` unless every address its host resolves to is public (or allowed)."""
    await resolve_target(url, settings, resolve)


async def _post_to(
    client: httpx.AsyncClient,
    url: str,
    address: IPAddress,
    content: bytes,
    headers: Mapping[str, str],
) -> httpx.Response:
    pinned = pin(url, address)
    return await client.post(
        pinned.url,
        content=content,
        headers={**headers, "Host": pinned.host_header},
        # httpcore uses this name for SNI and to verify the certificate, not the address.
        extensions={"sni_hostname": pinned.sni_hostname},
    )


async def send_pinned(
    client: httpx.AsyncClient, target: Target, *, content: bytes, headers: Mapping[str, str]
) -> httpx.Response:
    """POST to the target's checked addresses in turn until one connects. Nothing reached
    an address that refused the connection, so trying the next one cannot send twice.
    `client` must serve this target only: its pool keys connections by address, so a
    connection opened for another host name at the same address would be reused."""
    *fallbacks, last = target.addresses[:MAX_ADDRESSES]
    for address in fallbacks:
        with contextlib.suppress(httpx.ConnectError, httpx.ConnectTimeout):
            return await _post_to(client, target.url, address, content, headers)
    return await _post_to(client, target.url, last, content, headers)


def body_of(delivery: Delivery) -> bytes:
    document = {
        "id": str(delivery.id),
        "type": delivery.kind,
        "hub": delivery.hub,
        "message_id": delivery.source_message_id,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class WebhookGone(Exception):
    """The hub removed or disabled its webhook since the delivery was queued."""


async def post(
    webhook: Webhook | None,
    delivery: Delivery,
    settings: NotifierSettings,
    resolve: Resolver = system_resolver,
) -> None:
    """POST the signed delivery to an address checked just before; raises on refusal,
    transport errors and non-2xx."""
    if webhook is None or not webhook.enabled:
        raise WebhookGone("the hub's webhook is disabled or gone")
    target = await resolve_target(webhook.url, settings, resolve)
    body = body_of(delivery)
    signed = headers(webhook.secret, int(time.time()), body, str(delivery.id))
    # trust_env=False: through an environment proxy the proxy would resolve the host (and
    # an https tunnel would check the certificate against the address): no pin.
    async with httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False, trust_env=False
    ) as client:
        response = await send_pinned(client, target, content=body, headers=signed)
    if not response.is_success:
        raise httpx.HTTPStatusError(
            f"the webhook answered {response.status_code}",
            request=response.request,
            response=response,
        )
