"""After the event: meeting outcomes and the organiser's statistics (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from statistics import fmean

from pydantic import BaseModel, Field

from tandem_events.domain.events import Strict
from tandem_events.domain.meetings import MeetingStatus
from tandem_events.domain.requests import RequestStatus
from tandem_shared.contracts import MeetingOutcome

# A follow-up or an agreement means the meeting took place.
HELD = frozenset({MeetingOutcome.HELD, MeetingOutcome.FOLLOW_UP, MeetingOutcome.AGREEMENT})


class OutcomeIn(Strict):
    outcome: MeetingOutcome
    rating: int | None = Field(None, ge=1, le=5, description="satisfaction, 1 (poor) to 5")


class EventStats(BaseModel):
    requests: int
    requests_pending: int
    requests_accepted: int
    requests_declined: int
    acceptance_rate: float | None = Field(description="accepted / answered; None if none answered")
    suggestions: int
    meetings_scheduled: int
    outcomes_recorded: int
    meetings_held: int
    no_shows: int
    follow_ups: int
    agreements: int
    mean_rating: float | None


def event_stats(
    *,
    request_statuses: Iterable[RequestStatus],
    suggestions: int,
    meetings: Iterable[tuple[MeetingStatus, MeetingOutcome | None, int | None]],
) -> EventStats:
    """`meetings` are (status, outcome, rating) of every meeting ever scheduled; only
    scheduled ones count (a cancelled meeting did not happen)."""
    statuses = list(request_statuses)
    accepted = statuses.count(RequestStatus.ACCEPTED)
    declined = statuses.count(RequestStatus.DECLINED)
    live = [
        (outcome, rating)
        for status, outcome, rating in meetings
        if status == MeetingStatus.SCHEDULED
    ]
    outcomes = [outcome for outcome, _ in live if outcome is not None]
    ratings = [rating for _, rating in live if rating is not None]
    return EventStats(
        requests=len(statuses),
        requests_pending=statuses.count(RequestStatus.PENDING),
        requests_accepted=accepted,
        requests_declined=declined,
        acceptance_rate=accepted / (accepted + declined) if accepted + declined else None,
        suggestions=suggestions,
        meetings_scheduled=len(live),
        outcomes_recorded=len(outcomes),
        meetings_held=sum(1 for outcome in outcomes if outcome in HELD),
        no_shows=outcomes.count(MeetingOutcome.NO_SHOW),
        follow_ups=outcomes.count(MeetingOutcome.FOLLOW_UP),
        agreements=outcomes.count(MeetingOutcome.AGREEMENT),
        mean_rating=round(fmean(ratings), 2) if ratings else None,
    )
