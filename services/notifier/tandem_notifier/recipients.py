"""Use cases for a staff member's own subscriptions and preferences.

A staff member is identified by the (hub, subject) of their token and only ever reads and
writes their own settings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository
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
)
from tandem_shared.auth import Principal, Role


class Refused(Exception):
    """A subscription the caller may not hold (403)."""


class Invalid(Exception):
    """A subscription naming something unknown (422)."""


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
