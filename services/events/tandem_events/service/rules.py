"""The organiser's scheduling rules as the solver will read them: the event's problem, and
the refusal of rules that cannot hold together. Apart from `service.schedule` (which
imports `service.events`) so that a change to the event itself is checked too."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.events import Event, day_of_slot
from tandem_events.domain.plan import EventRules, build_problem
from tandem_events.domain.rules import with_names
from tandem_events.domain.scheduling import Problem, conflicts
from tandem_events.repository import registrations as registrations_repository
from tandem_events.repository import requests as requests_repository
from tandem_events.repository import suggestions as suggestions_repository
from tandem_shared.errors import Invalid


async def event_problem(
    session: AsyncSession, event: Event, *, include_pending: bool = False
) -> Problem:
    return build_problem(
        slot_count=event.slot_count,
        day_of_slot=day_of_slot(event.slot_times()),
        tables=event.tables,
        registrations=await registrations_repository.event_registrations(session, event.id),
        requests=await requests_repository.event_requests(session, event.id),
        suggestions=await suggestions_repository.event_suggestions(session, event.id),
        rules=EventRules(session_of_slot=event.session_of_slot(), break_spread=event.break_spread),
        include_pending=include_pending,
    )


async def check_rules_hold(session: AsyncSession, event: Event) -> None:
    """Refuse (422, nothing stored: the caller's transaction rolls back) scheduling rules
    that cannot hold together, as if every open request were accepted: a pin outside its
    window or on a slot a side cannot meet in, two pins of one person at once, a
    precedence cycle, ..."""
    await refuse_conflicts(
        session, event, await event_problem(session, event, include_pending=True)
    )


async def refuse_conflicts(session: AsyncSession, event: Event, problem: Problem) -> None:
    found = conflicts(problem)
    if not found:
        return
    registrations = await registrations_repository.event_registrations(session, event.id)
    # The organiser reads these: it may name every participant of its own event.
    entries = await registrations_repository.directory_entries(
        session, [row.profile_id for row in registrations]
    )
    by_id = {
        str(row.id): entries[row.profile_id].name
        for row in registrations
        if row.profile_id in entries
    }
    sentences = with_names(found, by_id)
    raise Invalid("rules", "the scheduling rules cannot all hold: " + "; ".join(sentences))
