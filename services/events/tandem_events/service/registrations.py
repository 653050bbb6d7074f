"""Registrations: places while the capacity lasts, then the waitlist; withdrawal, check-in,
and erasure of a participant's personal data."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.audience import Audience, may_attend
from tandem_events.domain.events import Event
from tandem_events.domain.registrations import (
    DirectoryEntry,
    Registration,
    RegistrationIn,
    RegistrationRulesIn,
    Status,
    initial_status,
    next_from_waitlist,
    unknown_slots,
)
from tandem_events.domain.rules import registration_rule_problems
from tandem_events.messages import publish, registration_data
from tandem_events.repository import registrations as repository
from tandem_events.repository import suggestions as suggestions_repository
from tandem_events.repository.revision import request_repair
from tandem_events.service.board import Roster, load_roster
from tandem_events.service.common import may_act_for, now
from tandem_events.service.events import get_event, require_active, writable_event
from tandem_events.service.rules import check_rules_hold
from tandem_events.service.schedule import cancel_meetings_of
from tandem_events.service.suggestions import suggest_for_registration
from tandem_shared.auth import Principal
from tandem_shared.contracts import RegistrationCreated, RegistrationWithdrawn, Sharing
from tandem_shared.errors import Conflict, Forbidden, Invalid, NotFound

WITHDREW = "a participant withdrew"  # why the schedule is repaired
RULES_CHANGED = "the organiser changed scheduling rules"


async def get_registration(
    session: AsyncSession, event_id: uuid.UUID, registration_id: uuid.UUID
) -> Registration:
    registration = await repository.get_registration(session, event_id, registration_id)
    if registration is None:
        raise NotFound("registration not found")
    return registration


def _attending(entry: DirectoryEntry | None, principal: Principal, event: Event) -> DirectoryEntry:
    """The profile, if the caller may register it (its own hub's, or shared with the
    network: a network_admin reads every hub but writes none) and the organiser may see it
    (`domain.audience.may_attend`)."""
    if entry is None or not (
        principal.may_write_hub(entry.hub) or entry.sharing == Sharing.NETWORK
    ):
        raise Invalid("profile_id", "no such profile visible to the caller")
    if not may_attend(entry.hub, entry.sharing, event.hub):
        raise Invalid(
            "profile_id",
            "a hub-only profile attends only its own hub's events: share it with the network "
            "to register it at another hub's event",
        )
    return entry


async def register(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, body: RegistrationIn
) -> dict[str, Any]:
    """Register a profile the caller can see. It gets a place while the capacity lasts,
    else joins the waitlist; `registration.created` is published when it holds a place."""
    event = await get_event(session, event_id, lock=True)
    require_active(event)
    entry = _attending(await repository.directory_entry(session, body.profile_id), principal, event)
    bad = unknown_slots(body.availability, event.slot_count)
    if bad:
        raise Invalid("availability", f"not slots of this event: {bad}")
    colleague = body.colleague
    bad = unknown_slots(colleague.availability if colleague else None, event.slot_count)
    if bad:
        raise Invalid("colleague", f"availability: not slots of this event: {bad}")
    existing = await repository.event_registrations(session, event_id)
    if any(r.profile_id == body.profile_id and r.status != Status.WITHDRAWN for r in existing):
        raise Conflict("this profile is already registered for the event")
    taken = sum(1 for registration in existing if registration.holds_place)
    moment = now()
    registration = await repository.insert_registration(
        session,
        {
            "id": uuid.uuid4(),
            "event_id": event_id,
            "profile_id": body.profile_id,
            "hub": entry.hub,
            "version": 1,
            "status": initial_status(event.capacity, taken),
            "participant_name": body.participant.name,
            "participant_email": str(body.participant.email),
            "participant_languages": body.participant.languages,
            "availability": body.availability,
            "max_meetings": body.max_meetings,
            "colleague": colleague is not None,
            "colleague_name": colleague.name if colleague else None,
            "colleague_email": str(colleague.email) if colleague else None,
            "colleague_availability": colleague.availability if colleague else None,
            "agendas": body.agendas,
            "created_at": moment,
            "updated_at": moment,
        },
    )
    if registration.holds_place:
        await _took_place(session, event, registration)
    return await _view(session, principal, event, registration)


async def _took_place(session: AsyncSession, event: Event, registration: Registration) -> None:
    data = registration_data(event, registration)
    await publish(session, event, RegistrationCreated, subject=event.id, data=data)
    await suggest_for_registration(session, event, registration)


async def withdraw(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, registration_id: uuid.UUID
) -> dict[str, Any]:
    """Withdraw (once). A freed place goes to the first on the waitlist. The participant's
    meetings are cancelled at once; the rest of a schedule is repaired after the commit
    (the durable `repair_pending` flag, see `service.schedule.repair_pending_schedules`),
    so the answer never waits for the solver."""
    event = await get_event(session, event_id, lock=True)
    registration = await get_registration(session, event_id, registration_id)
    if not may_act_for(principal, event, registration):
        raise Forbidden("only the organising hub or the participant's hub may withdraw")
    if registration.status == Status.WITHDRAWN:
        return await _view(session, principal, event, registration)
    withdrawn = await repository.set_status(session, registration, Status.WITHDRAWN, now=now())
    await suggestions_repository.delete_suggestions_of_registration(session, registration_id)
    if registration.holds_place:
        data = registration_data(event, withdrawn)
        await publish(session, event, RegistrationWithdrawn, subject=event.id, data=data)
        await cancel_meetings_of(session, event, registration_id, reason=WITHDREW)
        await _promote_from_waitlist(session, event)
        await request_repair(session, event_id, WITHDREW)
    return await _view(session, principal, event, withdrawn)


async def _promote_from_waitlist(session: AsyncSession, event: Event) -> None:
    waiting = next_from_waitlist(
        await repository.event_registrations(session, event.id), event.capacity
    )
    if waiting is not None:
        promoted = await repository.set_status(session, waiting, Status.REGISTERED, now=now())
        await _took_place(session, event, promoted)


async def check_in(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, registration_id: uuid.UUID
) -> dict[str, Any]:
    event = await writable_event(session, principal, event_id)
    registration = await get_registration(session, event_id, registration_id)
    if registration.status == Status.REGISTERED:
        registration = await repository.set_status(
            session, registration, Status.CHECKED_IN, now=now()
        )
    elif registration.status != Status.CHECKED_IN:
        raise Conflict(f"a {registration.status} registration cannot check in")
    return await _view(session, principal, event, registration)


async def set_rules(
    session: AsyncSession,
    principal: Principal,
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    body: RegistrationRulesIn,
) -> dict[str, Any]:
    """The organiser replaces a participant's scheduling rules (forbidden slots, a cap per
    session, joint or separate agendas). Refused (422, nothing changed) if they do not fit
    the event or cannot hold with the meetings' rules; a schedule is repaired to keep them."""
    event = await writable_event(session, principal, event_id, lock=True)
    require_active(event)
    registration = await get_registration(session, event_id, registration_id)
    problems = registration_rule_problems(
        body, registration=registration, slot_count=event.slot_count
    )
    if problems:
        raise Invalid(*problems[0])
    values: dict[str, Any] = {
        "forbidden_slots": body.forbidden_slots,
        "session_cap": body.session_cap,
        "agendas": body.agendas or registration.agendas,
    }
    changed = await repository.set_registration_rules(session, registration, values, now=now())
    await check_rules_hold(session, event)
    await request_repair(session, event_id, RULES_CHANGED)
    return await _view(session, principal, event, changed)


