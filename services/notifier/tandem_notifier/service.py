"""Notifier use cases: turn matches, meetings and events (scheduled, changed, cancelled)
into feed notifications for the hubs concerned and into queued deliveries (email per
subscribed staff member, webhook per hub), all in the consumer's transaction.

The in-app feed is each hub's shared inbox: every match, meeting and withdrawal that
involves the hub lands there whether or not anyone subscribed (so nothing is silently
lost). Subscriptions and preferences decide the personal channel (email); webhooks are per
hub and receive everything its feed receives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository, webhooks
from tandem_notifier.domain.events import NOTICES, audience_sectors, event_changes
from tandem_notifier.domain.messages import (
    Rendered,
    render_event,
    render_event_cancelled,
    render_event_update,
    render_match,
    render_meeting,
    render_withdrawal,
)
from tandem_notifier.domain.policy import Status, day_start, decide, recipient_zone
from tandem_notifier.domain.preferences import Preferences, email_address, preferences_of
from tandem_notifier.domain.recipients import (
    ProfileFacts,
    StaffKey,
    StoredSubscription,
    event_recipients,
    match_recipients,
)
from tandem_notifier.live import FeedSignal, notify_after_commit
from tandem_notifier.settings import NotifierSettings
from tandem_shared.auth import Principal, Role
from tandem_shared.bus.consumer import PoisonMessage
from tandem_shared.contracts import (
    Envelope,
    EventCancelled,
    EventData,
    EventScheduled,
    EventUpdated,
    MatchSuggested,
    MatchUpdated,
    MatchWithdrawn,
    MeetingCancelled,
    MeetingScheduled,
    ProfileErased,
    ProfileUpserted,
)
from tandem_shared.logging import get_logger

FEED = "feed"
EMAIL = "email"
WEBHOOK = "webhook"
HUB_RECIPIENT = "*"
UNKNOWN = "an organisation"
TRANSACTIONAL = frozenset({"meeting.scheduled", "meeting.cancelled"})
MATCH_ALERTS = ("match.suggested", "match.updated")

log = get_logger(__name__)


@dataclass(frozen=True)
class Signals:
    """Wake-ups fired after commit: live feed streams and the delivery worker."""

    feed: FeedSignal
    deliveries: FeedSignal


@dataclass(frozen=True)
class Outgoing:
    """One message, ready to be queued for any recipient."""

    message_id: str
    kind: str
    subject: str
    payload: dict[str, Any]

    @property
    def transactional(self) -> bool:
        return self.kind in TRANSACTIONAL


def _known_zone(zone: str) -> None:
    """A meeting or event in a time zone nobody knows can never be rendered: dead-letter
    it at once instead of retrying."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise PoisonMessage(f"unknown time zone {zone!r}") from error


