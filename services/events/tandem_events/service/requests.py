"""Meeting requests: one participant asks another; the asked side accepts or declines."""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.audience import Attendee, Audience
from tandem_events.domain.registrations import Registration
from tandem_events.domain.requests import (
    MeetingRequest,
    RequestIn,
    RequestRulesIn,
    RequestStatus,
)
from tandem_events.domain.rules import request_rule_problems
from tandem_events.repository import registrations as registrations_repository
from tandem_events.repository import requests as repository
from tandem_events.repository.revision import request_repair
from tandem_events.service.board import load_roster
from tandem_events.service.common import may_act_for, now
from tandem_events.service.events import get_event, require_active, writable_event
from tandem_events.service.registrations import RULES_CHANGED, get_registration
from tandem_events.service.rules import check_rules_hold
from tandem_shared.auth import Principal
from tandem_shared.errors import Conflict, Forbidden, Invalid, NotFound

ACCEPTED = "a request was accepted"  # why the schedule is repaired


async def _participant(
    session: AsyncSession, event_id: uuid.UUID, registration_id: uuid.UUID, field: str
) -> Registration:
    registration = await registrations_repository.get_registration(
        session, event_id, registration_id
    )
    if registration is None:
        raise Invalid(field, "no such registration at this event")
    if not registration.holds_place:
        raise Invalid(field, f"the registration is {registration.status}")
    return registration


async def _may_meet(session: AsyncSession, asking: Registration, asked: Registration) -> bool:
    """A meeting names each side to the other's hub: the asking organisation's hub must
    be allowed to see the asked one (`domain.audience`); answered as if it were not there."""
    entry = await registrations_repository.directory_entry(session, asked.profile_id)
    attendee = Attendee(asked.id, asked.hub, None if entry is None else entry.sharing)
    return Audience.participant(asking.hub).sees_organisation(attendee)


async def create_request(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, body: RequestIn
) -> MeetingRequest:
    """A asks B for a meeting; the organiser or A's hub may ask on A's behalf."""
    event = await get_event(session, event_id)
    require_active(event)
    asking = await _participant(session, event_id, body.from_registration, "from_registration")
    asked = await _participant(session, event_id, body.to_registration, "to_registration")
    if not may_act_for(principal, event, asking):
        raise Forbidden("only the organising hub or the asking participant's hub may ask")
    if not await _may_meet(session, asking, asked):
        raise Invalid("to_registration", "no such registration at this event")
    pair = {body.from_registration, body.to_registration}
    for existing in await repository.event_requests(session, event_id):
        if existing.status != RequestStatus.DECLINED and existing.pair == pair:
            raise Conflict("these two participants already have an open meeting request")
    moment = now()
    return await repository.insert_request(
        session,
        {
            "id": uuid.uuid4(),
            "event_id": event_id,
            "from_registration": body.from_registration,
            "to_registration": body.to_registration,
            "message": body.message,
            "status": RequestStatus.PENDING,
            "reason": None,
            "created_at": moment,
            "updated_at": moment,
        },
    )


async def _request(
    session: AsyncSession, event_id: uuid.UUID, request_id: uuid.UUID
) -> MeetingRequest:
    request = await repository.get_request(session, event_id, request_id)
    if request is None:
        raise NotFound("meeting request not found")
    return request


async def answer_request(
    session: AsyncSession,
    principal: Principal,
    event_id: uuid.UUID,
    request_id: uuid.UUID,
    *,
    accept: bool,
    reason: str | None = None,
) -> MeetingRequest:
    """B (its hub, or the organiser) accepts or declines; repeating the same answer is a
    no-op, changing it is a conflict. An acceptance marks an existing schedule for repair
    (done after the commit, see `service.schedule.repair_pending_schedules`)."""
    event = await get_event(session, event_id, lock=True)
    request = await _request(session, event_id, request_id)
    asked = await get_registration(session, event_id, request.to_registration)
    if not may_act_for(principal, event, asked):
        raise Forbidden("only the organising hub or the asked participant's hub may answer")
    wanted = RequestStatus.ACCEPTED if accept else RequestStatus.DECLINED
    if request.status == wanted:
        return request
    if request.status != RequestStatus.PENDING:
        raise Conflict(f"the request is already {request.status}")
    answered = await repository.answer_request(session, request, wanted, reason, now=now())
    if accept:
        await request_repair(session, event_id, ACCEPTED)
    return answered


async def set_rules(
    session: AsyncSession,
    principal: Principal,
    event_id: uuid.UUID,
    request_id: uuid.UUID,
    body: RequestRulesIn,
) -> MeetingRequest:
    """The organiser replaces a meeting's scheduling rules (window, pin, attending persons,
    the meetings it comes after). They count once the request is accepted, but are checked
    now as if every open request were: refused (422, nothing changed) if they do not fit
    the event or cannot hold with the other rules. A schedule is repaired to keep them."""
    event = await writable_event(session, principal, event_id, lock=True)
    require_active(event)
    request = await _request(session, event_id, request_id)
    found = await registrations_repository.event_registrations(session, event_id)
    problems = request_rule_problems(
        body,
        request=request,
        session_count=len(event.sessions),
        slot_count=event.slot_count,
        tables=event.tables,
        registrations={registration.id: registration for registration in found},
        event_requests={row.id for row in await repository.event_requests(session, event_id)},
    )
    if problems:
        raise Invalid(*problems[0])
    values = {
        "window_sessions": body.sessions,
        "window_slots": body.slots,
        "pinned_slot": body.pinned_slot,
        "pinned_table": body.pinned_table,
        "person_from": body.person_from,
        "person_to": body.person_to,
        "after_requests": [str(key) for key in body.after],
    }
    changed = await repository.set_request_rules(session, request, values, now=now())
    await check_rules_hold(session, event)
    await request_repair(session, event_id, RULES_CHANGED)
    return changed


async def list_requests(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID
) -> list[MeetingRequest]:
    """The requests the caller may see (`domain.audience`: all for the organiser, those of
    its own participants for a participant's hub); the message and the reason (written by
    people, possibly personal) only for the organiser and the two participants' hubs."""
    roster = await load_roster(session, event_id)
    audience = roster.audience(principal)
    organiser = principal.may_write_hub(roster.event.hub)
    hubs = {registration.id: registration.hub for registration in roster.registrations.values()}
    return [
        request
        if organiser or any(principal.may_write_hub(hubs[side]) for side in request.pair)
        else replace(request, message=None, reason=None)
        for request in await repository.event_requests(session, event_id)
        if roster.sees_pair(audience, request.from_registration, request.to_registration)
    ]
