"""The shared meeting invite: stable UID, SEQUENCE from the version, local time with TZID."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from tandem_shared.calendar import Method, calendar_bytes, meeting_entry, meeting_uid
from tandem_shared.contracts import MeetingCancelledData, MeetingData

pytestmark = pytest.mark.unit

MEETING_ID = uuid.uuid4()
STARTS = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)  # 10:30 in Warsaw (CET)


def _meeting(version: int = 1) -> MeetingData:
    return MeetingData(
        id=MEETING_ID,
        event_id=uuid.uuid4(),
        hub="pl-podkarpackie",
        version=version,
        event_title="Culture and Creative Winter Market",
        timezone="Europe/Warsaw",
        profile_a=uuid.uuid4(),
        profile_b=uuid.uuid4(),
        hub_a="pl-podkarpackie",
        hub_b="de-sachsen",
        starts_at=STARTS,
        ends_at=STARTS + timedelta(minutes=20),
        table="7",
        location="Hala Targowa, Rzeszów",
    )


def test_invite_carries_the_local_time_with_its_zone() -> None:
    ics = calendar_bytes([meeting_entry(_meeting())], Method.REQUEST)
    calendar = Calendar.from_ical(ics)
    event = calendar.walk("VEVENT")[0]
    start = event.decoded("dtstart")
    assert (start.hour, start.minute) == (10, 30)
    assert str(start.tzinfo) == "Europe/Warsaw"
    assert event["dtstart"].params["TZID"] == "Europe/Warsaw"
    assert calendar.walk("VTIMEZONE")[0]["tzid"] == "Europe/Warsaw"
    assert calendar["method"] == "REQUEST"
    assert event["location"] == "Hala Targowa, Rzeszów, table 7"


def test_an_update_keeps_the_uid_and_raises_the_sequence() -> None:
    first = Calendar.from_ical(calendar_bytes([meeting_entry(_meeting(1))])).walk("VEVENT")[0]
    second = Calendar.from_ical(calendar_bytes([meeting_entry(_meeting(2))])).walk("VEVENT")[0]
    assert first["uid"] == second["uid"] == meeting_uid(MEETING_ID)
    assert (first["sequence"], second["sequence"]) == (1, 2)


def test_a_cancellation_names_the_same_meeting() -> None:
    meeting = _meeting()
    cancelled = MeetingCancelledData(
        **meeting.model_dump(include=set(MeetingCancelledData.model_fields) - {"version"}),
        version=2,
        reason="withdrawn",
    )
    ics = calendar_bytes(
        [meeting_entry(cancelled, organizer="events@hub.example", attendees=("a@b.example",))],
        Method.CANCEL,
    )
    event = Calendar.from_ical(ics).walk("VEVENT")[0]
    assert event["uid"] == meeting_uid(MEETING_ID)
    assert event["status"] == "CANCELLED"
    assert event["sequence"] == 2
    assert str(event["organizer"]) == "mailto:events@hub.example"
    assert Calendar.from_ical(ics)["method"] == "CANCEL"
