"""What every notice becomes: an entry in each concerned hub's feed, a call of their
webhooks and an email to each staff member concerned as their preferences say (digest,
daily cap, quiet hours), written with a few statements for a whole run of notices.

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

from tandem_notifier import repository
from tandem_notifier.domain.messages import Rendered
from tandem_notifier.domain.policy import Channel, Status, day_start, decide, recipient_zone
from tandem_notifier.domain.preferences import Preferences, email_address
from tandem_notifier.domain.recipients import StaffKey
from tandem_notifier.live import FeedSignal, notify_after_commit
from tandem_notifier.repository.deliveries import Delivery
from tandem_shared.bus.consumer import PoisonMessage
from tandem_shared.contracts import (
    EventCancelled,
    EventScheduled,
    EventUpdated,
    MatchSuggested,
    MatchUpdated,
    MatchWithdrawn,
    MeetingCancelled,
    MeetingScheduled,
)

HUB_RECIPIENT = "*"
UNKNOWN = "an organisation"
TRANSACTIONAL = frozenset({"meeting.scheduled", "meeting.cancelled"})


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


def known_zone(zone: str) -> None:
    """A meeting or event in a time zone nobody knows can never be rendered: dead-letter
    it at once instead of retrying."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise PoisonMessage(f"unknown time zone {zone!r}") from error


async def names(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await repository.recipients.profile_names(session, sorted(set(ids)))


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


def new_notice(
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
        "channel": Channel.FEED,
        "kind": notice.message.type,
        "subject": notice.outgoing.subject,
        "title": notice.rendered.title[:300],
        "body": notice.rendered.body,
        "data": notice.message.data.model_dump(mode="json"),
        "source_message_id": notice.outgoing.message_id,
        "created_at": now,
        "withdrawn_at": None,
    }


def delivery_row(
    outgoing: Outgoing,
    *,
    hub: str,
    recipient: str,
    channel: Channel,
    status: Status,
    not_before: datetime,
    now: datetime,
    address: str | None = None,
    language: str = "en",
    reason: str | None = None,
) -> dict[str, Any]:
    """A new `deliveries` row: `outgoing` for one recipient on one channel."""
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
        "status": status,
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
    return bool(await repository.feed.insert_notifications(session, rows))


async def _queue_webhooks(session: AsyncSession, notices: Sequence[Notice], now: datetime) -> bool:
    hubs = sorted({hub for notice in notices for hub in notice.hubs})
    enabled = await repository.deliveries.enabled_webhook_hubs(session, hubs)
    rows = [
        delivery_row(
            notice.outgoing,
            hub=hub,
            recipient=HUB_RECIPIENT,
            channel=Channel.WEBHOOK,
            status=Status.PENDING,
            not_before=now,
            now=now,
        )
        for notice in notices
        for hub in notice.hubs
        if hub in enabled
    ]
    return bool(await repository.deliveries.insert_deliveries(session, rows))


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
            await repository.deliveries.lock_recipient(self._session, hub, subject)

    async def sent_today(self, staff: StaffKey, preferences: Preferences) -> int:
        if staff not in self._counts:
            since = day_start(self._now, recipient_zone(preferences))
            self._counts[staff] = await repository.deliveries.count_alerts_since(
                self._session, *staff, since
            )
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
    preferences: Mapping[StaffKey, Preferences],
    now: datetime,
) -> bool:
    """Queue each notice's email to each of its staff as their preferences say (digest,
    cap, quiet hours); True if any is due to be sent."""
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
            if chosen is None or Channel.EMAIL not in chosen.channels or address is None:
                continue
            counts = _counts_toward_cap(notice, chosen)
            sent_today = await caps.sent_today(key, chosen) if counts else 0
            decision = decide(
                now, chosen, transactional=notice.outgoing.transactional, sent_today=sent_today
            )
            if counts and decision.status is Status.PENDING:
                caps.queued(key)
            rows.append(
                delivery_row(
                    notice.outgoing,
                    hub=key[0],
                    recipient=key[1],
                    channel=Channel.EMAIL,
                    status=decision.status,
                    not_before=decision.not_before,
                    now=now,
                    address=address,
                    language=chosen.language,
                    reason=decision.reason,
                )
            )
    statuses = await repository.deliveries.insert_deliveries(session, rows)
    return Status.PENDING in statuses


async def fan_out(
    session: AsyncSession,
    signals: Signals,
    notices: Sequence[Notice],
    preferences: Mapping[StaffKey, Preferences],
) -> None:
    """Feed entries, emails and webhooks of every notice, a few statements for all of
    them; then wake the live streams and the delivery worker once the transaction commits.
    `preferences` are the stored ones of the notices' staff (without any: no email)."""
    now = datetime.now(UTC)
    fed = await _feed(session, notices, now)
    queued = await _queue_emails(session, notices, preferences, now)
    queued |= await _queue_webhooks(session, notices, now)
    if fed:
        notify_after_commit(session, signals.feed)
    if queued:
        notify_after_commit(session, signals.deliveries)


async def suppress_moot(
    session: AsyncSession, subjects: Sequence[str], kinds: Sequence[str], reason: str
) -> list[Delivery]:
    """Suppress the emails about `subjects` still waiting or held for a digest (their news
    is moot); returns all the emails of those kinds about them, as they were before."""
    emails = await repository.deliveries.email_deliveries_of(session, subjects, kinds)
    moot = [email.id for email in emails if email.unsent]
    await repository.deliveries.suppress(session, moot, reason)
    return emails
