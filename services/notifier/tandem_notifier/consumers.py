"""The notifier's subscriptions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import service
from tandem_notifier.live import delivery_signal, feed_signal
from tandem_notifier.tables import directory
from tandem_shared.bus.consumer import Subscription
from tandem_shared.contracts import (
    EVENTS,
    MATCHES,
    MEETINGS,
    PROFILES,
    EventCancelled,
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
from tandem_shared.directory import forget_profile, project_profile
from tandem_shared.runtime import Runtime

# Each profile update brings ~10 match messages (suggested, updated, withdrawn): handling
# a poll's records in one transaction saves a commit per message. The handlers' effects
# are all in the transaction or after commit (feed and delivery wake-ups), so a failed
# batch is simply redone one record at a time. A batch's notifications reach the feed only
# when it commits, so its length is latency too: 20 records are ~100 ms of handling and
# already make the per-message commit cost small.
BATCH = 20


def _profiles() -> Subscription:
    """The shared directory projection plus the subsectors sector subscriptions need."""

    async def upserted(session: AsyncSession, message: ProfileUpserted) -> None:
        await project_profile(session, directory, message.data)
        await service.on_profile_upserted(session, message)

    async def erased(session: AsyncSession, message: ProfileErased) -> None:
        await forget_profile(session, directory, message.data)
        await service.on_profile_erased(session, message)

    return Subscription(
        name="profile-directory",
        topics=(PROFILES.name,),
        handlers={ProfileUpserted: upserted, ProfileErased: erased},
        batch_size=BATCH,
    )


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    signals = service.Signals(feed=feed_signal(runtime), deliveries=delivery_signal(runtime))

    async def on_match(session: AsyncSession, message: MatchSuggested | MatchUpdated) -> None:
        await service.on_match(session, message, signals)

    async def on_withdrawn(session: AsyncSession, message: MatchWithdrawn) -> None:
        await service.on_withdrawn(session, message, signals)

    async def on_meeting(
        session: AsyncSession, message: MeetingScheduled | MeetingCancelled
    ) -> None:
        await service.on_meeting(session, message, signals)

    async def on_event(session: AsyncSession, message: EventScheduled | EventUpdated) -> None:
        await service.on_event(session, message, signals)

    async def on_event_cancelled(session: AsyncSession, message: EventCancelled) -> None:
        await service.on_event_cancelled(session, message, signals)

    return [
        _profiles(),
        Subscription(
            name="matches",
            topics=(MATCHES.name,),
            handlers={
                MatchSuggested: on_match,
                MatchUpdated: on_match,
                MatchWithdrawn: on_withdrawn,
            },
            batch_size=BATCH,
        ),
        Subscription(
            name="meetings",
            topics=(MEETINGS.name,),
            handlers={MeetingScheduled: on_meeting, MeetingCancelled: on_meeting},
        ),
        Subscription(
            name="events",
            topics=(EVENTS.name,),
            handlers={
                EventScheduled: on_event,
                EventUpdated: on_event,
                EventCancelled: on_event_cancelled,
            },
        ),
    ]