async def calendar_link_registration(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, registration_id: uuid.UUID
) -> Registration:
    """The registration whose agenda link the caller may hand out: the organising hub's
    or the participant's hub's."""
    event = await get_event(session, event_id)
    registration = await get_registration(session, event_id, registration_id)
    if not may_act_for(principal, event, registration):
        raise Forbidden("only the organising hub or the participant's hub may share the agenda")
    return registration


async def list_registrations(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The registrations the caller may see (`domain.audience`), in order."""
    roster = await load_roster(session, event_id)
    audience = roster.audience(principal)
    return [
        registration_view(roster, audience, registration)
        for registration in roster.registrations.values()
        if audience.lists(roster.attendee(registration.id))
    ]


async def _view(
    session: AsyncSession, principal: Principal, event: Event, registration: Registration
) -> dict[str, Any]:
    """The registration as the caller who just changed it (organiser or the participant's
    hub) sees it."""
    entries = await repository.directory_entries(session, [registration.profile_id])
    roster = Roster(event, {registration.id: registration}, entries)
    return registration_view(roster, roster.audience(principal), registration)


def registration_view(
    roster: Roster, audience: Audience, registration: Registration
) -> dict[str, Any]:
    """The registration as the reader may see it: the organisation's name if it may see
    it, the participant's contact (personal data) only for the organiser."""
    contact = {
        "name": registration.participant_name,
        "email": registration.participant_email,
        "languages": registration.participant_languages,
    }
    colleague = {
        "name": registration.colleague_name,
        "email": registration.colleague_email,
        "availability": registration.colleague_availability,
    }
    attendee = roster.attendee(registration.id)
    sees_contact = audience.sees_contact(attendee)
    return {
        **asdict(registration),
        "organisation": roster.name(registration.id, audience),
        "participant": contact if sees_contact else None,
        "colleague": colleague if sees_contact and registration.colleague else None,
        "has_colleague": registration.colleague,
    }


async def forget_participant(session: AsyncSession, profile_id: uuid.UUID) -> None:
    """Erasure of a profile: its participants' names, emails and languages, the messages of
    their requests, and what the matcher said about the organisation (its matches and the
    suggested meetings drawn from them) go."""
    await repository.scrub_participant(session, profile_id)
    matches = await suggestions_repository.matches_of_profile(
        session, profile_id, active_only=False
    )
    await suggestions_repository.delete_suggestions_of_pairs(
        session, [match.pair_id for match in matches]
    )
    await suggestions_repository.delete_matches_of_profile(session, profile_id)
