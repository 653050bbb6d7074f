"""What a hub's admins manage: the delivery log and the hub's webhook."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository, webhooks
from tandem_notifier.domain.policy import Channel, Status
from tandem_notifier.repository.deliveries import Webhook
from tandem_notifier.settings import NotifierSettings
from tandem_shared.auth import Principal, Role
from tandem_shared.errors import Forbidden


def _admin_hub(principal: Principal) -> str | None:
    """The hub whose deliveries the caller may see (None: all of them)."""
    if principal.role is Role.NETWORK_ADMIN:
        return None
    if principal.role is Role.HUB_ADMIN:
        return principal.hub
    raise Forbidden("only a hub_admin (own hub) or network_admin may read deliveries")


async def delivery_log(
    session: AsyncSession,
    principal: Principal,
    *,
    status: Status | None,
    channel: Channel | None,
    page: int,
    per_page: int,
) -> dict[str, Any]:
    found, total = await repository.deliveries.page(
        session,
        hub=_admin_hub(principal),
        status=status,
        channel=channel,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return {"items": found, "total": total, "page": page, "per_page": per_page}


def _require_hub_admin(principal: Principal) -> None:
    if principal.role not in (Role.HUB_ADMIN, Role.NETWORK_ADMIN):
        raise Forbidden("only a hub_admin may manage the hub's webhook")


async def webhook(session: AsyncSession, principal: Principal) -> Webhook | None:
    _require_hub_admin(principal)
    return await repository.deliveries.webhook_of(session, principal.hub)


async def put_webhook(
    session: AsyncSession,
    principal: Principal,
    *,
    url: str,
    secret: str,
    enabled: bool,
    settings: NotifierSettings,
) -> Webhook:
    """Save the hub's webhook after the SSRF guard (raises webhooks.UnsafeTarget)."""
    _require_hub_admin(principal)
    if enabled:
        await webhooks.check_target(url, settings)
    else:
        webhooks.check_url_shape(url, settings)
    values = {"url": url, "secret": secret, "enabled": enabled, "updated_at": datetime.now(UTC)}
    return await repository.deliveries.put_webhook(session, principal.hub, values)
