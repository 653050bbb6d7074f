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

from tandem_events.domain.audience import Attendee, Audience
from tandem_events.domain.events import Event
from tandem_events.domain.meetings import Meeting
from tandem_events.domain.registrations import DirectoryEntry, Registration
from tandem_events.repository import registrations as registrations_repository
from tandem_events.repository import schedule as schedule_repository
from tandem_events.service.events import get_event
from tandem_shared.auth import Principal
from tandem_shared.errors import NotFound


@dataclass(frozen=True)
class Roster:
    """An event's registrations with what the directory says of their organisations: who
    may read what of the event is decided on it (`domain.audience`)."""

    event: Event
    registrations: dict[uuid.UUID, Registration]  # in the order they were made
    entries: dict[uuid.UUID, DirectoryEntry]  # by profile id, of those the directory holds

    def attendee(self, registration_id: uuid.UUID) -> Attendee:
        registration = self.registrations.get(registration_id)
        if registration is None:
            raise NotFound("registration not found")
        entry = self.entries.get(registration.profile_id)
        sharing = None if entry is None else entry.sharing
        return Attendee(registration_id=registration_id, hub=registration.hub, sharing=sharing)

    def audience(self, principal: Principal) -> Audience:
        """The caller as a reader of the event (`domain.audience`)."""
        hubs = (registration.hub for registration in self.registrations.values())
        return Audience.of(principal, self.event.hub, hubs)

    def name(self, registration_id: uuid.UUID, audience: Audience) -> str:
        entry = self.entries.get(self.registrations[registration_id].profile_id)
        return audience.name(self.attendee(registration_id), None if entry is None else entry.name)

    def sees_pair(self, audience: Audience, a: uuid.UUID, b: uuid.UUID) -> bool:
        return audience.sees_pair(self.attendee(a), self.attendee(b))


@dataclass(frozen=True)
class Board(Roster):
    meetings: Sequence[Meeting]  # of every status, by slot and table

    def scheduled(self) -> list[Meeting]:
        return [meeting for meeting in self.meetings if meeting.scheduled]

    def visible_meetings(self, audience: Audience) -> list[Meeting]:
        """The scheduled meetings the reader may see."""
        return [m for m in self.scheduled() if self.sees_pair(audience, *m.sides)]

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


async def load_roster(session: AsyncSession, event_id: uuid.UUID) -> Roster:
    event = await get_event(session, event_id)
    registrations = {
        registration.id: registration
        for registration in await registrations_repository.event_registrations(session, event.id)
    }
    entries = await registrations_repository.directory_entries(
        session, [registration.profile_id for registration in registrations.values()]
    )
    return Roster(event, registrations, entries)


async def load_board(session: AsyncSession, event_id: uuid.UUID) -> Board:
    roster = await load_roster(session, event_id)
    meetings = await schedule_repository.event_meetings(session, event_id)
    return Board(roster.event, roster.registrations, roster.entries, meetings)


def _local(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def meeting_view(board: Board, meeting: Meeting, audience: Audience) -> dict[str, Any]:
    """A meeting as the API shows it: local times and both organisations' names, as far
    as the reader may see them."""
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
        "organisation_a": board.name(meeting.registration_a, audience),
        "organisation_b": board.name(meeting.registration_b, audience),
        "person_a": meeting.person_a,
        "person_b": meeting.person_b,
        "outcome": meeting.outcome,
        "rating": meeting.rating,
    }
