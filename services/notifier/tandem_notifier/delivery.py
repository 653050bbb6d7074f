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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_notifier import mail, repository, webhooks
from tandem_notifier.domain.policy import Channel, Status, after_failure
from tandem_notifier.live import FeedSignal
from tandem_notifier.repository.deliveries import Delivery
from tandem_notifier.service.digests import build_digests
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
            claimed = await repository.deliveries.claim_due(
                session, now, limit=self.settings.delivery_batch, lease_until=lease
            )
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(delivery) for delivery in claimed))
        async with transaction(self.sessionmaker) as session:
            for outcome in outcomes:
                await self._settle(session, outcome)
        return len(claimed)

    async def _attempt(self, delivery: Delivery) -> Outcome:
        try:
            await self._send(delivery)
            error: BaseException | None = None
        except asyncio.CancelledError:
            raise
        except Exception as failure:
            error = failure
            log.warning(
                "delivery.failed",
                delivery=str(delivery.id),
                channel=delivery.channel,
                attempt=delivery.attempts,
                error=repr(failure),
            )
        return Outcome(delivery.id, delivery.attempts, error)

    async def _send(self, delivery: Delivery) -> None:
        if delivery.channel is Channel.EMAIL:
            await mail.send(self.settings, self._email(delivery))
            return
        async with transaction(self.sessionmaker) as session:
            webhook = await repository.deliveries.webhook_of(session, delivery.hub)
        await webhooks.post(webhook, delivery, self.settings)

    def _email(self, delivery: Delivery) -> EmailMessage:
        if delivery.address is None:
            raise mail.PermanentEmailError("the email delivery has no address")
        # Alerts and digests can be stopped in one click; meeting changes cannot.
        unsubscribe = (
            None
            if delivery.transactional
            else mail.unsubscribe_url(self.settings, delivery.hub, delivery.recipient)
        )
        return mail.build_message(
            self.settings,
            delivery_id=str(delivery.id),
            kind=delivery.kind,
            payload=delivery.payload,
            language=delivery.language,
            to=delivery.address,
            unsubscribe_url=unsubscribe,
        )

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
        await repository.deliveries.settle(session, outcome.delivery_id, outcome.attempts, values)


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
