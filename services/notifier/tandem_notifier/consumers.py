"""The notifier's subscriptions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import service
from tandem_notifier.domain.alerts import AlertPolicy
from tandem_notifier.live import delivery_signal, feed_signal
from tandem_notifier.tables import directory
from tandem_shared.bus.consumer import Batched, Subscription
from tandem_shared.contracts import (
    EVENTS,
    MATCHES,
    MEETINGS,
    EventCancelled,
    EventScheduled,
    EventUpdated,
    MatchSuggested,
    MatchUpdated,
    MatchWithdrawn,
    MeetingCancelled,
    MeetingScheduled,
)
from tandem_shared.directory import directory_subscription
from tandem_shared.runtime import Runtime

# Each profile update brings ~15 match messages (suggested, updated, withdrawn). A poll's
# records are handled in one transaction, and the match handlers are `Batched`: a run of
# consecutive match messages is looked up and written with the same few set-based
# statements as one. The handlers' effects are all in the transaction or after commit
# (feed and delivery wake-ups), so a failed batch is simply redone one record at a time.
# A batch's notifications reach the feed only when it commits, so its length is latency
# too: 100 records take tens of milliseconds (bench/matcher_throughput.py).
BATCH = 100


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    signals = service.fanout.Signals(feed=feed_signal(runtime), deliveries=delivery_signal(runtime))
    policy = AlertPolicy(runtime.settings.alert_min_score, runtime.settings.alert_daily_cap)

    async def on_matches(
        session: AsyncSession, messages: Sequence[MatchSuggested | MatchUpdated]
    ) -> None:
        await service.matches.on_matches(session, messages, signals, policy)

    async def on_withdrawals(session: AsyncSession, messages: Sequence[MatchWithdrawn]) -> None:
        await service.matches.on_withdrawals(session, messages, signals)

    matches, withdrawals = Batched(on_matches), Batched(on_withdrawals)

    async def on_meeting(
        session: AsyncSession, message: MeetingScheduled | MeetingCancelled
    ) -> None:
        await service.meetings.on_meeting(session, message, signals)

    async def on_event(session: AsyncSession, message: EventScheduled | EventUpdated) -> None:
        await service.events.on_event(session, message, signals)

    async def on_event_cancelled(session: AsyncSession, message: EventCancelled) -> None:
        await service.events.on_event_cancelled(session, message, signals)

    return [
        # The shared directory projection plus the subsectors sector subscriptions need.
        directory_subscription(
            directory,
            after_upsert=service.profiles.on_upserted,
            after_erase=service.profiles.on_erased,
            batch_size=BATCH,
        ),
        Subscription(
            name="matches",
            topics=(MATCHES,),
            handlers={
                MatchSuggested: matches,
                MatchUpdated: matches,
                MatchWithdrawn: withdrawals,
            },
            batch_size=BATCH,
        ),
        Subscription(
            name="meetings",
            topics=(MEETINGS,),
            handlers={MeetingScheduled: on_meeting, MeetingCancelled: on_meeting},
        ),
        Subscription(
            name="events",
            topics=(EVENTS,),
            handlers={
                EventScheduled: on_event,
                EventUpdated: on_event,
                EventCancelled: on_event_cancelled,
            },
        ),
    ]
