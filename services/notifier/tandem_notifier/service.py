"""Notifier use cases: turn matches, meetings and events (scheduled, changed, cancelled)
into feed notifications for the hubs concerned and into queued deliveries (email per
subscribed staff member, webhook per hub), all in the consumer's transaction.

The in-app feed is each hub's shared inbox: every match, meeting and withdrawal that
involves the hub lands there whether or not anyone subscribed (so nothing is silently
lost); whether an alert was read is each staff member's own. Subscriptions and
preferences decide the personal channel (email); webhooks are per hub and receive
everything its feed receives.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
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


async def _names(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await repository.profile_names(session, sorted(set(ids)))


# The messages that reach hubs' feeds and staff.
NoticeMessage = (
    MatchSuggested
    | MatchUpdated
    | MatchWithdrawn
    | MeetingScheduled
    | MeetingCancelled
    | EventScheduled
    | EventUpdated
    | EventCancelled
)


@dataclass(frozen=True)
class Notice:
    """What one message becomes: an entry in the feed of each of `hubs` (and a call of
    their webhooks), and an email to each of `staff` as their preferences say."""

    message: NoticeMessage
    rendered: Rendered
    outgoing: Outgoing
    hubs: Sequence[str]
    staff: Collection[StaffKey]


def _notice(
    message: NoticeMessage,
    rendered: Rendered,
    *,
    subject: str,
    payload: dict[str, Any],
    hubs: Iterable[str],
    staff: Iterable[StaffKey],
) -> Notice:
    outgoing = Outgoing(
        message_id=str(message.id), kind=message.type, subject=subject, payload=payload
    )
    return Notice(message, rendered, outgoing, sorted(set(hubs)), sorted(set(staff)))


def _feed_row(notice: Notice, hub: str, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "hub": hub,
        "channel": FEED,
        "kind": notice.message.type,
        "subject": notice.outgoing.subject,
        "title": notice.rendered.title[:300],
        "body": notice.rendered.body,
        "data": notice.message.data.model_dump(mode="json"),
        "source_message_id": notice.outgoing.message_id,
        "created_at": now,
        "withdrawn_at": None,
    }


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


async def _feed(session: AsyncSession, notices: Sequence[Notice], now: datetime) -> bool:
    """Every notice's feed entries in one statement; True if any is new (a redelivered
    message adds none: one entry per (message, hub))."""
    rows = [_feed_row(notice, hub, now) for notice in notices for hub in notice.hubs]
    return bool(await repository.insert_notifications(session, rows))


async def _queue_webhooks(session: AsyncSession, notices: Sequence[Notice], now: datetime) -> bool:
    hubs = sorted({hub for notice in notices for hub in notice.hubs})
    enabled = await repository.enabled_webhook_hubs(session, hubs)
    rows = [
        _delivery(
            notice.outgoing,
            hub=hub,
            recipient=HUB_RECIPIENT,
            channel=WEBHOOK,
            status=Status.PENDING,
            not_before=now,
            now=now,
        )
        for notice in notices
        for hub in notice.hubs
        if hub in enabled
    ]
    return bool(await repository.insert_deliveries(session, rows))


class _CapCounts:
    """Each capped recipient's non-transactional emails of their local day: counted once
    per run (under a per-recipient lock, so two consumers cannot both take the last slot
    of a cap), then kept up to date as this run queues more."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self._session = session
        self._now = now
        self._counts: dict[StaffKey, int] = {}

    async def lock(self, staff: Iterable[StaffKey]) -> None:
        """Take the recipients' locks in one order, so concurrent runs cannot deadlock."""
        for hub, subject in sorted(set(staff)):
            await repository.lock_recipient(self._session, hub, subject)

    async def sent_today(self, staff: StaffKey, preferences: Preferences) -> int:
        if staff not in self._counts:
            since = day_start(self._now, recipient_zone(preferences))
            self._counts[staff] = await repository.count_alerts_since(self._session, *staff, since)
        return self._counts[staff]

    def queued(self, staff: StaffKey) -> None:
        self._counts[staff] = self._counts.get(staff, 0) + 1


def _counts_toward_cap(notice: Notice, preferences: Preferences | None) -> bool:
    """Whether this email counts against the recipient's daily cap (meeting changes never do)."""
    capped = preferences is not None and preferences.daily_cap is not None
    return capped and not notice.outgoing.transactional


