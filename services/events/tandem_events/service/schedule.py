"""Scheduling: the organiser's explicit run and the repairs after withdrawals and
acceptances, stored only if nothing the scheduler read changed meanwhile (the schedule
revision); and the schedule's outputs for everyone (the schedule, the table plan)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_events.domain.events import Event, EventStatus
from tandem_events.domain.meetings import Meeting, MeetingStatus, Placed
from tandem_events.domain.plan import (
    diff,
    is_accepted_request,
    stored_schedule,
)
from tandem_events.domain.registrations import Registration
from tandem_events.domain.scheduling import (
    Placement,
    Problem,
    Quality,
    Schedule,
    greedy_schedule,
    repair,
    schedule,
    violations,
)
from tandem_events.domain.table_plan import render_table_plan
from tandem_events.messages import cancelled_data, keyed_message, meeting_data, publisher
from tandem_events.repository import events as events_repository
from tandem_events.repository import registrations as registrations_repository
from tandem_events.repository import schedule as repository
from tandem_events.service.board import load_board, meeting_view
from tandem_events.service.common import now
from tandem_events.service.events import require_active, writable_event
from tandem_events.service.rules import event_problem, refuse_conflicts
from tandem_shared.auth import Principal
from tandem_shared.contracts import MeetingCancelled, MeetingScheduled
from tandem_shared.db import transaction
from tandem_shared.errors import Conflict
from tandem_shared.logging import get_logger

log = get_logger(__name__)
Registrations = Mapping[uuid.UUID, Registration]


@dataclass(frozen=True)
class ScheduleInput:
    """What one solver run reads, and the revision it was read at."""

    event: Event
    revision: int
    problem: Problem
    previous: Schedule


async def _schedule_input(session: AsyncSession, event: Event) -> ScheduleInput:
    # `event` (and its revision) is read before the rest: a change committed in between
    # bumps the revision after ours, so the result of this read can never be stored.
    meetings = await repository.event_meetings(session, event.id)
    return ScheduleInput(
        event=event,
        revision=event.schedule_revision,
        problem=await event_problem(session, event),
        previous=stored_schedule(meetings),
    )


async def _apply_if_current(
    session: AsyncSession, read: ScheduleInput, result: Schedule, *, reason: str
) -> dict[str, Any] | None:
    """Store `result` if nothing the scheduler read changed since (None otherwise); the
    event row lock is held only for this short write."""
    event = await events_repository.get_event(session, read.event.id, for_update=True)
    if event is None or event.schedule_revision != read.revision:
        return None
    return await _apply(session, event, read.problem, result, reason=reason)


async def run_schedule(
    sessionmaker: async_sessionmaker[AsyncSession],
    principal: Principal,
    event_id: uuid.UUID,
    *,
    time_limit_s: float,
    attempts: int = 2,
) -> dict[str, Any]:
    """Schedule the event from scratch (the organiser's explicit run); meetings that stay
    in the same slot and table are untouched, the others are announced.

    Owns its transactions because the solver (seconds of CPU) must run outside any: read
    the problem in one short transaction, solve in a thread, store in a second one only
    if the event's schedule revision is unchanged; re-solve on a conflict, at most
    `attempts` runs, then answer Conflict (409)."""
    for _ in range(attempts):
        async with transaction(sessionmaker) as session:
            event = await writable_event(session, principal, event_id)
            require_active(event)
            if event.slot_count == 0 or not event.tables:
                raise Conflict(
                    "the event needs sessions with slots and tables to schedule meetings"
                )
            read = await _schedule_input(session, event)
            await refuse_conflicts(session, event, read.problem)
        result = await asyncio.to_thread(schedule, read.problem, time_limit_s=time_limit_s)
        async with transaction(sessionmaker) as session:
            applied = await _apply_if_current(
                session, read, result, reason="rescheduled by the organiser"
            )
        if applied is not None:
            return applied
        log.info("schedule.conflict", event_id=str(event_id))
    raise Conflict("the event changed while it was being scheduled; run the schedule again")


async def repair_schedule(
    sessionmaker: async_sessionmaker[AsyncSession],
    event_id: uuid.UUID,
    *,
    time_limit_s: float,
    attempts: int = 3,
) -> bool:
    """Repair the event's schedule if a repair is pending, moving as few meetings as
    possible; the same read / solve / store-if-unchanged cycle as `run_schedule`. False
    if every attempt met a concurrent change: the repair stays pending for the next round."""
    for _ in range(attempts):
        async with transaction(sessionmaker) as session:
            event = await events_repository.get_event(session, event_id)
            if event is None or event.repair_pending is None:
                return True
            if event.status != EventStatus.ACTIVE or event.scheduled_at is None:
                await repository.clear_repair(session, event_id)
                return True
            read = await _schedule_input(session, event)
        result = await asyncio.to_thread(
            repair, read.problem, read.previous, time_limit_s=time_limit_s
        )
        async with transaction(sessionmaker) as session:
            applied = await _apply_if_current(session, read, result, reason=event.repair_pending)
        if applied is not None:
            return True
        log.info("schedule.repair_conflict", event_id=str(event_id))
    return False


async def repair_pending_schedules(
    sessionmaker: async_sessionmaker[AsyncSession], *, time_limit_s: float
) -> int:
    """Run every pending repair (at start, this catches up on repairs decided before a
    crash) that no other replica is running; the number of events repaired. Each event
    has its own lease, so replicas repair different events in parallel and never solve
    the same one twice at once."""
    async with transaction(sessionmaker) as session:
        pending = await repository.pending_repairs(session)
    repaired = 0
    for event_id in pending:
        async with repository.repair_lease(sessionmaker, event_id) as leased:
            if not leased:
                log.info("schedule.repair_leased_elsewhere", event_id=str(event_id))
                continue
            try:
                repaired += await repair_schedule(sessionmaker, event_id, time_limit_s=time_limit_s)
            except Exception:
                # One event that cannot be repaired must not hold up the others; it stays
                # pending and is tried again next round.
                log.exception("schedule.repair_failed", event_id=str(event_id))
    return repaired


async def _apply(
    session: AsyncSession, event: Event, problem: Problem, result: Schedule, *, reason: str
) -> dict[str, Any]:
    """Store `result` and announce each change: `meeting.scheduled` for new and moved
    meetings (a move is the next version), `meeting.cancelled` for dropped ones."""
    broken = violations(problem, result)
    if broken:
        # Never store an invalid schedule; the greedy baseline is valid by construction.
        log.error("schedule.invalid", event_id=str(event.id), violations=broken[:5])
        result = greedy_schedule(problem)
    stored = await repository.event_meetings(session, event.id)
    by_key = {meeting.key: meeting for meeting in stored}
    changes = diff(stored, result)
    found = await registrations_repository.event_registrations(session, event.id)
    registrations = {registration.id: registration for registration in found}
    moment = now()
    placed = _placed(event, problem, (*changes.new, *changes.moved))
    scheduled = await repository.place_meetings(session, event.id, placed, by_key, now=moment)
    await _announce_scheduled(session, event, scheduled, registrations)
    dropped = [by_key[key] for key in changes.cancelled]
    cancelled = await repository.cancel_meetings(session, event.id, dropped, now=moment)
    await _announce_cancelled(session, event, cancelled, registrations, reason=reason)
    await repository.record_schedule_run(session, event.id, result.solver, now=moment)
    log.info("schedule.applied", event_id=str(event.id), solver=result.solver, **changes.summary())
    return {
        "solver": result.solver,
        "optimal": result.optimal,
        "value": result.value,
        "changes": changes.summary(),
        "quality": _quality(result.quality),
    }


def _quality(quality: Quality | None) -> dict[str, Any] | None:
    """What an organiser reads of a run: how many meetings were placed, and the breaks in
    people's days beside the proven lower bound ("optimal", or "within N of optimal")."""
    if quality is None:
        return None
    return {
        "placed": quality.placed,
        "placeable": quality.placeable,
        "must": quality.must,
        "must_placed": quality.must_placed,
        "breaks": quality.breaks,
        "breaks_bound": quality.breaks_bound,
        "breaks_gap": quality.breaks_gap,
        "idle": quality.idle,
        "spread": quality.spread,
        "proven": quality.proven,
    }


def _placed(event: Event, problem: Problem, placements: Sequence[Placement]) -> list[Placed]:
    """The solver's placements as meetings to store: at their slot's times, with the
    score of the request they place."""
    times = event.slot_times()
    scores = {request.key: request.score for request in problem.requests}
    return [
        Placed(
            key=placement.key,
            registration_a=uuid.UUID(placement.a),
            registration_b=uuid.UUID(placement.b),
            slot=placement.slot,
            table_label=placement.table,
            person_a=placement.person_a,
            person_b=placement.person_b,
            starts_at=times[placement.slot][0],
            ends_at=times[placement.slot][1],
            accepted=is_accepted_request(placement.key),
            score=scores.get(placement.key, 0.0),
        )
        for placement in placements
    ]


async def _announce_scheduled(
    session: AsyncSession, event: Event, meetings: Sequence[Meeting], registrations: Registrations
) -> None:
    messages = [
        keyed_message(
            event,
            MeetingScheduled,
            subject=meeting.id,
            data=meeting_data(event, meeting, registrations),
        )
        for meeting in meetings
    ]
    await publisher.publish_many(session, messages)


async def _announce_cancelled(
    session: AsyncSession,
    event: Event,
    meetings: Sequence[Meeting],
    registrations: Registrations,
    *,
    reason: str,
) -> None:
    messages = [
        keyed_message(
            event,
            MeetingCancelled,
            subject=meeting.id,
            data=cancelled_data(event, meeting, registrations, reason=reason),
        )
        for meeting in meetings
    ]
    await publisher.publish_many(session, messages)


async def cancel_meetings_of(
    session: AsyncSession, event: Event, registration_id: uuid.UUID, *, reason: str
) -> None:
    """A withdrawn participant's meetings cannot happen: cancel them now, without the
    solver (the repair later only fills the freed places)."""
    scheduled = await repository.event_meetings(session, event.id, status=MeetingStatus.SCHEDULED)
    mine = [meeting for meeting in scheduled if registration_id in meeting.sides]
    if not mine:
        return
    found = await registrations_repository.event_registrations(session, event.id)
    registrations = {registration.id: registration for registration in found}
    cancelled = await repository.cancel_meetings(session, event.id, mine, now=now())
    await _announce_cancelled(session, event, cancelled, registrations, reason=reason)


# --------------------------------------------------------------------------- outputs


async def schedule_view(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID
) -> dict[str, Any]:
    """The event's current schedule: its slots (local times) and the scheduled meetings
    the caller may see (`domain.audience`)."""
    board = await load_board(session, event_id)
    audience = board.audience(principal)
    event = board.event
    return {
        "event_id": event.id,
        "title": event.title,
        "timezone": event.timezone,
        "scheduled_at": event.scheduled_at,
        "solver": event.schedule_solver,
        "tables": event.tables,
        "slots": [
            {"index": index, "starts_at": start, "ends_at": end}
            for index, (start, end) in enumerate(event.slot_times())
        ],
        "meetings": [
            meeting_view(board, meeting, audience) for meeting in board.visible_meetings(audience)
        ],
    }


async def table_plan(session: AsyncSession, principal: Principal, event_id: uuid.UUID) -> str:
    """The printable grid: slots down, tables across, who meets at each table (of the
    meetings the caller may see; the other cells look free)."""
    board = await load_board(session, event_id)
    audience = board.audience(principal)
    cells = {
        (meeting.slot, meeting.table_label): (
            board.name(meeting.registration_a, audience),
            board.name(meeting.registration_b, audience),
        )
        for meeting in board.visible_meetings(audience)
    }
    return render_table_plan(
        title=board.event.title,
        place=board.event.place,
        timezone=board.event.timezone,
        slots=board.event.slot_times(),
        tables=board.event.tables,
        cells=cells,
    )
