"""After the event: how each meeting went."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.meetings import Meeting
from tandem_events.repository.common import record
from tandem_events.tables import meetings
from tandem_shared.contracts import MeetingOutcome


async def record_outcome(
    session: AsyncSession, meeting_id: uuid.UUID, outcome: MeetingOutcome, rating: int | None
) -> Meeting:
    """The outcome's next version (the scheduler does not read outcomes)."""
    query = (
        update(meetings)
        .where(meetings.c.id == meeting_id)
        .values(outcome=outcome, rating=rating, outcome_version=meetings.c.outcome_version + 1)
        .returning(meetings)
    )
    return record(Meeting, (await session.execute(query)).one())
