"""What the events service says on the bus: its one publisher, and the contract data built
from its rows.

Every message of this service belongs to one event: it carries the organising hub and is
keyed by the event's id, so a consumer reads each event's messages in order."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.events import Event
from tandem_events.domain.meetings import Meeting
from tandem_events.domain.registrations import Registration
from tandem_events.tables import bus
from tandem_shared.bus.publisher import Publisher
from tandem_shared.contracts import (
    EVENTS,
    MEETINGS,
    REGISTRATIONS,
    Envelope,
    EventData,
    MeetingCancelledData,
    MeetingData,
    RegistrationData,
)

publisher = Publisher("events", bus, owns=(EVENTS, REGISTRATIONS, MEETINGS))
M = TypeVar("M", bound=Envelope)


def keyed_message(
    event: Event, message_type: type[M], *, subject: uuid.UUID, data: Any
) -> tuple[str, M]:
    """A message about `event` (or one of its registrations or meetings, `subject`), with
    its key: for `publisher.publish_many`."""
    message = publisher.message(message_type, hub=event.hub, subject=str(subject), data=data)
    return str(event.id), message


async def publish(
    session: AsyncSession, event: Event, message_type: type[M], *, subject: uuid.UUID, data: Any
) -> None:
    """Stage a message about `event` in the caller's transaction (the outbox)."""
    key, message = keyed_message(event, message_type, subject=subject, data=data)
    await publisher.publish(session, message, key=key)


def event_data(event: Event) -> EventData:
    return EventData(
        id=event.id,
        hub=event.hub,
        version=event.version,
        title=event.title,
        kind=event.kind,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        online=event.online,
        venue=event.place,
        languages=event.languages,
        sectors=event.sectors,
    )


def registration_data(event: Event, registration: Registration) -> RegistrationData:
    return RegistrationData(
        id=registration.id,
        event_id=event.id,
        profile_id=registration.profile_id,
        hub=registration.hub,
        version=registration.version,
    )


def _meeting_fields(
    event: Event, meeting: Meeting, registrations: Mapping[uuid.UUID, Registration]
) -> dict[str, Any]:
    """What `meeting.scheduled` and `meeting.cancelled` both say about a meeting: which
    event, who meets (both sides' profiles and hubs) and when."""
    a, b = registrations[meeting.registration_a], registrations[meeting.registration_b]
    return {
        "id": meeting.id,
        "event_id": event.id,
        "hub": event.hub,
        "version": meeting.version,
        "event_title": event.title,
        "timezone": event.timezone,
        "profile_a": a.profile_id,
        "profile_b": b.profile_id,
        "hub_a": a.hub,
        "hub_b": b.hub,
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
    }


def meeting_data(
    event: Event, meeting: Meeting, registrations: Mapping[uuid.UUID, Registration]
) -> MeetingData:
    return MeetingData(
        **_meeting_fields(event, meeting, registrations),
        table=meeting.table_label,
        location=event.place,
        online=event.online,
        person_a=meeting.person_a,
        person_b=meeting.person_b,
    )


def cancelled_data(
    event: Event,
    meeting: Meeting,
    registrations: Mapping[uuid.UUID, Registration],
    *,
    reason: str | None = None,
) -> MeetingCancelledData:
    return MeetingCancelledData(**_meeting_fields(event, meeting, registrations), reason=reason)
