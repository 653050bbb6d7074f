"""Events: a new, changed or cancelled event reaches the staff subscribed to its sectors.

Event notices are not transactional: digest, cap and quiet hours apply, and the emails
carry an unsubscribe link."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository
from tandem_notifier.domain.events import NOTICES, audience_sectors, event_changes
from tandem_notifier.domain.messages import (
    Rendered,
    render_event,
    render_event_cancelled,
    render_event_update,
)
from tandem_notifier.domain.recipients import event_recipients
from tandem_notifier.service.fanout import Signals, fan_out, known_zone, new_notice, suppress_moot
from tandem_shared.contracts import EventCancelled, EventData, EventScheduled, EventUpdated
from tandem_shared.logging import get_logger

log = get_logger(__name__)


async def _notify_sectors(
    session: AsyncSession,
    signals: Signals,
    message: EventScheduled | EventUpdated | EventCancelled,
    sectors: Iterable[str],
    rendered: Rendered,
    payload: dict[str, Any],
) -> None:
    """Reach the staff subscribed to any of `sectors`: the feeds of their hubs, their email
    and their hubs' webhooks."""
    subscriptions = await repository.recipients.sector_subscriptions(session)
    staff = event_recipients(subscriptions, sectors)
    if not staff:
        return
    notice = new_notice(
        message,
        rendered,
        subject=str(message.data.id),
        payload=payload,
        hubs=(hub for hub, _ in staff),
        staff=staff,
    )
    preferences = await repository.recipients.preferences_for(session, sorted(staff))
    await fan_out(session, signals, [notice], preferences)


async def on_event(
    session: AsyncSession, message: EventScheduled | EventUpdated, signals: Signals
) -> None:
    """A new event reaches the subscribers of its sectors. A change reaches those of the
    sectors it had and has, saying what changed when the notifier knew the version before
    (`event.updated` carries no diff); a change nobody could see in a notice (sessions,
    tables, description) notifies nobody."""
    event = message.data
    known_zone(event.timezone)
    stored = await repository.events.event_of(session, event.id)
    before = EventData.model_validate(stored) if stored is not None else None
    data = event.model_dump(mode="json")
    if not await repository.events.project_event(
        session, event.id, event.version, message.time, data=data
    ):
        return  # a stale or repeated version
    if isinstance(message, EventScheduled):
        sectors = [sector.value for sector in event.sectors]
        await _notify_sectors(
            session, signals, message, sectors, render_event(event), {"event": data}
        )
        return
    changes = event_changes(before, event)
    if changes == []:
        return
    rendered = render_event_update(event, changes)
    payload = {"event": data, "changes": changes}
    await _notify_sectors(
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
    stored = await repository.events.event_of(session, cancelled.id)
    if not await repository.events.project_event(
        session, cancelled.id, cancelled.version, message.time, cancelled=True
    ):
        return  # a stale or repeated version
    if stored is None:
        log.info("event.cancelled.unknown", event_id=str(cancelled.id))
        return
    event = EventData.model_validate(stored)
    subject = str(event.id)
    notices = [kind for kind in NOTICES if kind != "event.cancelled"]
    await repository.feed.withdraw_alerts(session, subject, notices, datetime.now(UTC))
    await suppress_moot(session, [subject], notices, "event cancelled before it was delivered")
    payload = {"event": stored, "reason": cancelled.reason}
    rendered = render_event_cancelled(event, cancelled.reason)
    sectors = [sector.value for sector in event.sectors]
    await _notify_sectors(session, signals, message, sectors, rendered, payload)