async def _names(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> tuple[str, str]:
    names = await repository.profile_names(session, [a, b])
    return names.get(a, UNKNOWN), names.get(b, UNKNOWN)


async def _notify(
    session: AsyncSession, hub: str, message: Envelope, rendered: Rendered, subject: str
) -> bool:
    """Add one feed notification for `hub`; False if this message already notified it."""
    data = getattr(message, "data", None)
    return await repository.insert_notification(
        session,
        {
            "id": uuid.uuid4(),
            "hub": hub,
            "channel": FEED,
            "kind": getattr(message, "type", "unknown"),
            "subject": subject,
            "title": rendered.title[:300],
            "body": rendered.body,
            "data": data.model_dump(mode="json") if data is not None else {},
            "source_message_id": str(message.id),
            "created_at": datetime.now(UTC),
            "read_at": None,
            "withdrawn_at": None,
        },
    )


def _delivery(
    outgoing: Outgoing,
    *,
    hub: str,
    recipient: str,
    channel: str,
    status: Status,
    not_before: datetime,
    now: datetime,
    address: str | None = None,
    language: str = "en",
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "source_message_id": outgoing.message_id,
        "hub": hub,
        "recipient": recipient,
        "channel": channel,
        "kind": outgoing.kind,
        "subject": outgoing.subject,
        "transactional": outgoing.transactional,
        "address": address,
        "language": language,
        "payload": outgoing.payload,
        "status": status.value,
        "attempts": 0,
        "next_attempt_at": not_before,
        "last_error": reason,
        "digest_id": None,
        "created_at": now,
        "sent_at": None,
    }


async def _queue_webhooks(session: AsyncSession, hubs: Iterable[str], outgoing: Outgoing) -> bool:
    now = datetime.now(UTC)
    queued = False
    for hub in sorted(await repository.enabled_webhook_hubs(session, sorted(set(hubs)))):
        values = _delivery(
            outgoing,
            hub=hub,
            recipient=HUB_RECIPIENT,
            channel=WEBHOOK,
            status=Status.PENDING,
            not_before=now,
            now=now,
        )
        queued |= await repository.insert_delivery(session, values)
    return queued


async def queue_email(
    session: AsyncSession,
    staff: StaffKey,
    preferences: Preferences,
    outgoing: Outgoing,
    now: datetime,
) -> bool:
    """Queue the email for one staff member as their preferences say (digest, cap, quiet
    hours); False when they take no email or already have this one."""
    hub, subject = staff
    address = email_address(preferences, subject)
    if EMAIL not in preferences.channels or address is None:
        return False
    sent_today = 0
    if preferences.daily_cap is not None and not outgoing.transactional:
        since = day_start(now, recipient_zone(preferences))
        sent_today = await repository.count_alerts_since(session, hub, subject, since)
    decision = decide(now, preferences, transactional=outgoing.transactional, sent_today=sent_today)
    values = _delivery(
        outgoing,
        hub=hub,
        recipient=subject,
        channel=EMAIL,
        status=decision.status,
        not_before=decision.not_before,
        now=now,
        address=address,
        language=preferences.language,
        reason=decision.reason,
    )
    inserted = await repository.insert_delivery(session, values)
    return inserted and decision.status is Status.PENDING


async def _queue_emails(
    session: AsyncSession,
    preferences: Mapping[StaffKey, Mapping[Any, Any]],
    staff: Iterable[StaffKey],
    outgoing: Outgoing,
) -> bool:
    now = datetime.now(UTC)
    queued = False
    for key in sorted(set(staff)):
        row = preferences.get(key)
        if row is not None:
            queued |= await queue_email(session, key, preferences_of(row), outgoing, now)
    return queued


def _wake(session: AsyncSession, signals: Signals, *, feed: bool, deliveries: bool) -> None:
    if feed:
        notify_after_commit(session, signals.feed)
    if deliveries:
        notify_after_commit(session, signals.deliveries)


# The messages that reach hubs' feeds and staff.
Notice = (
    MatchSuggested
    | MatchUpdated
    | MatchWithdrawn
    | MeetingScheduled
    | MeetingCancelled
    | EventScheduled
    | EventUpdated
    | EventCancelled
)


def _outgoing(message: Notice, subject: str, payload: dict[str, Any]) -> Outgoing:
    return Outgoing(message_id=str(message.id), kind=message.type, subject=subject, payload=payload)


async def _feed(
    session: AsyncSession, hubs: Iterable[str], message: Notice, rendered: Rendered, subject: str
) -> bool:
    """One feed notification per hub; True if any of them is new."""
    fed = False
    for hub in hubs:
        fed |= await _notify(session, hub, message, rendered, subject)
    return fed


async def _deliver(
    session: AsyncSession,
    signals: Signals,
    outgoing: Outgoing,
    *,
    fed: bool,
    hubs: Iterable[str],
    staff: Iterable[StaffKey],
    preferences: Mapping[StaffKey, Mapping[Any, Any]],
) -> None:
    """Queue the emails of `staff` and the webhooks of `hubs`, then wake whoever has new
    work once the transaction commits."""
    queued = await _queue_emails(session, preferences, staff, outgoing)
    queued |= await _queue_webhooks(session, hubs, outgoing)
    _wake(session, signals, feed=fed, deliveries=queued)


# --------------------------------------------------------------------------- profiles


async def on_profile_upserted(session: AsyncSession, message: ProfileUpserted) -> None:
    profile = message.data
    await repository.project_subsectors(
        session, profile.id, list(profile.subsectors), profile.version, profile.updated_at
    )


async def on_profile_erased(session: AsyncSession, message: ProfileErased) -> None:
    await repository.forget_subsectors(session, message.data.id)


# --------------------------------------------------------------------------- matches


async def _match_subscribers(
    session: AsyncSession, a: ProfileFacts, b: ProfileFacts
) -> set[StaffKey]:
    rows = await repository.match_subscriptions(session, sorted({a.hub, b.hub}), [a.id, b.id])
    subscriptions = _stored(rows)
    return match_recipients(subscriptions, a, b)


def _stored(rows: Iterable[Mapping[Any, Any]]) -> list[StoredSubscription]:
    return [
        StoredSubscription(row["hub"], row["subject"], row["scope"], row["target"]) for row in rows
    ]


def _facts(profile_id: uuid.UUID, hub: str, rows: Mapping[uuid.UUID, Any]) -> ProfileFacts:
    row = rows.get(profile_id)
    if row is None:
        return ProfileFacts(id=profile_id, hub=hub)
    return ProfileFacts(
        id=profile_id, hub=hub, kind=row["kind"], subsectors=frozenset(row["subsectors"] or ())
    )


async def on_match(
    session: AsyncSession, message: MatchSuggested | MatchUpdated, signals: Signals
) -> None:
    match = message.data
    facts_rows = await repository.profile_facts(session, [match.profile_a, match.profile_b])
    a = _facts(match.profile_a, match.hub_a, facts_rows)
    b = _facts(match.profile_b, match.hub_b, facts_rows)
    # The facts rows carry the names too: no second directory query per match message.
    name_a, name_b = (
        facts_rows[profile]["name"] if profile in facts_rows else UNKNOWN
        for profile in (match.profile_a, match.profile_b)
    )
    rendered = render_match(match, name_a, name_b, updated=isinstance(message, MatchUpdated))
    hubs = sorted({match.hub_a, match.hub_b})
    fed = await _feed(session, hubs, message, rendered, match.pair_id)
    outgoing = _outgoing(
        message,
        match.pair_id,
        {"match": match.model_dump(mode="json"), "name_a": name_a, "name_b": name_b},
    )
    staff = await _match_subscribers(session, a, b)
    preferences = await repository.preferences_for(session, sorted(staff))
    await _deliver(
        session, signals, outgoing, fed=fed, hubs=hubs, staff=staff, preferences=preferences
    )


async def _suppress_moot(
    session: AsyncSession, subject: str, kinds: Iterable[str], reason: str
) -> Sequence[Mapping[Any, Any]]:
    """Suppress the emails about `subject` still waiting or held for a digest (their news is
    moot); returns all the emails of those kinds about it."""
    rows = await repository.email_deliveries_of(session, subject, list(kinds))
    moot = [
        row["id"]
        for row in rows
        if row["status"] == Status.PENDING
        or (row["status"] == Status.DIGESTED and row["digest_id"] is None)
    ]
    await repository.suppress(session, moot, reason)
    return rows


async def _withdraw_emails(session: AsyncSession, pair: str, outgoing: Outgoing) -> bool:
    """Alerts still held or waiting are dropped (the news is moot); staff who were told
    get the withdrawal."""
    reason = "match withdrawn before it was delivered"
    rows = await _suppress_moot(session, pair, MATCH_ALERTS, reason)
    told = {
        (row["hub"], row["recipient"])
        for row in rows
        if row["status"] == Status.SENT
        or (row["status"] == Status.DIGESTED and row["digest_id"] is not None)
    }
    preferences = await repository.preferences_for(session, sorted(told))
    return await _queue_emails(session, preferences, told, outgoing)


async def on_withdrawn(session: AsyncSession, message: MatchWithdrawn, signals: Signals) -> None:
    """Mark the pair's alerts withdrawn and tell each hub that had one (only those: a
    withdrawal of a match a hub never heard of would be noise)."""
    withdrawal = message.data
    name_a, name_b = await _names(session, withdrawal.profile_a, withdrawal.profile_b)
    rendered = render_withdrawal(withdrawal, name_a, name_b)
    now = datetime.now(UTC)
    told_hubs = []
    fed = False
    for hub in sorted({withdrawal.hub_a, withdrawal.hub_b}):
        if await repository.withdraw_alerts(
            session, withdrawal.pair_id, MATCH_ALERTS, now, hub=hub
        ):
            told_hubs.append(hub)
            fed |= await _notify(session, hub, message, rendered, withdrawal.pair_id)
    outgoing = _outgoing(
        message,
        withdrawal.pair_id,
        {"withdrawal": withdrawal.model_dump(mode="json"), "name_a": name_a, "name_b": name_b},
    )
    queued = await _withdraw_emails(session, withdrawal.pair_id, outgoing)
    queued |= await _queue_webhooks(session, told_hubs, outgoing)
    _wake(session, signals, feed=fed, deliveries=queued)


# --------------------------------------------------------------------------- meetings


async def on_meeting(
    session: AsyncSession, message: MeetingScheduled | MeetingCancelled, signals: Signals
) -> None:
    """A meeting change is transactional: every hub concerned (both sides and the
    organiser) gets it in its feed and webhook, and every staff member of those hubs who
    takes email gets it at once with the invite attached, whatever their subscriptions."""
    meeting = message.data
    _known_zone(meeting.timezone)
    name_a, name_b = await _names(session, meeting.profile_a, meeting.profile_b)
    rendered = render_meeting(meeting, name_a, name_b)
    hubs = sorted({meeting.hub_a, meeting.hub_b, meeting.hub})
    fed = await _feed(session, hubs, message, rendered, str(meeting.id))
    outgoing = _outgoing(
        message,
        str(meeting.id),
        {"meeting": meeting.model_dump(mode="json"), "name_a": name_a, "name_b": name_b},
    )
    rows = await repository.preferences_in_hubs(session, hubs)
    preferences = {(row["hub"], row["subject"]): row for row in rows}
    await _deliver(
        session,
        signals,
        outgoing,
        fed=fed,
        hubs=hubs,
        staff=preferences.keys(),
        preferences=preferences,
    )


# --------------------------------------------------------------------------- events


async def _event_notice(
    session: AsyncSession,
    signals: Signals,
    message: EventScheduled | EventUpdated | EventCancelled,
    sectors: Iterable[str],
    rendered: Rendered,
    payload: dict[str, Any],
) -> None:
    """Reach the staff subscribed to any of `sectors`: the feeds of their hubs, their email
    and their hubs' webhooks. Event notices are not transactional (digest, cap and quiet
    hours apply; the emails carry an unsubscribe link)."""
    rows = await repository.sector_subscriptions(session)
    staff = event_recipients(_stored(rows), sectors)
    if not staff:
        return
    hubs = sorted({hub for hub, _ in staff})
    subject = str(message.data.id)
    fed = await _feed(session, hubs, message, rendered, subject)
    outgoing = _outgoing(message, subject, payload)
    preferences = await repository.preferences_for(session, sorted(staff))
    await _deliver(
        session, signals, outgoing, fed=fed, hubs=hubs, staff=staff, preferences=preferences
    )


def _event_json(event: EventData) -> dict[str, Any]:
    return event.model_dump(mode="json")


async def on_event(
    session: AsyncSession, message: EventScheduled | EventUpdated, signals: Signals
) -> None:
    """A new event reaches the subscribers of its sectors. A change reaches those of the
    sectors it had and has, saying what changed when the notifier knew the version before
    (`event.updated` carries no diff); a change nobody could see in a notice (sessions,
    tables, description) notifies nobody."""
    event = message.data
    _known_zone(event.timezone)
    stored = await repository.event_of(session, event.id)
    before = EventData.model_validate(stored) if stored is not None else None
    data = _event_json(event)
    if not await repository.project_event(
        session, event.id, event.version, message.time, data=data
    ):
        return  # a stale or repeated version
    if isinstance(message, EventScheduled):
        sectors = [sector.value for sector in event.sectors]
        await _event_notice(
            session, signals, message, sectors, render_event(event), {"event": data}
        )
        return
    changes = event_changes(before, event)
    if changes == []:
        return
    rendered = render_event_update(event, changes)
    payload = {"event": data, "changes": changes}
    await _event_notice(
        session, signals, message, audience_sectors(before, event), rendered, payload
    )


async def on_event_cancelled(
    session: AsyncSession, message: EventCancelled, signals: Signals
) -> None:
    """A cancellation reaches the subscribers of the event's sectors with its last known
    title and time. Its earlier notices in the feeds are marked withdrawn, and its emails
    not sent yet are suppressed. The message names only the event: one the notifier never
    saw cannot be announced (its sectors are unknown), only remembered as cancelled."""
    cancelled = message.data
    stored = await repository.event_of(session, cancelled.id)
    if not await repository.project_event(
        session, cancelled.id, cancelled.version, message.time, cancelled=True
    ):
        return  # a stale or repeated version
    if stored is None:
        log.info("event.cancelled.unknown", event_id=str(cancelled.id))
        return
    event = EventData.model_validate(stored)
    subject = str(event.id)
    notices = [kind for kind in NOTICES if kind != "event.cancelled"]
    await repository.withdraw_alerts(session, subject, notices, datetime.now(UTC))
    await _suppress_moot(session, subject, notices, "event cancelled before it was delivered")
    payload = {"event": stored, "reason": cancelled.reason}
    rendered = render_event_cancelled(event, cancelled.reason)
    sectors = [sector.value for sector in event.sectors]
    await _event_notice(session, signals, message, sectors, rendered, payload)


# --------------------------------------------------------------------------- feed


async def feed(
    session: AsyncSession, principal: Principal, *, unread_only: bool, page: int, per_page: int
) -> dict[str, Any]:
    rows, total = await repository.feed(
        session,
        principal.hub,
        unread_only=unread_only,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return {"items": rows, "total": total, "page": page, "per_page": per_page}


async def mark_read(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> bool:
    return await repository.mark_read(session, principal.hub, notification_id, datetime.now(UTC))


# --------------------------------------------------------------------------- admin


class Forbidden(Exception):
    """The caller's role may not do this (403)."""


def _admin_hub(principal: Principal) -> str | None:
    """The hub whose deliveries the caller may see (None: all of them)."""
    if principal.role is Role.NETWORK_ADMIN:
        return None
    if principal.role is Role.HUB_ADMIN:
        return principal.hub
    raise Forbidden("only a hub_admin (own hub) or network_admin may read deliveries")


async def deliveries(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    channel: str | None,
    page: int,
    per_page: int,
) -> dict[str, Any]:
    rows, total = await repository.list_deliveries(
        session,
        hub=_admin_hub(principal),
        status=status,
        channel=channel,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return {"items": rows, "total": total, "page": page, "per_page": per_page}


def _require_hub_admin(principal: Principal) -> None:
    if principal.role not in (Role.HUB_ADMIN, Role.NETWORK_ADMIN):
        raise Forbidden("only a hub_admin may manage the hub's webhook")


async def webhook(session: AsyncSession, principal: Principal) -> Mapping[Any, Any] | None:
    _require_hub_admin(principal)
    return await repository.webhook_of(session, principal.hub)


async def put_webhook(
    session: AsyncSession,
    principal: Principal,
    *,
    url: str,
    secret: str,
    enabled: bool,
    settings: NotifierSettings,
) -> Mapping[Any, Any] | None:
    """Save the hub's webhook after the SSRF guard (raises webhooks.UnsafeTarget)."""
    _require_hub_admin(principal)
    if enabled:
        await webhooks.check_target(url, settings)
    else:
        webhooks.check_url_shape(url, settings)
    values = {"url": url, "secret": secret, "enabled": enabled, "updated_at": datetime.now(UTC)}
    await repository.put_webhook(session, principal.hub, values)
    return await repository.webhook_of(session, principal.hub)
