"""A staff member's own subscriptions and preferences.

A staff member is identified by the (hub, subject) of their token and only ever reads and
writes their own settings (an unsubscribe link is the one exception: `unsubscribe`)."""

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
    preferences_values,
    target_of,
)
from tandem_shared.auth import Principal, Role
from tandem_shared.contracts import Sharing
from tandem_shared.errors import Forbidden, Invalid


async def current_subscriptions(session: AsyncSession, principal: Principal) -> Subscriptions:
    stored = await repository.recipients.subscriptions_of(session, principal.hub, principal.subject)
    return Subscriptions(items=[item_of(sub.scope, sub.target) for sub in stored])


def _check_scope(principal: Principal, item: SubscriptionItem) -> None:
    if principal.role is Role.NETWORK_ADMIN:
        return
    if isinstance(item, NetworkSubscription):
        raise Forbidden("only a network_admin may subscribe to the whole network")
    if isinstance(item, HubSubscription) and item.hub != principal.hub:
        raise Forbidden(f"you may subscribe to your own hub ({principal.hub}) only")


async def _check_profiles(
    session: AsyncSession, principal: Principal, items: list[SubscriptionItem]
) -> None:
    wanted = [item.profile_id for item in items if isinstance(item, ProfileSubscription)]
    if not wanted:
        return
    known = await repository.recipients.known_profiles(session, wanted)
    for profile_id in wanted:
        profile = known.get(profile_id)
        visible = profile is not None and (
            profile.sharing is Sharing.NETWORK or principal.may_read_hub(profile.hub)
        )
        if not visible:
            reason = f"profile {profile_id} is unknown or not visible to your hub"
            raise Invalid("items", reason)


async def replace_subscriptions(
    session: AsyncSession, principal: Principal, wanted: Subscriptions
) -> Subscriptions:
    for item in wanted.items:
        _check_scope(principal, item)
    await _check_profiles(session, principal, wanted.items)
    pairs = [(item.scope, target_of(item)) for item in wanted.items]
    await repository.recipients.replace_subscriptions(
        session, principal.hub, principal.subject, pairs, datetime.now(UTC)
    )
    return await current_subscriptions(session, principal)


async def stored_preferences(session: AsyncSession, hub: str, subject: str) -> Preferences:
    """The staff member's preferences; the defaults if they never set any."""
    found = await repository.recipients.preferences_of_staff(session, hub, subject)
    return Preferences() if found is None else found


async def save_preferences(
    session: AsyncSession, hub: str, subject: str, wanted: Preferences
) -> None:
    values = {**preferences_values(wanted), "updated_at": datetime.now(UTC)}
    await repository.recipients.put_preferences(session, hub, subject, values)


async def current_preferences(session: AsyncSession, principal: Principal) -> Preferences:
    return await stored_preferences(session, principal.hub, principal.subject)


async def replace_preferences(
    session: AsyncSession, principal: Principal, wanted: Preferences
) -> Preferences:
    if "email" in wanted.channels and email_address(wanted, principal.subject) is None:
        reason = "the email channel needs an address: set `email` (your token names none)"
        raise Invalid("email", reason)
    await save_preferences(session, principal.hub, principal.subject, wanted)
    return wanted
