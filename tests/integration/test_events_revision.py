"""The schedule revision (optimistic concurrency of schedule runs) moves with every write
to what the scheduler reads, inside the repository function that writes, on PostgreSQL.

A repository write that forgot the bump would let a solver run store a schedule computed
from a state that no longer holds; one that bumps without need only costs a re-solve. Every
repository function is classified below, so a new one fails here until it is."""

from __future__ import annotations

import inspect
import pkgutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import tandem_events.repository
from tandem_events.domain.events import Event, EventIn, event_columns
from tandem_events.domain.meetings import Meeting, Placed
from tandem_events.domain.registrations import Registration, Status
from tandem_events.domain.requests import MeetingRequest, RequestStatus
from tandem_events.domain.suggestions import Match, Suggestion
from tandem_events.repository import events as events_repository
from tandem_events.repository import outcomes as outcomes_repository
from tandem_events.repository import registrations as registrations_repository
from tandem_events.repository import requests as requests_repository
from tandem_events.repository import revision
from tandem_events.repository import schedule as schedule_repository
from tandem_events.repository import suggestions as suggestions_repository
from tandem_shared.contracts import MeetingOutcome
from tandem_shared.db import create_engine, create_sessionmaker, transaction
from tests.support.events import matching_event

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    """An event with two participants holding a place, one waitlisted, a pending request
    between the two, their suggestion and their scheduled meeting."""

    event: Event
    a: Registration
    b: Registration
    waiting: Registration
    request: MeetingRequest
    suggestion: Suggestion
    meeting: Meeting


async def _registration(session: AsyncSession, event: Event, status: Status) -> Registration:
    return await registrations_repository.insert_registration(
        session,
        {
            "id": uuid.uuid4(),
            "event_id": event.id,
            "profile_id": uuid.uuid4(),
            "hub": "demo",
            "version": 1,
            "status": status,
            "participant_name": "Anna Nowak",
            "participant_email": "anna@example.org",
            "participant_languages": ["pl"],
            "availability": None,
            "max_meetings": None,
            "created_at": NOW,
            "updated_at": NOW,
        },
    )


def _placed(event: Event, a: Registration, b: Registration, slot: int) -> Placed:
    starts_at, ends_at = event.slot_times()[slot]
    return Placed(
        key=f"suggested:{a.id}-{b.id}",
        registration_a=a.id,
        registration_b=b.id,
        slot=slot,
        table_label="A",
        starts_at=starts_at,
        ends_at=ends_at,
        accepted=False,
        score=0.8,
    )


