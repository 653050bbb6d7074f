"""The delivery worker and the digest task: supervised background tasks of the runtime.

The worker claims due pending deliveries (a short transaction that counts the attempt and
leases the rows), sends them outside any transaction, then records each outcome in
another short transaction. A crash between claim and record leaves the rows due again
once the lease ran out, so a restart resumes where it stopped (at-least-once: an email
whose send succeeded just before a crash may go out twice; the Message-ID and the
X-Tandem-Delivery header let receivers drop it).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_notifier import mail, repository, webhooks
from tandem_notifier.domain.digest import digest_payload, group_by_profile, held_events
from tandem_notifier.domain.policy import Status, after_failure, digest_date, quiet_until
from tandem_notifier.domain.preferences import Preferences, email_address, preferences_of
from tandem_notifier.live import FeedSignal
from tandem_notifier.settings import NotifierSettings
from tandem_shared.db import transaction
from tandem_shared.logging import get_logger

log = get_logger(__name__)

# Failures that retrying cannot cure: fail at once instead of after N tries.
PERMANENT = (mail.PermanentEmailError, webhooks.UnsafeTarget, webhooks.WebhookGone)


@dataclass(frozen=True)
class Outcome:
    delivery_id: uuid.UUID
    attempts: int
    error: BaseException | None


@dataclass
class DeliveryWorker:
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: NotifierSettings
    signal: FeedSignal

    async def run(self) -> None:
        while True:
            waiter = self.signal.waiter()
            handled = await self.run_once()
            if handled < self.settings.delivery_batch:
                await self.signal.wait(waiter, self.settings.delivery_poll_seconds)

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim, send and settle one batch of due deliveries; how many were handled."""
        now = now or datetime.now(UTC)
        lease = now + timedelta(seconds=self.settings.delivery_lease_seconds)
        async with transaction(self.sessionmaker) as session:
            claimed = await repository.claim_due(
                session, now, limit=self.settings.delivery_batch, lease_until=lease
            )
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(row) for row in claimed))
        async with transaction(self.sessionmaker) as session:
            for outcome in outcomes:
                await self._settle(session, outcome)
        return len(claimed)

    async def _attempt(self, delivery: Mapping[Any, Any]) -> Outcome:
        try:
            await self._send(delivery)
            error: BaseException | None = None
        except asyncio.CancelledError:
            raise
        except Exception as failure:
            error = failure
            log.warning(
                "delivery.failed",
                delivery=str(delivery["id"]),
                channel=delivery["channel"],
                attempt=delivery["attempts"],
                error=repr(failure),
            )
        return Outcome(delivery["id"], delivery["attempts"], error)

    async def _send(self, delivery: Mapping[Any, Any]) -> None:
        if delivery["channel"] == "email":
            # Alerts and digests can be stopped in one click; meeting changes cannot.
            unsubscribe = (
                None
                if delivery["transactional"]
                else mail.unsubscribe_url(self.settings, delivery["hub"], delivery["recipient"])
            )
            message = mail.build_message(
                self.settings,
                delivery_id=str(delivery["id"]),
                kind=delivery["kind"],
                payload=delivery["payload"],
                language=delivery["language"],
                to=delivery["address"],
                unsubscribe_url=unsubscribe,
            )
            await mail.send(self.settings, message)
            return
        async with transaction(self.sessionmaker) as session:
            webhook = await repository.webhook_of(session, delivery["hub"])
        await webhooks.post(webhook, delivery, self.settings)

    async def _settle(self, session: AsyncSession, outcome: Outcome) -> None:
        now = datetime.now(UTC)
        if outcome.error is None:
            values: dict[str, Any] = {
                "status": Status.SENT.value,
                "sent_at": now,
                "last_error": None,
            }
        else:
            status, next_at = after_failure(
                now,
                outcome.attempts,
                max_attempts=self.settings.delivery_max_attempts,
                base_seconds=self.settings.delivery_backoff_seconds,
                max_seconds=self.settings.delivery_backoff_max_seconds,
                permanent=isinstance(outcome.error, PERMANENT),
            )
            values = {
                "status": status.value,
                "next_attempt_at": next_at,
                "last_error": repr(outcome.error)[:2000],
            }
        await repository.settle(session, outcome.delivery_id, outcome.attempts, values)


# --------------------------------------------------------------------------- digests


async def build_digests(
    session: AsyncSession, now: datetime, settings: NotifierSettings
) -> list[uuid.UUID]:
    """Queue one digest email per recipient whose held-back alerts are due at `now` (from
    `digest_hour` in their zone, once per local day); returns the digest deliveries."""
    held = await repository.held_for_digest(session)
    staff = sorted({(row["hub"], row["recipient"]) for row in held})
    stored = await repository.preferences_for(session, staff)
    built = []
    for (hub, recipient), rows in groupby(held, key=lambda r: (r["hub"], r["recipient"])):
        row = stored.get((hub, recipient))
        preferences = preferences_of(row) if row is not None else Preferences()
        digest_id = await _digest_for(
            session, hub, recipient, preferences, list(rows), now, settings.digest_hour
        )
        if digest_id is not None:
            built.append(digest_id)
    return built


async def _digest_for(
    session: AsyncSession,
    hub: str,
    recipient: str,
    preferences: Preferences,
    rows: list[Mapping[Any, Any]],
    now: datetime,
    hour: int,
) -> uuid.UUID | None:
    day = digest_date(now, preferences, hour)
    address = email_address(preferences, recipient) or rows[-1]["address"]
    if day is None or address is None:
        return None
    entries = [(row["kind"], row["payload"]) for row in rows]
    groups = group_by_profile(entries, hub)
    digest_id = uuid.uuid4()
    values = {
        "id": digest_id,
        # One digest per recipient and local day: the unique key makes a rerun a no-op.
        "source_message_id": f"digest:{day.isoformat()}",
        "hub": hub,
        "recipient": recipient,
        "channel": "email",
        "kind": "digest",
        "subject": day.isoformat(),
        "transactional": False,
        "address": address,
        "language": preferences.language,
        "payload": digest_payload(groups, held_events(entries), day.isoformat()),
        "status": Status.PENDING.value,
        "attempts": 0,
        "next_attempt_at": quiet_until(now, preferences.quiet_hours) or now,
        "last_error": None,
        "digest_id": None,
        "created_at": now,
        "sent_at": None,
    }
    if not await repository.insert_delivery(session, values):
        return None
    await repository.attach_to_digest(session, [row["id"] for row in rows], digest_id)
    return digest_id


@dataclass
class DigestTask:
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: NotifierSettings
    signal: FeedSignal

    async def run(self) -> None:
        while True:
            async with transaction(self.sessionmaker) as session:
                built = await build_digests(session, datetime.now(UTC), self.settings)
            if built:
                log.info("digests.queued", count=len(built))
                self.signal.notify()
            await asyncio.sleep(self.settings.digest_every_seconds)