async def _queue_emails(
    session: AsyncSession,
    notices: Sequence[Notice],
    stored: Mapping[StaffKey, Mapping[Any, Any]],
    now: datetime,
) -> bool:
    """Queue each notice's email to each of its staff as their preferences say (digest,
    cap, quiet hours); True if any is due to be sent."""
    preferences = {key: preferences_of(row) for key, row in stored.items()}
    caps = _CapCounts(session, now)
    await caps.lock(
        key
        for notice in notices
        for key in notice.staff
        if _counts_toward_cap(notice, preferences.get(key))
    )
    rows = []
    for notice in notices:
        for key in notice.staff:
            chosen = preferences.get(key)
            address = email_address(chosen, key[1]) if chosen else None
            if chosen is None or EMAIL not in chosen.channels or address is None:
                continue
            counts = _counts_toward_cap(notice, chosen)
            sent_today = await caps.sent_today(key, chosen) if counts else 0
            decision = decide(
                now, chosen, transactional=notice.outgoing.transactional, sent_today=sent_today
            )
            if counts and decision.status is Status.PENDING:
                caps.queued(key)
            rows.append(
                _delivery(
                    notice.outgoing,
                    hub=key[0],
                    recipient=key[1],
                    channel=EMAIL,
                    status=decision.status,
                    not_before=decision.not_before,
                    now=now,
                    address=address,
                    language=chosen.language,
                    reason=decision.reason,
                )
            )
    statuses = await repository.insert_deliveries(session, rows)
    return Status.PENDING in statuses


async def _fan_out(
    session: AsyncSession,
    signals: Signals,
    notices: Sequence[Notice],
    preferences: Mapping[StaffKey, Mapping[Any, Any]],
) -> None:
    """Feed entries, emails and webhooks of every notice, a few statements for all of
    them; then wake the live streams and the delivery worker once the transaction commits."""
    now = datetime.now(UTC)
    fed = await _feed(session, notices, now)
    queued = await _queue_emails(session, notices, preferences, now)
    queued |= await _queue_webhooks(session, notices, now)
    if fed:
        notify_after_commit(session, signals.feed)
    if queued:
        notify_after_commit(session, signals.deliveries)


# --------------------------------------------------------------------------- profiles


async def on_profile_upserted(session: AsyncSession, message: ProfileUpserted) -> None:
    profile = message.data
    await repository.project_subsectors(
        session, profile.id, list(profile.subsectors), profile.version, profile.updated_at
    )


async def on_profile_erased(session: AsyncSession, message: ProfileErased) -> None:
    await repository.forget_subsectors(session, message.data.id)


# --------------------------------------------------------------------------- matches


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


def _match_notice(
    message: MatchSuggested | MatchUpdated,
    facts: Mapping[uuid.UUID, Any],
    subscriptions: Sequence[StoredSubscription],
) -> Notice:
    match = message.data
    a = _facts(match.profile_a, match.hub_a, facts)
    b = _facts(match.profile_b, match.hub_b, facts)
    name_a, name_b = (
        facts[profile]["name"] if profile in facts else UNKNOWN
        for profile in (match.profile_a, match.profile_b)
    )
    return _notice(
        message,
        render_match(match, name_a, name_b, updated=isinstance(message, MatchUpdated)),
        subject=match.pair_id,
        payload={"match": match.model_dump(mode="json"), "name_a": name_a, "name_b": name_b},
        hubs=(match.hub_a, match.hub_b),
        staff=match_recipients(subscriptions, a, b),
    )


async def on_matches(
    session: AsyncSession, messages: Sequence[MatchSuggested | MatchUpdated], signals: Signals
) -> None:
    """Alert both hubs' feeds, subscribed staff and webhooks of new and materially changed
    matches: a profile update brings ~15 of them, so a run is looked up and written with
    the same few statements as one."""
    profiles = sorted({p for m in messages for p in (m.data.profile_a, m.data.profile_b)})
    hubs = sorted({h for m in messages for h in (m.data.hub_a, m.data.hub_b)})
    facts = await repository.profile_facts(session, profiles)
    subscriptions = _stored(await repository.match_subscriptions(session, hubs, profiles))
    notices = [_match_notice(message, facts, subscriptions) for message in messages]
    staff = sorted({key for notice in notices for key in notice.staff})
    await _fan_out(session, signals, notices, await repository.preferences_for(session, staff))


async def _suppress_moot(
    session: AsyncSession, subjects: Sequence[str], kinds: Sequence[str], reason: str
) -> Sequence[Mapping[Any, Any]]:
    """Suppress the emails about `subjects` still waiting or held for a digest (their news
    is moot); returns all the emails of those kinds about them."""
    rows = await repository.email_deliveries_of(session, subjects, kinds)
    moot = [
        row["id"]
        for row in rows
        if row["status"] == Status.PENDING
        or (row["status"] == Status.DIGESTED and row["digest_id"] is None)
    ]
    await repository.suppress(session, moot, reason)
    return rows


async def _told_by_email(session: AsyncSession, pairs: Sequence[str]) -> dict[str, set[StaffKey]]:
    """Drop the pairs' alerts still held or waiting (the news is moot); per pair, the staff
    who were told by email, who get the withdrawal."""
    reason = "match withdrawn before it was delivered"
    rows = await _suppress_moot(session, pairs, MATCH_ALERTS, reason)
    told: dict[str, set[StaffKey]] = {}
    for row in rows:
        if row["status"] == Status.SENT or (
            row["status"] == Status.DIGESTED and row["digest_id"] is not None
        ):
            told.setdefault(row["subject"], set()).add((row["hub"], row["recipient"]))
    return told