async def _build(session: AsyncSession) -> World:
    fields = EventIn.model_validate(matching_event()).model_dump()
    values = {
        "id": uuid.uuid4(),
        "hub": "demo",
        "version": 1,
        "status": "active",
        "cancel_reason": None,
        "scheduled_at": None,
        "schedule_solver": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    event = await events_repository.insert_event(session, {**event_columns(fields), **values})
    a = await _registration(session, event, Status.REGISTERED)
    b = await _registration(session, event, Status.REGISTERED)
    waiting = await _registration(session, event, Status.WAITLISTED)
    request = await requests_repository.insert_request(
        session,
        {
            "id": uuid.uuid4(),
            "event_id": event.id,
            "from_registration": a.id,
            "to_registration": b.id,
            "message": "Hello",
            "status": RequestStatus.PENDING,
            "reason": None,
            "created_at": NOW,
            "updated_at": NOW,
        },
    )
    suggestion = Suggestion(event.id, "pair-ab", a.id, b.id, 0.8)
    await suggestions_repository.upsert_suggestion(session, suggestion)
    [meeting] = await schedule_repository.place_meetings(
        session, event.id, [_placed(event, a, b, 0)], {}, now=NOW
    )
    return World(event, a, b, waiting, request, suggestion, meeting)


@pytest.fixture
async def sessionmaker(
    clean_databases: dict[str, str],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(clean_databases["events"])
    yield create_sessionmaker(engine)
    await engine.dispose()


Operation = Callable[[AsyncSession, World], Awaitable[Any]]
LATER = NOW + timedelta(minutes=5)

# Writes to what the scheduler reads: each must move the revision on.
INPUT_CHANGES: dict[str, Operation] = {
    "update_event": lambda s, w: events_repository.update_event(
        s, w.event.id, {"title": "Renamed"}, now=LATER
    ),
    "cancel_event": lambda s, w: events_repository.cancel_event(s, w.event.id, None, now=LATER),
    "insert_registration (with a place)": lambda s, w: _registration(s, w.event, Status.REGISTERED),
    "set_status (withdraw a place)": lambda s, w: registrations_repository.set_status(
        s, w.a, Status.WITHDRAWN, now=LATER
    ),
    "set_status (promote from the waitlist)": lambda s, w: registrations_repository.set_status(
        s, w.waiting, Status.REGISTERED, now=LATER
    ),
    "set_status (check in)": lambda s, w: registrations_repository.set_status(
        s, w.a, Status.CHECKED_IN, now=LATER
    ),
    "answer_request (accept)": lambda s, w: requests_repository.answer_request(
        s, w.request, RequestStatus.ACCEPTED, None, now=LATER
    ),
    "answer_request (decline)": lambda s, w: requests_repository.answer_request(
        s, w.request, RequestStatus.DECLINED, "no time", now=LATER
    ),
    "set_registration_rules": lambda s, w: registrations_repository.set_registration_rules(
        s, w.a, {"forbidden_slots": [1], "session_cap": 2}, now=LATER
    ),
    "set_request_rules": lambda s, w: requests_repository.set_request_rules(
        s, w.request, {"pinned_slot": 1, "after_requests": []}, now=LATER
    ),
    "upsert_suggestion": lambda s, w: suggestions_repository.upsert_suggestion(
        s, Suggestion(w.event.id, "pair-ab", w.a.id, w.b.id, 0.95)
    ),
    "delete_suggestions_of_pairs": lambda s, w: suggestions_repository.delete_suggestions_of_pairs(
        s, ["pair-ab"]
    ),
    "delete_suggestions_of_registration": lambda s, w: (
        suggestions_repository.delete_suggestions_of_registration(s, w.b.id)
    ),
    "place_meetings (new)": lambda s, w: schedule_repository.place_meetings(
        s, w.event.id, [_placed(w.event, w.b, w.a, 1)], {}, now=LATER
    ),
    "place_meetings (moved)": lambda s, w: schedule_repository.place_meetings(
        s, w.event.id, [_placed(w.event, w.a, w.b, 2)], {w.meeting.key: w.meeting}, now=LATER
    ),
    "cancel_meetings": lambda s, w: schedule_repository.cancel_meetings(
        s, w.event.id, [w.meeting], now=LATER
    ),
    "touch_schedule": lambda s, w: revision.touch_schedule(s, [w.event.id]),
}

# Writes the scheduler does not read: a bump would only make a concurrent run start over.
OTHER_WRITES: dict[str, Operation] = {
    "insert_registration (waitlisted)": lambda s, w: _registration(s, w.event, Status.WAITLISTED),
    "set_status (withdraw from the waitlist)": lambda s, w: registrations_repository.set_status(
        s, w.waiting, Status.WITHDRAWN, now=LATER
    ),
    "insert_request (pending)": lambda s, w: requests_repository.insert_request(
        s,
        {
            "id": uuid.uuid4(),
            "event_id": w.event.id,
            "from_registration": w.b.id,
            "to_registration": w.a.id,
            "message": None,
            "status": RequestStatus.PENDING,
            "reason": None,
            "created_at": LATER,
            "updated_at": LATER,
        },
    ),
    "scrub_participant": lambda s, w: registrations_repository.scrub_participant(s, w.a.profile_id),
    "upsert_match": lambda s, w: suggestions_repository.upsert_match(
        s, Match("pair-ab", w.a.profile_id, w.b.profile_id, 0.9, True, None, 1)
    ),
    "delete_matches_of_profile": lambda s, w: suggestions_repository.delete_matches_of_profile(
        s, w.a.profile_id
    ),
    "record_outcome": lambda s, w: outcomes_repository.record_outcome(
        s, w.meeting.id, MeetingOutcome.HELD, 5
    ),
    "record_schedule_run": lambda s, w: schedule_repository.record_schedule_run(
        s, w.event.id, "cp-sat", now=LATER
    ),
    "request_repair": lambda s, w: revision.request_repair(s, w.event.id, "a test"),
    "clear_repair": lambda s, w: schedule_repository.clear_repair(s, w.event.id),
}

# A new event starts at revision 0: no run can have read it before.
CREATES = {"insert_event"}
READS = {
    "get_event",
    "list_events",
    "get_registration",
    "event_registrations",
    "active_registrations_of_profiles",
    "directory_entry",
    "directory_entries",
    "get_request",
    "event_requests",
    "matches_of_profile",
    "event_suggestions",
    "event_meetings",
    "pending_repairs",
}


async def _revision_around(
    sessionmaker: async_sessionmaker[AsyncSession], operation: Operation
) -> tuple[int, int]:
    async with transaction(sessionmaker) as session:
        world = await _build(session)
    async with transaction(sessionmaker) as session:
        before = await _revision(session, world.event.id)
        await operation(session, world)
    async with transaction(sessionmaker) as session:
        return before, await _revision(session, world.event.id)


async def _revision(session: AsyncSession, event_id: uuid.UUID) -> int:
    event = await events_repository.get_event(session, event_id)
    assert event is not None
    return event.schedule_revision


@pytest.mark.parametrize("name", list(INPUT_CHANGES))
async def test_a_change_to_a_scheduler_input_moves_the_revision_on(
    sessionmaker: async_sessionmaker[AsyncSession], name: str
) -> None:
    before, after = await _revision_around(sessionmaker, INPUT_CHANGES[name])
    assert after > before, f"{name} changed what the scheduler reads without a bump"


@pytest.mark.parametrize("name", list(OTHER_WRITES))
async def test_a_write_the_scheduler_does_not_read_keeps_the_revision(
    sessionmaker: async_sessionmaker[AsyncSession], name: str
) -> None:
    before, after = await _revision_around(sessionmaker, OTHER_WRITES[name])
    assert after == before


def _base_name(case: str) -> str:
    return case.split(" (")[0]


def test_every_repository_function_is_classified() -> None:
    """A new repository function must be placed in one of the lists above (and, if it
    writes a scheduler input, bump the revision)."""
    found = set()
    for module in pkgutil.iter_modules(tandem_events.repository.__path__):
        imported = __import__(f"tandem_events.repository.{module.name}", fromlist=["_"])
        found |= {
            name
            for name, function in inspect.getmembers(imported, inspect.iscoroutinefunction)
            if not name.startswith("_") and function.__module__ == imported.__name__
        }
    classified = {_base_name(case) for case in (*INPUT_CHANGES, *OTHER_WRITES)} | CREATES | READS
    assert found == classified
