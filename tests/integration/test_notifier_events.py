"""Event notices over the real broker and PostgreSQL, to a real SMTP server: a change and
a cancellation reach the sector subscribers like the announcement did, in their language,
saying what changed; invisible changes, stale versions and cancellations of events never
seen notify nobody."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tandem_notifier.tables import bus
from tandem_shared.contracts import (
    EVENTS,
    EventCancelled,
    EventCancelledData,
    EventData,
    EventScheduled,
    EventUpdated,
    OrgKind,
)
from tandem_shared.db import transaction
from tests.support import bearer, eventually
from tests.support import sample_event as event
from tests.support.notifier import Notifier, body

pytestmark = pytest.mark.integration

SOURCE = "/tandem/events/test"


def scheduled(data: EventData) -> EventScheduled:
    return EventScheduled(source=SOURCE, subject=str(data.id), hub=data.hub, data=data)


def updated(data: EventData) -> EventUpdated:
    return EventUpdated(source=SOURCE, subject=str(data.id), hub=data.hub, data=data)


def cancelled(event_id: uuid.UUID, version: int, reason: str | None) -> EventCancelled:
    data = EventCancelledData(id=event_id, hub="organiser", version=version, reason=reason)
    return EventCancelled(source=SOURCE, subject=str(event_id), hub="organiser", data=data)


async def handled(notifier: Notifier, message_id: uuid.UUID) -> None:
    """Wait until the notifier's event consumer has handled (and committed) the message:
    the way to know that a message which should notify nobody indeed did not."""

    async def in_inbox() -> bool:
        async with transaction(notifier.app.state.runtime.sessionmaker) as session:
            row = await session.execute(
                select(bus.inbox.c.message_id).where(bus.inbox.c.message_id == str(message_id))
            )
            return row.first() is not None

    await eventually(in_inbox, what=f"message {message_id} handled")


async def test_changes_and_cancellation_reach_the_sector_audience(notifier: Notifier) -> None:
    await notifier.staff(
        "maker@demo.example", language="sl", subscriptions=[{"scope": "sector", "kind": "industry"}]
    )
    await notifier.staff(
        "designer@other.example",
        "other",
        language="de",
        subscriptions=[{"scope": "sector", "kind": "creative", "subsector": "design"}],
    )
    await notifier.staff(
        "curator@demo.example", subscriptions=[{"scope": "sector", "kind": "heritage"}]
    )
    await notifier.staff(
        "reader@demo.example",
        delivery="daily_digest",
        subscriptions=[{"scope": "sector", "kind": "industry"}],
    )
    await notifier.publish(EVENTS.name, scheduled(event()))
    (announced,) = await notifier.mail_to("maker@demo.example")
    assert announced["Subject"] == "Nov dogodek za vaše sektorje: Industry meets Design"

    # Moved a day later to another venue, and opened to the creative sector.
    later = datetime(2027, 1, 21, 13, 0, tzinfo=UTC)
    moved = event(
        2,
        starts_at=later,
        ends_at=later + timedelta(hours=2),
        venue="Gospodarsko razstavišče",
        sectors=[OrgKind.INDUSTRY, OrgKind.CREATIVE],
    )
    await notifier.publish(EVENTS.name, updated(moved))
    change = (await notifier.mail_to("maker@demo.example", 2))[1]
    assert change["Subject"] == "Sprememba dogodka: Industry meets Design"
    text = body(change, "plain")
    assert "Spremenjeno: čas, kraj, sektorji" in text
    assert "2027-01-21 14:00-16:00 (Europe/Ljubljana)" in text
    assert "Gospodarsko razstavišče" in text
    assert change["List-Unsubscribe"]  # event notices are not transactional
    (german,) = await notifier.mail_to("designer@other.example")  # the sector it gained
    assert german["Subject"] == "Veranstaltung geändert: Industry meets Design"
    assert "Geändert: Zeit, Ort, Sektoren" in body(german, "plain")

    # Only its sessions changed (the same EventData, a new version): nobody hears of it.
    invisible = updated(event(3, **moved.model_dump(exclude={"version"})))
    await notifier.publish(EVENTS.name, invisible)
    await handled(notifier, invisible.id)

    await notifier.publish(EVENTS.name, cancelled(moved.id, 4, "venue flooded"))
    cancellation = (await notifier.mail_to("maker@demo.example", 3))[2]
    assert cancellation["Subject"] == "Dogodek odpovedan: Industry meets Design"
    text = body(cancellation, "plain")
    assert "Razlog: venue flooded" in text and "Gospodarsko razstavišče" in text
    abgesagt = (await notifier.mail_to("designer@other.example", 2))[1]
    assert abgesagt["Subject"] == "Veranstaltung abgesagt: Industry meets Design"

    # A late copy of an older version (a new message id, as a replay would have) is stale.
    stale = updated(moved)
    await notifier.publish(EVENTS.name, stale)
    await handled(notifier, stale.id)
    assert len(notifier.smtp.to("maker@demo.example")) == 3
    assert len(notifier.smtp.to("designer@other.example")) == 2
    assert not notifier.smtp.to("curator@demo.example")

    # The digest reader's held notices are moot once the event is cancelled: only the
    # cancellation waits for the digest.
    held = {
        row["kind"]: row["status"]
        for row in await notifier.deliveries(channel="email")
        if row["recipient"] == "reader@demo.example"
    }
    assert held == {
        "event.scheduled": "suppressed",
        "event.updated": "suppressed",
        "event.cancelled": "digested",
    }

    auth = bearer(notifier.settings, "demo", subject="maker@demo.example")
    feed = (await notifier.client.get("/v1/notifications", headers=auth)).json()["items"]
    by_kind = {item["kind"]: item for item in feed}
    assert sorted(by_kind) == ["event.cancelled", "event.scheduled", "event.updated"]
    assert len(feed) == 3
    assert by_kind["event.cancelled"]["title"] == "Event cancelled: Industry meets Design"
    assert by_kind["event.updated"]["body"].endswith("changed: time, place, sectors")
    # The announcement and the change are moot now; the cancellation is not.
    assert by_kind["event.scheduled"]["withdrawn_at"] is not None
    assert by_kind["event.updated"]["withdrawn_at"] is not None
    assert by_kind["event.cancelled"]["withdrawn_at"] is None


async def test_an_update_of_an_event_never_seen_says_updated_with_its_new_state(
    notifier: Notifier,
) -> None:
    await notifier.staff(
        "maker@demo.example", subscriptions=[{"scope": "sector", "kind": "industry"}]
    )
    await notifier.publish(EVENTS.name, updated(event(5, venue="Hall C")))
    (mail,) = await notifier.mail_to("maker@demo.example")
    assert mail["Subject"] == "Event changed: Industry meets Design"
    text = body(mail, "plain")
    assert "What changed" not in text  # no earlier version to compare with
    assert "When: 2027-01-20 09:00-12:00 (Europe/Ljubljana)" in text and "Hall C" in text


async def test_a_cancellation_of_an_event_never_seen_notifies_nobody(
    notifier: Notifier,
) -> None:
    await notifier.staff(
        "maker@demo.example", subscriptions=[{"scope": "sector", "kind": "industry"}]
    )
    unknown = cancelled(uuid.uuid4(), 2, None)
    await notifier.publish(EVENTS.name, unknown)
    await handled(notifier, unknown.id)
    # Its announcement arriving late (an older version) is stale too.
    late = scheduled(event(1, id=unknown.data.id))
    await notifier.publish(EVENTS.name, late)
    await handled(notifier, late.id)
    assert await notifier.deliveries() == []
    auth = bearer(notifier.settings, "demo", subject="maker@demo.example")
    assert (await notifier.client.get("/v1/notifications", headers=auth)).json()["total"] == 0
    assert not notifier.smtp.messages