async def on_withdrawals(
    session: AsyncSession, messages: Sequence[MatchWithdrawn], signals: Signals
) -> None:
    """Mark the pairs' alerts withdrawn and tell each hub (feed, webhook) and staff member
    (email) that had heard of the match: a withdrawal of a match nobody heard of is noise."""
    now = datetime.now(UTC)
    sides = {(hub, m.data.pair_id) for m in messages for hub in (m.data.hub_a, m.data.hub_b)}
    heard = await repository.withdraw_in_hubs(session, sorted(sides), MATCH_ALERTS, now)
    pairs = sorted({m.data.pair_id for m in messages})
    emailed = await _told_by_email(session, pairs)
    names = await _names(
        session, (p for m in messages for p in (m.data.profile_a, m.data.profile_b))
    )
    notices = []
    for message in messages:
        withdrawal = message.data
        name_a = names.get(withdrawal.profile_a, UNKNOWN)
        name_b = names.get(withdrawal.profile_b, UNKNOWN)
        # Told once: a second withdrawal of the pair in the run finds nothing left to withdraw.
        hubs = [hub for hub, pair in heard if pair == withdrawal.pair_id]
        heard -= {(hub, withdrawal.pair_id) for hub in hubs}
        notices.append(
            _notice(
                message,
                render_withdrawal(withdrawal, name_a, name_b),
                subject=withdrawal.pair_id,
                payload={
                    "withdrawal": withdrawal.model_dump(mode="json"),
                    "name_a": name_a,
                    "name_b": name_b,
                },
                hubs=hubs,
                staff=emailed.pop(withdrawal.pair_id, set()),
            )
        )
    staff = sorted({key for notice in notices for key in notice.staff})
    await _fan_out(session, signals, notices, await repository.preferences_for(session, staff))


# --------------------------------------------------------------------------- meetings


async def on_meeting(
    session: AsyncSession, message: MeetingScheduled | MeetingCancelled, signals: Signals
) -> None:
    """A meeting change is transactional: every hub concerned (both sides and the
    organiser) gets it in its feed and webhook, and every staff member of those hubs who
    takes email gets it at once with the invite attached, whatever their subscriptions."""
    meeting = message.data
    _known_zone(meeting.timezone)
    names = await _names(session, (meeting.profile_a, meeting.profile_b))
    name_a = names.get(meeting.profile_a, UNKNOWN)
    name_b = names.get(meeting.profile_b, UNKNOWN)
    hubs = sorted({meeting.hub_a, meeting.hub_b, meeting.hub})
    rows = await repository.preferences_in_hubs(session, hubs)
    preferences = {(row["hub"], row["subject"]): row for row in rows}
    notice = _notice(
        message,
        render_meeting(meeting, name_a, name_b),
        subject=str(meeting.id),
        payload={"meeting": meeting.model_dump(mode="json"), "name_a": name_a, "name_b": name_b},
        hubs=hubs,
        staff=preferences.keys(),
    )
    await _fan_out(session, signals, [notice], preferences)


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
    notice = _notice(
        message,
        rendered,
        subject=str(message.data.id),
        payload=payload,
        hubs=(hub for hub, _ in staff),
        staff=staff,
    )
    preferences = await repository.preferences_for(session, sorted(staff))
    await _fan_out(session, signals, [notice], preferences)


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
    data = event.model_dump(mode="json")
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
    await _suppress_moot(session, [subject], notices, "event cancelled before it was delivered")
    payload = {"event": stored, "reason": cancelled.reason}
    rendered = render_event_cancelled(event, cancelled.reason)
    sectors = [sector.value for sector in event.sectors]
    await _event_notice(session, signals, message, sectors, rendered, payload)


# --------------------------------------------------------------------------- feed


async def feed(
    session: AsyncSession, principal: Principal, *, unread_only: bool, page: int, per_page: int
) -> dict[str, Any]:
    """A page of the caller's hub feed with the caller's own read marks."""
    rows, total = await repository.feed(
        session,
        principal.hub,
        principal.subject,
        unread_only=unread_only,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return {"items": rows, "total": total, "page": page, "per_page": per_page}


async def mark_read(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> bool:
    """Mark one notification read for the caller only; False if their hub's feed has none
    with that id."""
    return await repository.mark_read(
        session, principal.hub, principal.subject, notification_id, datetime.now(UTC)
    )


async def mark_all_read(
    session: AsyncSession, principal: Principal, *, before: datetime | None
) -> int:
    """Mark the caller's hub feed read for the caller (up to `before`); how many were new."""
    return await repository.mark_all_read(
        session, principal.hub, principal.subject, datetime.now(UTC), before=before
    )


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
