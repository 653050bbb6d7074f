"""Use cases for a staff member's own subscriptions and preferences.

A staff member is identified by the (hub, subject) of their token and only ever reads and
writes their own settings. The one exception is a signed unsubscribe link from one of their
emails: it names (hub, subject) itself and can only stop their email."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository
from tandem_notifier.domain import unsubscribe as links
from tandem_notifier.domain.preferences import (
    HubSubscription,
    NetworkSubscription,
    Preferences,
    ProfileSubscription,
    SubscriptionItem,
    Subscriptions,
    email_address,
    item_of,
    preferences_of,
    preferences_values,
    target_of,
    without_channel,
)
from tandem_shared.auth import Principal, Role


class Refused(Exception):
    """A subscription the caller may not hold (403)."""


class Invalid(Exception):
    """A subscription naming something unknown (422)."""


class BadLink(Exception):
    """An unsubscribe link this notifier did not sign (400; nothing is changed)."""


async def subscriptions(session: AsyncSession, principal: Principal) -> Subscriptions:
    rows = await repository.subscriptions_of(session, principal.hub, principal.subject)
    return Subscriptions(items=[item_of(row["scope"], row["target"]) for row in rows])


def _check_scope(principal: Principal, item: SubscriptionItem) -> None:
    if principal.role is Role.NETWORK_ADMIN:
        return
    if isinstance(item, NetworkSubscription):
        raise Refused("only a network_admin may subscribe to the whole network")
    if isinstance(item, HubSubscription) and item.hub != principal.hub:
        raise Refused(f"you may subscribe to your own hub ({principal.hub}) only")


async def _check_profiles(
    session: AsyncSession, principal: Principal, items: list[SubscriptionItem]
) -> None:
    wanted = [item.profile_id for item in items if isinstance(item, ProfileSubscription)]
    if not wanted:
        return
    known = await repository.profile_hubs(session, wanted)
    for profile_id in wanted:
        row = known.get(profile_id)
        visible = row is not None and (
            row["sharing"] == "network" or principal.may_read_hub(row["hub"])
        )
        if not visible:
            raise Invalid(f"profile {profile_id} is unknown or not visible to your hub")


async def replace_subscriptions(
    session: AsyncSession, principal: Principal, wanted: Subscriptions
) -> Subscriptions:
    for item in wanted.items:
        _check_scope(principal, item)
    await _check_profiles(session, principal, wanted.items)
    pairs = [(item.scope, target_of(item)) for item in wanted.items]
    await repository.replace_subscriptions(
        session, principal.hub, principal.subject, pairs, datetime.now(UTC)
    )
    return await subscriptions(session, principal)


async def preferences(session: AsyncSession, principal: Principal) -> Preferences:
    row = await repository.preferences_of(session, principal.hub, principal.subject)
    return Preferences() if row is None else preferences_of(row)


async def replace_preferences(
    session: AsyncSession, principal: Principal, wanted: Preferences
) -> Preferences:
    if "email" in wanted.channels and email_address(wanted, principal.subject) is None:
        raise Invalid("the email channel needs an address: set `email` (your token names none)")
    values = {**preferences_values(wanted), "updated_at": datetime.now(UTC)}
    await repository.put_preferences(session, principal.hub, principal.subject, values)
    return wanted


# --------------------------------------------------------------------------- unsubscribe


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


async def _stored(session: AsyncSession, request: links.Unsubscribe) -> Preferences:
    row = await repository.preferences_of(session, request.hub, request.subject)
    return Preferences() if row is None else preferences_of(row)


async def email_status(session: AsyncSession, secret: str, token: str) -> EmailStatus:
    """Where a link's owner stands; reads only (link scanners fetch every URL in a mail)."""
    request = _link(secret, token)
    return _status(request, await _stored(session, request))


async def unsubscribe(session: AsyncSession, secret: str, token: str) -> EmailStatus:
    """Stop the link's channel for its owner (idempotent) and suppress their alerts and
    digests not sent yet: after a one-click unsubscribe nothing more may arrive."""
    request = _link(secret, token)
    current = await _stored(session, request)
    if request.channel in current.channels:
        wanted = without_channel(current, request.channel)
        values = {**preferences_values(wanted), "updated_at": datetime.now(UTC)}
        await repository.put_preferences(session, request.hub, request.subject, values)
        current = wanted
    await repository.suppress_queued_alerts(
        session, request.hub, request.subject, "unsubscribed from email"
    )
    return _status(request, current)
