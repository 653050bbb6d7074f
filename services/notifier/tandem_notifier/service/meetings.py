"""Meetings: a change is transactional and reaches everyone concerned at once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_notifier import repository
from tandem_notifier.domain.messages import render_meeting
from tandem_notifier.service.fanout import UNKNOWN, Signals, fan_out, known_zone, names, new_notice
from tandem_shared.contracts import MeetingCancelled, MeetingScheduled


async def on_meeting(
    session: AsyncSession, message: MeetingScheduled | MeetingCancelled, signals: Signals
) -> None:
    """Every hub concerned (both sides and the organiser) gets the change in its feed and
    webhook, and every staff member of those hubs who takes email gets it at once with the
    invite attached, whatever their subscriptions."""
    meeting = message.data
    known_zone(meeting.timezone)
    found = await names(session, (meeting.profile_a, meeting.profile_b))
    name_a = found.get(meeting.profile_a, UNKNOWN)
    name_b = found.get(meeting.profile_b, UNKNOWN)
    hubs = sorted({meeting.hub_a, meeting.hub_b, meeting.hub})
    preferences = await repository.recipients.preferences_in_hubs(session, hubs)
    meeting_notice = new_notice(
        message,
        render_meeting(meeting, name_a, name_b),
        subject=str(meeting.id),
        payload={"meeting": meeting.model_dump(mode="json"), "name_a": name_a, "name_b": name_b},
        hubs=hubs,
        staff=preferences.keys(),
    )
    await fan_out(session, signals, [meeting_notice], preferences)
