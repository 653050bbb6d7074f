"""Matches: new and materially changed ones alert both hubs' feeds, their webhooks and the
staff whose subscriptions cover them; a withdrawal tells whoever had heard of the match."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository
from tandem_notifier.domain.alerts import AlertPolicy, MatchAlert, admitted
from tandem_notifier.domain.messages import render_match, render_withdrawal
from tandem_notifier.domain.recipients import (
    ProfileFacts,
    StaffKey,
    StoredSubscription,
    match_recipients,
)
from tandem_notifier.repository.recipients import KnownProfile
from tandem_notifier.service.fanout import (
    UNKNOWN,
    Notice,
    Signals,
    fan_out,
    names,
    new_notice,
    suppress_moot,
)
from tandem_shared.contracts import MatchSuggested, MatchUpdated, MatchWithdrawn

MATCH_ALERTS = ("match.suggested", "match.updated")


def _facts(
    profile_id: uuid.UUID, hub: str, known: Mapping[uuid.UUID, KnownProfile]
) -> ProfileFacts:
    profile = known.get(profile_id)
    if profile is None:
        return ProfileFacts(id=profile_id, hub=hub)
    return ProfileFacts(
        id=profile_id,
        hub=hub,
        kind=profile.kind,
        subsectors=profile.subsectors,
        sharing=profile.sharing,
    )


def _match_notice(
    message: MatchSuggested | MatchUpdated,
    known: Mapping[uuid.UUID, KnownProfile],
    subscriptions: Sequence[StoredSubscription],
) -> Notice:
    match = message.data
    a = _facts(match.profile_a, match.hub_a, known)
    b = _facts(match.profile_b, match.hub_b, known)
    name_a, name_b = (
        known[profile].name if profile in known else UNKNOWN
        for profile in (match.profile_a, match.profile_b)
    )
    return new_notice(
        message,
        render_match(match, name_a, name_b, updated=isinstance(message, MatchUpdated)),
        subject=match.pair_id,
        payload={"match": match.model_dump(mode="json"), "name_a": name_a, "name_b": name_b},
        hubs=(match.hub_a, match.hub_b),
        staff=match_recipients(subscriptions, a, b),
    )


async def _calm(
    session: AsyncSession,
    messages: Sequence[MatchSuggested | MatchUpdated],
    notices: Sequence[Notice],
    policy: AlertPolicy,
) -> list[Notice]:
    """The notices with only the hubs whose feed (and webhooks) the alert policy admits
    them to (`domain.alerts`); staff emails are left to their own preferences."""
    now = datetime.now(UTC)
    since = datetime.combine(now.date(), time(0), tzinfo=UTC)
    hubs = sorted({hub for notice in notices for hub in notice.hubs})
    today = await repository.feed.alerted_since(session, hubs, MATCH_ALERTS, since)
    alerts = [
        MatchAlert(hub, (str(m.data.profile_a), str(m.data.profile_b)), m.data.score)
        for m, notice in zip(messages, notices, strict=True)
        for hub in notice.hubs
    ]
    decisions = iter(admitted(alerts, today, policy))
    calm = []
    for notice in notices:
        hubs_admitted = [hub for hub in notice.hubs if next(decisions)]
        calm.append(dataclasses.replace(notice, hubs=hubs_admitted))
    return calm


async def on_matches(
    session: AsyncSession,
    messages: Sequence[MatchSuggested | MatchUpdated],
    signals: Signals,
    policy: AlertPolicy = AlertPolicy(),
) -> None:
    """Alert both hubs' feeds, subscribed staff and webhooks of new and materially changed
    matches, as calmly as `policy` says: a profile update brings ~15 of them, so a run is
    looked up and written with the same few statements as one."""
    profiles = sorted({p for m in messages for p in (m.data.profile_a, m.data.profile_b)})
    hubs = sorted({h for m in messages for h in (m.data.hub_a, m.data.hub_b)})
    known = await repository.recipients.known_profiles(session, profiles)
    subscriptions = await repository.recipients.match_subscriptions(session, hubs, profiles)
    notices = [_match_notice(message, known, subscriptions) for message in messages]
    notices = await _calm(session, messages, notices, policy)
    staff = sorted({key for notice in notices for key in notice.staff})
    preferences = await repository.recipients.preferences_for(session, staff)
    await fan_out(session, signals, notices, preferences)


async def _told_by_email(session: AsyncSession, pairs: Sequence[str]) -> dict[str, set[StaffKey]]:
    """Drop the pairs' alerts still held or waiting (the news is moot); per pair, the staff
    who were told by email, who get the withdrawal."""
    reason = "match withdrawn before it was delivered"
    told: dict[str, set[StaffKey]] = {}
    for email in await suppress_moot(session, pairs, MATCH_ALERTS, reason):
        if email.told:
            told.setdefault(email.subject, set()).add((email.hub, email.recipient))
    return told


def _withdrawal_notice(
    message: MatchWithdrawn,
    known_names: Mapping[uuid.UUID, str],
    hubs: Sequence[str],
    staff: set[StaffKey],
) -> Notice:
    withdrawal = message.data
    name_a = known_names.get(withdrawal.profile_a, UNKNOWN)
    name_b = known_names.get(withdrawal.profile_b, UNKNOWN)
    return new_notice(
        message,
        render_withdrawal(withdrawal, name_a, name_b),
        subject=withdrawal.pair_id,
        payload={
            "withdrawal": withdrawal.model_dump(mode="json"),
            "name_a": name_a,
            "name_b": name_b,
        },
        hubs=hubs,
        staff=staff,
    )


async def on_withdrawals(
    session: AsyncSession, messages: Sequence[MatchWithdrawn], signals: Signals
) -> None:
    """Mark the pairs' alerts withdrawn and tell each hub (feed, webhook) and staff member
    (email) that had heard of the match: a withdrawal of a match nobody heard of is noise."""
    now = datetime.now(UTC)
    sides = {(hub, m.data.pair_id) for m in messages for hub in (m.data.hub_a, m.data.hub_b)}
    heard = await repository.feed.withdraw_in_hubs(session, sorted(sides), MATCH_ALERTS, now)
    emailed = await _told_by_email(session, sorted({m.data.pair_id for m in messages}))
    profiles = await names(
        session, (p for m in messages for p in (m.data.profile_a, m.data.profile_b))
    )
    notices = []
    for message in messages:
        pair = message.data.pair_id
        # Told once: a second withdrawal of the pair in the run finds nothing left to withdraw.
        hubs = [hub for hub, heard_of in heard if heard_of == pair]
        heard -= {(hub, pair) for hub in hubs}
        told = emailed.pop(pair, set())
        notices.append(_withdrawal_notice(message, profiles, hubs, told))
    staff = sorted({key for notice in notices for key in notice.staff})
    preferences = await repository.recipients.preferences_for(session, staff)
    await fan_out(session, signals, notices, preferences)
