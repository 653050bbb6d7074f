"""Daily digests: one email per recipient and local day carrying their held-back alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository
from tandem_notifier.domain.digest import digest_payload, group_by_profile, held_events
from tandem_notifier.domain.policy import Channel, Status, digest_date, quiet_until
from tandem_notifier.domain.preferences import Preferences, email_address
from tandem_notifier.repository.deliveries import Delivery
from tandem_notifier.service.fanout import Outgoing, delivery_row
from tandem_notifier.settings import NotifierSettings

DIGEST = "digest"


async def build_digests(
    session: AsyncSession, now: datetime, settings: NotifierSettings
) -> list[uuid.UUID]:
    """Queue one digest email per recipient whose held-back alerts are due at `now` (from
    `digest_hour` in their zone, once per local day); returns the digest deliveries."""
    held = await repository.deliveries.held_for_digest(session)
    staff = sorted({(delivery.hub, delivery.recipient) for delivery in held})
    stored = await repository.recipients.preferences_for(session, staff)
    built = []
    for (hub, recipient), group in groupby(held, key=lambda d: (d.hub, d.recipient)):
        preferences = stored.get((hub, recipient), Preferences())
        digest_id = await _digest_for(
            session, hub, recipient, preferences, list(group), now, settings.digest_hour
        )
        if digest_id is not None:
            built.append(digest_id)
    return built


async def _digest_for(
    session: AsyncSession,
    hub: str,
    recipient: str,
    preferences: Preferences,
    held: list[Delivery],
    now: datetime,
    hour: int,
) -> uuid.UUID | None:
    day = digest_date(now, preferences, hour)
    address = email_address(preferences, recipient) or held[-1].address
    if day is None or address is None:
        return None
    entries = [(delivery.kind, delivery.payload) for delivery in held]
    payload = digest_payload(group_by_profile(entries, hub), held_events(entries), day.isoformat())
    # One digest per recipient and local day: the unique key makes a rerun a no-op.
    digest = Outgoing(f"digest:{day.isoformat()}", DIGEST, day.isoformat(), payload)
    values = delivery_row(
        digest,
        hub=hub,
        recipient=recipient,
        channel=Channel.EMAIL,
        status=Status.PENDING,
        not_before=quiet_until(now, preferences.quiet_hours) or now,
        now=now,
        address=address,
        language=preferences.language,
    )
    if not await repository.deliveries.insert_delivery(session, values):
        return None
    digest_id: uuid.UUID = values["id"]
    await repository.deliveries.attach_to_digest(session, [d.id for d in held], digest_id)
    return digest_id
