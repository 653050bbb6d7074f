"""An event's schedule as read for its outputs (the schedule, agendas, calendars, the
table plan, outcomes): the meetings with the registrations and names they refer to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.events import Event
from tandem_events.domain.meetings import Meeting
from tandem_events.domain.registrations import Registration
from tandem_events.repository import registrations as registrations_repository
from tandem_events.repository import schedule as schedule_repository
from tandem_events.service.events import get_event
from tandem_shared.errors import NotFound

UNKNOWN_ORGANISATION = "an organisation"


@dataclass(frozen=True)
class Board:
    event: Event
    meetings: Sequence[Meeting]  # of every status, by slot and table
    registrations: dict[uuid.UUID, Registration]
    names: dict[uuid.UUID, str]  # organisation names by profile id

    def name(self, registration_id: uuid.UUID) -> str:
        profile_id = self.registrations[registration_id].profile_id
        return self.names.get(profile_id, UNKNOWN_ORGANISATION)

    def scheduled(self) -> list[Meeting]:
        return [meeting for meeting in self.meetings if meeting.scheduled]

    def participant_meetings(self, registration_id: uuid.UUID) -> list[Meeting]:
        """The participant's scheduled meetings; NotFound if no such registration."""
        if registration_id not in self.registrations:
            raise NotFound("registration not found")
        return [meeting for meeting in self.scheduled() if registration_id in meeting.sides]

    def meeting(self, meeting_id: uuid.UUID) -> Meeting:
        found = next((meeting for meeting in self.meetings if meeting.id == meeting_id), None)
        if found is None:
            raise NotFound("meeting not found")
        return found


async def load_board(session: AsyncSession, event_id: uuid.UUID) -> Board:
    event = await get_event(session, event_id)
    meetings = await schedule_repository.event_meetings(session, event_id)
    registrations = {
        registration.id: registration
        for registration in await registrations_repository.event_registrations(session, event_id)
    }
    names = await registrations_repository.profile_names(
        session, [registration.profile_id for registration in registrations.values()]
    )
    return Board(event, meetings, registrations, names)


def _local(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def meeting_view(board: Board, meeting: Meeting) -> dict[str, Any]:
    """A meeting as the API shows it: local times and both organisations' names."""
    zone = board.event.timezone
    return {
        "id": meeting.id,
        "key": meeting.key,
        "version": meeting.version,
        "status": meeting.status,
        "slot": meeting.slot,
        "table": meeting.table_label,
        "starts_at": _local(meeting.starts_at, zone),
        "ends_at": _local(meeting.ends_at, zone),
        "accepted": meeting.accepted,
        "score": meeting.score,
        "registration_a": meeting.registration_a,
        "registration_b": meeting.registration_b,
        "organisation_a": board.name(meeting.registration_a),
        "organisation_b": board.name(meeting.registration_b),
        "person_a": meeting.person_a,
        "person_b": meeting.person_b,
        "outcome": meeting.outcome,
        "rating": meeting.rating,
    }
