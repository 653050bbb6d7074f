"""One-click unsubscribe: a signed link from one of a staff member's emails names (hub,
subject) itself, and can only stop their email."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository
from tandem_notifier.domain import unsubscribe as links
from tandem_notifier.domain.preferences import Preferences, email_address, without_channel
from tandem_notifier.service.preferences import save_preferences, stored_preferences


class BadLink(Exception):
    """An unsubscribe link this notifier did not sign (400 page; nothing is changed)."""


@dataclass(frozen=True)
class EmailStatus:
    """What an unsubscribe page says: in whose language, to whom, and whether email still
    goes to them."""

    language: str
    address: str
    receiving: bool


def _link(secret: str, token: str) -> links.Unsubscribe:
    try:
        return links.verify(secret, token)
    except links.InvalidToken as error:
        raise BadLink(str(error)) from error


def _status(request: links.Unsubscribe, wanted: Preferences) -> EmailStatus:
    address = email_address(wanted, request.subject) or request.subject
    return EmailStatus(wanted.language, address, request.channel in wanted.channels)


async def email_status(session: AsyncSession, secret: str, token: str) -> EmailStatus:
    """Where a link's owner stands; reads only (link scanners fetch every URL in a mail)."""
    request = _link(secret, token)
    return _status(request, await stored_preferences(session, request.hub, request.subject))


async def unsubscribe(session: AsyncSession, secret: str, token: str) -> EmailStatus:
    """Stop the link's channel for its owner (idempotent) and suppress their alerts and
    digests not sent yet: after a one-click unsubscribe nothing more may arrive."""
    request = _link(secret, token)
    current = await stored_preferences(session, request.hub, request.subject)
    if request.channel in current.channels:
        current = without_channel(current, request.channel)
        await save_preferences(session, request.hub, request.subject, current)
    await repository.deliveries.suppress_queued_alerts(
        session, request.hub, request.subject, "unsubscribed from email"
    )
    return _status(request, current)
