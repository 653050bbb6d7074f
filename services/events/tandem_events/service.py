"""Events use cases. Each writes its domain change and its messages in the caller's
transaction (the outbox), so either both happen or neither does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_events import repository
from tandem_events.domain.events import (
    EventIn,
    EventPatch,
    EventQuery,
    SessionIn,
    check_event,
    day_of_slot,
    localise,
    slot_times,
    table_labels,
)
from tandem_events.domain.outcomes import EventStats, OutcomeIn, event_stats
from tandem_events.domain.plan import build_problem, diff, meeting_id, stored_schedule
from tandem_events.domain.registrations import (
    HOLDS_PLACE,
    RegistrationIn,
    Status,
    initial_status,
    next_from_waitlist,
    unknown_slots,
)
from tandem_events.domain.requests import RequestIn, RequestStatus
from tandem_events.domain.scheduling import (
    Placement,
    Problem,
    Schedule,
    greedy_schedule,
    repair,
    schedule,
    violations,
)
from tandem_events.domain.table_plan import render_table_plan
from tandem_events.tables import bus
from tandem_shared.auth import Principal
from tandem_shared.bus.consumer import PoisonMessage
from tandem_shared.bus.outbox import enqueue
from tandem_shared.calendar import CalendarEntry, Method, calendar_bytes, meeting_entry
from tandem_shared.contracts import (
    EVENTS,
    MEETINGS,
    REGISTRATIONS,
    EventCancelled,
    EventCancelledData,
    EventData,
    EventKind,
    EventScheduled,
    EventUpdated,
    MatchData,
    MatchWithdrawnData,
    MeetingCancelled,
    MeetingCancelledData,
    MeetingData,
    MeetingOutcomeData,
    MeetingOutcomeRecorded,
    MeetingScheduled,
    OrgKind,
    RegistrationCreated,
    RegistrationData,
    RegistrationWithdrawn,
    pair_id,
)
from tandem_shared.db import transaction
from tandem_shared.logging import get_logger

log = get_logger(__name__)


class NotFound(Exception):
    pass


class Forbidden(Exception):
    pass


class Conflict(Exception):
    pass


class Invalid(Exception):
    """Input that passed the schema but breaks a rule; `field` names where."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _now() -> datetime:
    return datetime.now(UTC)


def _source(hub: str) -> str:
    return f"/tandem/events/{hub}"


# --------------------------------------------------------------------------- events


def _event_columns(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated fields as stored: times aware (naive ones read in the event's zone)."""
    zone = ZoneInfo(fields["timezone"])
    sessions = [SessionIn.model_validate(session) for session in fields["sessions"]]
    return {
        **fields,
        "kind": EventKind(fields["kind"]).value,
        "sectors": [OrgKind(sector).value for sector in fields["sectors"]],
        "url": str(fields["url"]) if fields.get("url") else None,
        "starts_at": localise(fields["starts_at"], zone),
        "ends_at": localise(fields["ends_at"], zone),
        "sessions": [
            {**session.model_dump(mode="json"), "starts_at": localise(session.starts_at, zone)}
            for session in sessions
        ],
        "tables": table_labels(fields["tables"]),
    }


def _json_sessions(columns: dict[str, Any]) -> dict[str, Any]:
    sessions = [
        {**session, "starts_at": session["starts_at"].isoformat()}
        for session in columns["sessions"]
    ]
    return {**columns, "sessions": sessions}


def event_data(row: RowMapping) -> EventData:
    return EventData(
        id=row["id"],
        hub=row["hub"],
        version=row["version"],
        title=row["title"],
        kind=row["kind"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        timezone=row["timezone"],
        online=row["online"],
        venue=place(row),
        languages=row["languages"],
        sectors=row["sectors"],
    )


def place(event: RowMapping) -> str | None:
    """Where the event happens, as one line (venue and address, or the URL)."""
    if event["online"]:
        return str(event["url"]) if event["url"] else None
    return ", ".join(part for part in (event["venue"], event["address"]) if part) or None


async def get_event(
    session: AsyncSession, event_id: uuid.UUID, *, lock: bool = False
) -> RowMapping:
    """Events are announcements to the whole network: every caller may read them. `lock`
    holds the row until the transaction ends (changes that depend on its state)."""
    row = await repository.get_event(session, event_id, for_update=lock)
    if row is None:
        raise NotFound("event not found")
    return row


def _require_active(event: RowMapping) -> None:
    if event["status"] != "active":
        raise Conflict("the event is cancelled")


async def writable_event(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, *, lock: bool = False
) -> RowMapping:
    row = await get_event(session, event_id, lock=lock)
    if not principal.may_write_hub(row["hub"]):
        raise Forbidden("only the organising hub may change the event")
    return row


async def _publish_event(session: AsyncSession, row: RowMapping, *, created: bool) -> None:
    data = event_data(row)
    message_type = EventScheduled if created else EventUpdated
    message = message_type(
        source=_source(row["hub"]), subject=str(row["id"]), hub=row["hub"], data=data
    )
    await enqueue(session, bus, topic=EVENTS.name, key=str(row["id"]), message=message)


async def create_event(session: AsyncSession, principal: Principal, event: EventIn) -> RowMapping:
    now = _now()
    event_id = uuid.uuid4()
    columns = _json_sessions(_event_columns(event.model_dump()))
    await repository.insert_event(
        session,
        {
            **columns,
            "id": event_id,
            "hub": principal.hub,
            "version": 1,
            "status": "active",
            "cancel_reason": None,
            "scheduled_at": None,
            "schedule_solver": None,
            "created_at": now,
            "updated_at": now,
        },
    )
    row = await get_event(session, event_id)
    await _publish_event(session, row, created=True)
    return row


def _stored_fields(row: RowMapping) -> dict[str, Any]:
    return {name: row[name] for name in EventIn.model_fields}


async def update_event(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, patch: EventPatch
) -> RowMapping:
    """Apply the sent fields; the result must satisfy every rule of a new event. A patch
    that changes nothing keeps the version and publishes nothing."""
    row = await writable_event(session, principal, event_id, lock=True)
    if row["status"] == "cancelled":
        raise Conflict("a cancelled event cannot be changed")
    sent = patch.model_dump(include=patch.model_fields_set)
    merged = {**_stored_fields(row), **sent}
    try:
        check_event(merged)
    except (ValueError, ValidationError) as error:
        raise Invalid("body", str(error)) from error
    columns = _json_sessions(_event_columns(merged))
    changes = {name: value for name, value in columns.items() if _differs(row[name], value)}
    if not changes:
        return row
    await repository.update_event(
        session, event_id, {**changes, "version": row["version"] + 1, "updated_at": _now()}
    )
    await repository.touch_schedule(session, event_id)
    row = await get_event(session, event_id)
    await _publish_event(session, row, created=False)
    return row


def _differs(stored: Any, new: Any) -> bool:
    if isinstance(stored, datetime) and isinstance(new, datetime):
        return stored != new
    return bool(stored != new)


async def cancel_event(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, reason: str | None
) -> RowMapping:
    """Cancel once; cancelling again answers with the cancelled event and publishes nothing."""
    row = await writable_event(session, principal, event_id, lock=True)
    if row["status"] == "cancelled":
        return row
    version = row["version"] + 1
    await repository.update_event(
        session,
        event_id,
        {"status": "cancelled", "cancel_reason": reason, "version": version, "updated_at": _now()},
    )
    await repository.touch_schedule(session, event_id)
    data = EventCancelledData(id=event_id, hub=row["hub"], version=version, reason=reason)
    message = EventCancelled(
        source=_source(row["hub"]), subject=str(event_id), hub=row["hub"], data=data
    )
    await enqueue(session, bus, topic=EVENTS.name, key=str(event_id), message=message)
    return await get_event(session, event_id)


async def list_events(session: AsyncSession, filters: EventQuery) -> dict[str, Any]:
    rows, total = await repository.list_events(session, filters)
    return {
        "items": [dict(row) for row in rows],
        "total": total,
        "page": filters.page,
        "per_page": filters.per_page,
    }


# --------------------------------------------------------------------------- registrations


def slot_count(event: RowMapping) -> int:
    return sum(int(session["slots"]) for session in event["sessions"])


def _visible_profile(entry: RowMapping | None, principal: Principal) -> bool:
    return entry is not None and (
        principal.may_read_hub(entry["hub"]) or entry["sharing"] == "network"
    )


async def _publish_registration(
    session: AsyncSession, event: RowMapping, row: RowMapping, *, withdrawn: bool
) -> None:
    data = RegistrationData(
        id=row["id"],
        event_id=event["id"],
        profile_id=row["profile_id"],
        hub=row["hub"],
        version=row["version"],
    )
    message_type = RegistrationWithdrawn if withdrawn else RegistrationCreated
    message = message_type(
        source=_source(event["hub"]), subject=str(event["id"]), hub=event["hub"], data=data
    )
    await enqueue(session, bus, topic=REGISTRATIONS.name, key=str(event["id"]), message=message)


async def register(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, body: RegistrationIn
) -> RowMapping:
    """Register a profile the caller can see (its hub's, or shared with the network). It
    gets a place while the capacity lasts, else joins the waitlist; `registration.created`
    is published when it holds a place."""
    event = await get_event(session, event_id, lock=True)
    _require_active(event)
    entry = await repository.get_directory_entry(session, body.profile_id)
    if not _visible_profile(entry, principal):
        raise Invalid("profile_id", "no such profile visible to the caller")
    assert entry is not None
    bad = unknown_slots(body.availability, slot_count(event))
    if bad:
        raise Invalid("availability", f"not slots of this event: {bad}")
    existing = await repository.event_registrations(session, event_id)
    if any(
        row["profile_id"] == body.profile_id and row["status"] != Status.WITHDRAWN
        for row in existing
    ):
        raise Conflict("this profile is already registered for the event")
    taken = sum(1 for row in existing if row["status"] in HOLDS_PLACE)
    now = _now()
    registration_id = uuid.uuid4()
    await repository.insert_registration(
        session,
        {
            "id": registration_id,
            "event_id": event_id,
            "profile_id": body.profile_id,
            "hub": entry["hub"],
            "version": 1,
            "status": initial_status(event["capacity"], taken).value,
            "participant_name": body.participant.name,
            "participant_email": str(body.participant.email),
            "participant_languages": body.participant.languages,
            "availability": body.availability,
            "max_meetings": body.max_meetings,
            "created_at": now,
            "updated_at": now,
        },
    )
    row = await _registration(session, event_id, registration_id)
    if row["status"] in HOLDS_PLACE:
        await repository.touch_schedule(session, event_id)
        await _took_place(session, event, row)
    return row


async def _registration(
    session: AsyncSession, event_id: uuid.UUID, registration_id: uuid.UUID
) -> RowMapping:
    row = await repository.get_registration(session, event_id, registration_id)
    if row is None:
        raise NotFound("registration not found")
    return row


async def _took_place(session: AsyncSession, event: RowMapping, row: RowMapping) -> None:
    await _publish_registration(session, event, row, withdrawn=False)
    await suggest_for_registration(session, event, row)


async def withdraw(
    session: AsyncSession,
    principal: Principal,
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
) -> RowMapping:
    """Withdraw (once). A freed place goes to the first on the waitlist. The participant's
    meetings are cancelled at once; the rest of a schedule is repaired after the commit
    (the durable `repair_pending` flag, see `repair_pending_schedules`), so the answer
    never waits for the solver."""
    event = await get_event(session, event_id, lock=True)
    row = await _registration(session, event_id, registration_id)
    if not (principal.may_write_hub(event["hub"]) or principal.may_write_hub(row["hub"])):
        raise Forbidden("only the organising hub or the participant's hub may withdraw")
    if row["status"] == Status.WITHDRAWN:
        return row
    held_place = row["status"] in HOLDS_PLACE
    await repository.update_registration(
        session, registration_id, {"status": Status.WITHDRAWN.value, "updated_at": _now()}
    )
    await repository.delete_suggestions(session, registration_id=registration_id)
    row = await _registration(session, event_id, registration_id)
    if held_place:
        await _publish_registration(session, event, row, withdrawn=True)
        await _cancel_meetings_of(session, event, registration_id, reason=WITHDREW)
        await _promote_from_waitlist(session, event)
        await repository.touch_schedule(session, event_id, repair=WITHDREW)
    return row


WITHDREW = "a participant withdrew"
ACCEPTED = "a request was accepted"


async def _cancel_meetings_of(
    session: AsyncSession, event: RowMapping, registration_id: uuid.UUID, *, reason: str
) -> None:
    """A withdrawn participant's meetings cannot happen: cancel them now, without the
    solver (the repair later only fills the freed places)."""
    meetings = await repository.event_meetings(session, event["id"], status="scheduled")
    mine = [m for m in meetings if registration_id in (m["registration_a"], m["registration_b"])]
    if not mine:
        return
    regs = {row["id"]: row for row in await repository.event_registrations(session, event["id"])}
    now = _now()
    for meeting in mine:
        await _cancel_meeting(session, event, meeting, regs, now, reason=reason)


async def _promote_from_waitlist(session: AsyncSession, event: RowMapping) -> None:
    rows = await repository.event_registrations(session, event["id"])
    promoted = next_from_waitlist(rows, event["capacity"])
    if promoted is None:
        return
    await repository.update_registration(
        session, promoted, {"status": Status.REGISTERED.value, "updated_at": _now()}
    )
    await _took_place(session, event, await _registration(session, event["id"], promoted))


async def calendar_link_registration(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, registration_id: uuid.UUID
) -> RowMapping:
    """The registration whose agenda link the caller may hand out: the organising hub's
    or the participant's hub's."""
    event = await get_event(session, event_id)
    row = await _registration(session, event_id, registration_id)
    if not _may_act_for(principal, event, row):
        raise Forbidden("only the organising hub or the participant's hub may share the agenda")
    return row


async def check_in(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, registration_id: uuid.UUID
) -> RowMapping:
    event = await writable_event(session, principal, event_id)
    row = await _registration(session, event["id"], registration_id)
    if row["status"] == Status.CHECKED_IN:
        return row
    if row["status"] != Status.REGISTERED:
        raise Conflict(f"a {row['status']} registration cannot check in")
    await repository.update_registration(
        session, registration_id, {"status": Status.CHECKED_IN.value, "updated_at": _now()}
    )
    await repository.touch_schedule(session, event_id)
    return await _registration(session, event_id, registration_id)


async def list_registrations(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID
) -> list[dict[str, Any]]:
    event = await get_event(session, event_id)
    rows = await repository.event_registrations(session, event_id)
    names = await repository.profile_names(session, [row["profile_id"] for row in rows])
    return [registration_view(row, event, principal, names) for row in rows]


async def organisation_names(
    session: AsyncSession, profile_ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    return await repository.profile_names(session, profile_ids)


def registration_view(
    row: RowMapping, event: RowMapping, principal: Principal, names: dict[uuid.UUID, str]
) -> dict[str, Any]:
    """The registration as the caller may see it: the participant's contact (personal
    data) only for the organising hub."""
    organiser = principal.may_write_hub(event["hub"])
    return {
        **dict(row),
        "organisation": names.get(row["profile_id"]),
        "participant": {
            "name": row["participant_name"],
            "email": row["participant_email"],
            "languages": row["participant_languages"],
        }
        if organiser
        else None,
    }


async def forget_participant(session: AsyncSession, profile_id: uuid.UUID) -> None:
    """Erasure of a profile: its participants' names, emails and languages, the messages of
    their requests, and what the matcher said about the organisation (its matches and the
    suggested meetings drawn from them) go."""
    await repository.scrub_participant(session, profile_id)
    for match in await repository.all_matches_of_profile(session, profile_id):
        for event_id in await repository.events_suggesting(session, match["pair_id"]):
            await repository.touch_schedule(session, event_id)
        await repository.delete_suggestions(session, pair=match["pair_id"])
    await repository.delete_matches_of_profile(session, profile_id)


# --------------------------------------------------------------------------- requests


def _may_act_for(principal: Principal, event: RowMapping, registration: RowMapping) -> bool:
    return principal.may_write_hub(event["hub"]) or principal.may_write_hub(registration["hub"])


async def _participant(
    session: AsyncSession, event_id: uuid.UUID, registration_id: uuid.UUID, field: str
) -> RowMapping:
    row = await repository.get_registration(session, event_id, registration_id)
    if row is None:
        raise Invalid(field, "no such registration at this event")
    if row["status"] not in HOLDS_PLACE:
        raise Invalid(field, f"the registration is {row['status']}")
    return row


async def create_request(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, body: RequestIn
) -> RowMapping:
    """A asks B for a meeting; the organiser or A's hub may ask on A's behalf."""
    event = await get_event(session, event_id)
    _require_active(event)
    asking = await _participant(session, event_id, body.from_registration, "from_registration")
    await _participant(session, event_id, body.to_registration, "to_registration")
    if not _may_act_for(principal, event, asking):
        raise Forbidden("only the organising hub or the asking participant's hub may ask")
    pair = {body.from_registration, body.to_registration}
    for existing in await repository.event_requests(session, event_id):
        open_request = existing["status"] != RequestStatus.DECLINED
        if open_request and {existing["from_registration"], existing["to_registration"]} == pair:
            raise Conflict("these two participants already have an open meeting request")
    now = _now()
    request_id = uuid.uuid4()
    await repository.insert_request(
        session,
        {
            "id": request_id,
            "event_id": event_id,
            "from_registration": body.from_registration,
            "to_registration": body.to_registration,
            "message": body.message,
            "status": RequestStatus.PENDING.value,
            "reason": None,
            "created_at": now,
            "updated_at": now,
        },
    )
    return await _request(session, event_id, request_id)


async def _request(session: AsyncSession, event_id: uuid.UUID, request_id: uuid.UUID) -> RowMapping:
    row = await repository.get_request(session, event_id, request_id)
    if row is None:
        raise NotFound("meeting request not found")
    return row


async def answer_request(
    session: AsyncSession,
    principal: Principal,
    event_id: uuid.UUID,
    request_id: uuid.UUID,
    *,
    accept: bool,
    reason: str | None = None,
) -> RowMapping:
    """B (its hub, or the organiser) accepts or declines; repeating the same answer is a
    no-op, changing it is a conflict. An acceptance marks an existing schedule for repair
    (done after the commit, see `repair_pending_schedules`)."""
    event = await get_event(session, event_id, lock=True)
    request = await _request(session, event_id, request_id)
    asked = await _registration(session, event_id, request["to_registration"])
    if not _may_act_for(principal, event, asked):
        raise Forbidden("only the organising hub or the asked participant's hub may answer")
    wanted = RequestStatus.ACCEPTED if accept else RequestStatus.DECLINED
    if request["status"] == wanted:
        return request
    if request["status"] != RequestStatus.PENDING:
        raise Conflict(f"the request is already {request['status']}")
    await repository.update_request(
        session, request_id, {"status": wanted.value, "reason": reason, "updated_at": _now()}
    )
    # A decline matters too: the pair's suggestion no longer counts.
    await repository.touch_schedule(session, event_id, repair=ACCEPTED if accept else None)
    return await _request(session, event_id, request_id)


async def list_requests(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Every hub sees who asked whom and the answers; the message and the reason (written
    by people, possibly personal) only the organiser and the two participants' hubs."""
    event = await get_event(session, event_id)
    hubs = {
        row["id"]: row["hub"] for row in await repository.event_registrations(session, event_id)
    }
    views = []
    for row in await repository.event_requests(session, event_id):
        concerned = principal.may_write_hub(event["hub"]) or any(
            principal.may_write_hub(hubs[row[side]])
            for side in ("from_registration", "to_registration")
        )
        views.append(dict(row) if concerned else {**row, "message": None, "reason": None})
    return views


# --------------------------------------------------------------------------- matches


def _upcoming_matching_event(event: RowMapping, now: datetime) -> bool:
    return bool(
        event["status"] == "active"
        and event["kind"] == EventKind.MATCHING_EVENT.value
        and event["ends_at"] > now
    )


async def on_match(session: AsyncSession, match: MatchData) -> None:
    """A suggested (or rescored) pair becomes a suggested meeting at every upcoming
    matching event where both are registered (only `match.event_id` if the matcher named one)."""
    _check_pair(match.pair_id, match.profile_a, match.profile_b)
    stored = await repository.upsert_match(
        session,
        match.pair_id,
        {
            "profile_a": match.profile_a,
            "profile_b": match.profile_b,
            "score": match.score,
            "active": True,
            "event_id": match.event_id,
            "version": match.version,
        },
    )
    if not stored:
        return  # stale or repeated
    rows = await repository.active_registrations_of_profiles(
        session, [match.profile_a, match.profile_b]
    )
    by_event: dict[uuid.UUID, dict[uuid.UUID, RowMapping]] = {}
    for row in rows:
        by_event.setdefault(row["event_id"], {})[row["profile_id"]] = row
    now = _now()
    for event_id, registered in by_event.items():
        a, b = registered.get(match.profile_a), registered.get(match.profile_b)
        if a is None or b is None or match.event_id not in (None, event_id):
            continue
        event = await repository.get_event(session, event_id)
        if event is not None and _upcoming_matching_event(event, now):
            await _suggest(session, event_id, match.pair_id, a, b, match.score)


def _check_pair(pair: str, profile_a: uuid.UUID, profile_b: uuid.UUID) -> None:
    """A pair is two different profiles under their canonical pair id; anything else would
    store a meeting of a participant with itself or a second row for one pair."""
    if profile_a == profile_b:
        raise PoisonMessage("a match must pair two different profiles")
    if pair != pair_id(profile_a, profile_b):
        raise PoisonMessage(f"pair_id {pair!r} is not the pair id of its two profiles")


async def on_match_withdrawn(session: AsyncSession, match: MatchWithdrawnData) -> None:
    _check_pair(match.pair_id, match.profile_a, match.profile_b)
    stored = await repository.upsert_match(
        session,
        match.pair_id,
        {
            "profile_a": match.profile_a,
            "profile_b": match.profile_b,
            "score": 0.0,
            "active": False,
            "event_id": None,
            "version": match.version,
        },
    )
    if stored:
        for event_id in await repository.events_suggesting(session, match.pair_id):
            await repository.touch_schedule(session, event_id)
        await repository.delete_suggestions(session, pair=match.pair_id)


async def _suggest(
    session: AsyncSession,
    event_id: uuid.UUID,
    pair: str,
    a: RowMapping,
    b: RowMapping,
    score: float,
) -> None:
    await repository.upsert_suggestion(
        session,
        {
            "event_id": event_id,
            "pair_id": pair,
            "registration_a": a["id"],
            "registration_b": b["id"],
            "score": score,
        },
    )
    await repository.touch_schedule(session, event_id)


async def suggest_for_registration(
    session: AsyncSession, event: RowMapping, registration: RowMapping
) -> None:
    """A participant who gets a place meets the matches already known with others there."""
    if not _upcoming_matching_event(event, _now()):
        return
    matches = await repository.matches_of_profile(session, registration["profile_id"])
    if not matches:
        return
    others = {
        row["profile_id"]: row
        for row in await repository.event_registrations(session, event["id"])
        if row["status"] in HOLDS_PLACE
    }
    for match in matches:
        if match["event_id"] not in (None, event["id"]):
            continue
        a, b = others.get(match["profile_a"]), others.get(match["profile_b"])
        if a is not None and b is not None:
            await _suggest(session, event["id"], match["pair_id"], a, b, match["score"])


async def list_suggestions(session: AsyncSession, event_id: uuid.UUID) -> list[RowMapping]:
    await get_event(session, event_id)
    return list(await repository.event_suggestions(session, event_id))


# --------------------------------------------------------------------------- scheduling


def event_slot_times(event: RowMapping) -> list[tuple[datetime, datetime]]:
    sessions = [SessionIn.model_validate(session) for session in event["sessions"]]
    return slot_times(sessions, event["timezone"])


async def _problem(session: AsyncSession, event: RowMapping) -> Problem:
    event_id = event["id"]
    return build_problem(
        slot_count=slot_count(event),
        day_of_slot=day_of_slot(event_slot_times(event)),
        tables=event["tables"],
        registrations=await repository.event_registrations(session, event_id),
        requests=await repository.event_requests(session, event_id),
        suggestions=await repository.event_suggestions(session, event_id),
    )


@dataclass(frozen=True)
class ScheduleInput:
    """What one solver run reads, and the revision it was read at."""

    event: RowMapping
    revision: int
    problem: Problem
    previous: Schedule


async def _schedule_input(session: AsyncSession, event: RowMapping) -> ScheduleInput:
    # `event` (and its revision) is read before the rest: a change committed in between
    # bumps the revision after ours, so the result of this read can never be stored.
    meetings = await repository.event_meetings(session, event["id"])
    return ScheduleInput(
        event=event,
        revision=event["schedule_revision"],
        problem=await _problem(session, event),
        previous=stored_schedule(meetings),
    )


async def _apply_if_current(
    session: AsyncSession, read: ScheduleInput, result: Schedule, *, reason: str
) -> dict[str, Any] | None:
    """Store `result` if nothing the scheduler read changed since (None otherwise); the
    event row lock is held only for this short write."""
    event = await repository.get_event(session, read.event["id"], for_update=True)
    if event is None or event["schedule_revision"] != read.revision:
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
            _require_active(event)
            if slot_count(event) == 0 or not event["tables"]:
                raise Conflict(
                    "the event needs sessions with slots and tables to schedule meetings"
                )
            read = await _schedule_input(session, event)
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
            event = await repository.get_event(session, event_id)
            if event is None or event["repair_pending"] is None:
                return True
            if event["status"] != "active" or event["scheduled_at"] is None:
                await repository.update_event(session, event_id, {"repair_pending": None})
                return True
            read = await _schedule_input(session, event)
        result = await asyncio.to_thread(
            repair, read.problem, read.previous, time_limit_s=time_limit_s
        )
        async with transaction(sessionmaker) as session:
            applied = await _apply_if_current(session, read, result, reason=event["repair_pending"])
        if applied is not None:
            return True
        log.info("schedule.repair_conflict", event_id=str(event_id))
    return False


async def repair_pending_schedules(
    sessionmaker: async_sessionmaker[AsyncSession], *, time_limit_s: float
) -> int:
    """Run every pending repair (at start, this catches up on repairs decided before a
    crash); the number of events repaired."""
    async with transaction(sessionmaker) as session:
        pending = await repository.pending_repairs(session)
    repaired = 0
    for event_id in pending:
        try:
            repaired += await repair_schedule(sessionmaker, event_id, time_limit_s=time_limit_s)
        except Exception:
            # One event that cannot be repaired must not hold up the others; it stays
            # pending and is tried again next round.
            log.exception("schedule.repair_failed", event_id=str(event_id))
    return repaired


async def _apply(
    session: AsyncSession, event: RowMapping, problem: Problem, result: Schedule, *, reason: str
) -> dict[str, Any]:
    """Store `result` and announce each change: `meeting.scheduled` for new and moved
    meetings (a move is the next version), `meeting.cancelled` for dropped ones."""
    broken = violations(problem, result)
    if broken:
        # Never store an invalid schedule; the greedy baseline is valid by construction.
        log.error("schedule.invalid", event_id=str(event["id"]), violations=broken[:5])
        result = greedy_schedule(problem)
    meetings = await repository.event_meetings(session, event["id"])
    changes = diff(meetings, result)
    by_key = {row["key"]: row for row in meetings}
    times = event_slot_times(event)
    regs = {row["id"]: row for row in await repository.event_registrations(session, event["id"])}
    now = _now()
    scores = {request.key: request.score for request in problem.requests}
    for placement in (*changes.new, *changes.moved):
        existing = by_key.get(placement.key)
        await _place(
            session, event, existing, placement, (times, regs, scores.get(placement.key, 0.0)), now
        )
    for key in changes.cancelled:
        await _cancel_meeting(session, event, by_key[key], regs, now, reason=reason)
    # The stored schedule now answers the current problem: no repair is pending.
    await repository.update_event(
        session,
        event["id"],
        {"scheduled_at": now, "schedule_solver": result.solver, "repair_pending": None},
    )
    if changes.new or changes.moved or changes.cancelled:
        # Only a real change invalidates other runs' reads (a no-op repair must not make a
        # concurrent explicit run start over).
        await repository.touch_schedule(session, event["id"])
    log.info(
        "schedule.applied", event_id=str(event["id"]), solver=result.solver, **changes.summary()
    )
    return {
        "solver": result.solver,
        "optimal": result.optimal,
        "value": result.value,
        "changes": changes.summary(),
    }


async def _place(
    session: AsyncSession,
    event: RowMapping,
    existing: RowMapping | None,
    placement: Placement,
    context: tuple[list[tuple[datetime, datetime]], dict[uuid.UUID, RowMapping], float],
    now: datetime,
) -> None:
    times, regs, score = context
    starts_at, ends_at = times[placement.slot]
    values = {
        "registration_a": uuid.UUID(placement.a),
        "registration_b": uuid.UUID(placement.b),
        "status": "scheduled",
        "slot": placement.slot,
        "table_label": placement.table,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "score": score,
        "updated_at": now,
    }
    accepted = not placement.key.startswith("suggested:")
    if existing is None:
        row_id = meeting_id(event["id"], placement.key)
        await repository.insert_meeting(
            session,
            {
                **values,
                "id": row_id,
                "event_id": event["id"],
                "key": placement.key,
                "version": 1,
                "accepted": accepted,
                "outcome": None,
                "rating": None,
                "outcome_version": 0,
                "created_at": now,
            },
        )
    else:
        row_id = existing["id"]
        await repository.update_meeting(
            session, row_id, {**values, "version": existing["version"] + 1}
        )
    row = await repository.get_meeting(session, event["id"], row_id)
    assert row is not None
    data = meeting_data(event, row, regs)
    message = MeetingScheduled(
        source=_source(event["hub"]), subject=str(row_id), hub=event["hub"], data=data
    )
    await enqueue(session, bus, topic=MEETINGS.name, key=str(event["id"]), message=message)


async def _cancel_meeting(
    session: AsyncSession,
    event: RowMapping,
    row: RowMapping,
    regs: dict[uuid.UUID, RowMapping],
    now: datetime,
    *,
    reason: str,
) -> None:
    version = row["version"] + 1
    await repository.update_meeting(
        session, row["id"], {"status": "cancelled", "version": version, "updated_at": now}
    )
    cancelled = await repository.get_meeting(session, event["id"], row["id"])
    assert cancelled is not None
    data = cancelled_data(event, cancelled, regs, reason=reason)
    message = MeetingCancelled(
        source=_source(event["hub"]), subject=str(row["id"]), hub=event["hub"], data=data
    )
    await enqueue(session, bus, topic=MEETINGS.name, key=str(event["id"]), message=message)


def _meeting_fields(
    event: RowMapping, row: RowMapping, regs: Mapping[uuid.UUID, RowMapping]
) -> dict[str, Any]:
    """What `meeting.scheduled` and `meeting.cancelled` both say about a meeting: which
    event, who meets (both sides' profiles and hubs) and when."""
    a, b = regs[row["registration_a"]], regs[row["registration_b"]]
    return {
        "id": row["id"],
        "event_id": event["id"],
        "hub": event["hub"],
        "version": row["version"],
        "event_title": event["title"],
        "timezone": event["timezone"],
        "profile_a": a["profile_id"],
        "profile_b": b["profile_id"],
        "hub_a": a["hub"],
        "hub_b": b["hub"],
        "starts_at": row["starts_at"],
        "ends_at": row["ends_at"],
    }


def meeting_data(
    event: RowMapping, row: RowMapping, regs: Mapping[uuid.UUID, RowMapping]
) -> MeetingData:
    return MeetingData(
        **_meeting_fields(event, row, regs),
        table=row["table_label"],
        location=place(event),
        online=event["online"],
    )


def cancelled_data(
    event: RowMapping,
    row: RowMapping,
    regs: Mapping[uuid.UUID, RowMapping],
    *,
    reason: str | None = None,
) -> MeetingCancelledData:
    return MeetingCancelledData(**_meeting_fields(event, row, regs), reason=reason)


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class _Board:
    """An event's schedule as read: meetings with the names and rows they refer to."""

    event: RowMapping
    meetings: Sequence[RowMapping]
    registrations: dict[uuid.UUID, RowMapping]
    names: dict[uuid.UUID, str]

    def name(self, registration_id: uuid.UUID) -> str:
        profile_id = self.registrations[registration_id]["profile_id"]
        return self.names.get(profile_id, UNKNOWN_ORGANISATION)

    def participant_meetings(self, registration_id: uuid.UUID) -> list[RowMapping]:
        """The participant's scheduled meetings; NotFound if no such registration."""
        if registration_id not in self.registrations:
            raise NotFound("registration not found")
        return [
            row
            for row in self.meetings
            if row["status"] == "scheduled"
            and registration_id in (row["registration_a"], row["registration_b"])
        ]

    def meeting(self, meeting_id: uuid.UUID) -> RowMapping:
        row = next((m for m in self.meetings if m["id"] == meeting_id), None)
        if row is None:
            raise NotFound("meeting not found")
        return row


UNKNOWN_ORGANISATION = "an organisation"


async def _board(session: AsyncSession, event_id: uuid.UUID) -> _Board:
    event = await get_event(session, event_id)
    meetings = await repository.event_meetings(session, event_id)
    regs = {row["id"]: row for row in await repository.event_registrations(session, event_id)}
    names = await repository.profile_names(session, [row["profile_id"] for row in regs.values()])
    return _Board(event, meetings, regs, names)


def _local(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def _meeting_view(board: _Board, row: RowMapping) -> dict[str, Any]:
    zone = board.event["timezone"]
    return {
        "id": row["id"],
        "key": row["key"],
        "version": row["version"],
        "status": row["status"],
        "slot": row["slot"],
        "table": row["table_label"],
        "starts_at": _local(row["starts_at"], zone),
        "ends_at": _local(row["ends_at"], zone),
        "accepted": row["accepted"],
        "score": row["score"],
        "registration_a": row["registration_a"],
        "registration_b": row["registration_b"],
        "organisation_a": board.name(row["registration_a"]),
        "organisation_b": board.name(row["registration_b"]),
        "outcome": row["outcome"],
        "rating": row["rating"],
    }


async def schedule_view(session: AsyncSession, event_id: uuid.UUID) -> dict[str, Any]:
    """The event's current schedule: its slots (local times) and scheduled meetings."""
    board = await _board(session, event_id)
    event = board.event
    zone = event["timezone"]
    return {
        "event_id": event["id"],
        "title": event["title"],
        "timezone": zone,
        "scheduled_at": event["scheduled_at"],
        "solver": event["schedule_solver"],
        "tables": event["tables"],
        "slots": [
            {"index": index, "starts_at": start, "ends_at": end}
            for index, (start, end) in enumerate(event_slot_times(event))
        ],
        "meetings": [
            _meeting_view(board, row) for row in board.meetings if row["status"] == "scheduled"
        ],
    }


async def agenda(
    session: AsyncSession, event_id: uuid.UUID, registration_id: uuid.UUID
) -> dict[str, Any]:
    """One participant's meetings in time order, each with whom and where."""
    board = await _board(session, event_id)
    meetings = []
    for row in board.participant_meetings(registration_id):
        other = (
            row["registration_b"]
            if row["registration_a"] == registration_id
            else row["registration_a"]
        )
        view = _meeting_view(board, row)
        meetings.append(
            {**view, "with_registration": other, "with_organisation": board.name(other)}
        )
    return {
        "event_id": event_id,
        "registration_id": registration_id,
        "organisation": board.name(registration_id),
        "timezone": board.event["timezone"],
        "meetings": meetings,
    }


def _entry(board: _Board, row: RowMapping, *, attendees: tuple[str, ...] = ()) -> CalendarEntry:
    first, second = board.name(row["registration_a"]), board.name(row["registration_b"])
    summary = f"{first} & {second} — {board.event['title']}"
    description = f"1:1 meeting at table {row['table_label']} ({board.event['title']})"
    data: MeetingData | MeetingCancelledData
    if row["status"] == "cancelled":
        data = cancelled_data(board.event, row, board.registrations)
    else:
        data = meeting_data(board.event, row, board.registrations)
    return meeting_entry(data, summary=summary, description=description, attendees=attendees)


async def agenda_ics(
    session: AsyncSession, event_id: uuid.UUID, registration_id: uuid.UUID
) -> bytes:
    """The participant's agenda as one calendar (METHOD:PUBLISH), a VEVENT per meeting."""
    board = await _board(session, event_id)
    rows = board.participant_meetings(registration_id)
    return calendar_bytes([_entry(board, row) for row in rows], Method.PUBLISH)


async def meeting_ics(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, meeting_id: uuid.UUID
) -> bytes:
    """One meeting's invitation (REQUEST), or its cancellation (CANCEL, higher SEQUENCE).
    The organiser's copy names both participants as attendees."""
    board = await _board(session, event_id)
    row = board.meeting(meeting_id)
    attendees: tuple[str, ...] = ()
    if principal.may_write_hub(board.event["hub"]):
        emails = (
            board.registrations[row[side]]["participant_email"]
            for side in ("registration_a", "registration_b")
        )
        attendees = tuple(email for email in emails if email)
    method = Method.CANCEL if row["status"] == "cancelled" else Method.REQUEST
    return calendar_bytes([_entry(board, row, attendees=attendees)], method)


async def table_plan(session: AsyncSession, event_id: uuid.UUID) -> str:
    board = await _board(session, event_id)
    cells = {
        (row["slot"], row["table_label"]): (
            board.name(row["registration_a"]),
            board.name(row["registration_b"]),
        )
        for row in board.meetings
        if row["status"] == "scheduled"
    }
    return render_table_plan(
        title=board.event["title"],
        place=place(board.event),
        timezone=board.event["timezone"],
        slots=event_slot_times(board.event),
        tables=board.event["tables"],
        cells=cells,
    )


# --------------------------------------------------------------------------- after the event


async def record_outcome(
    session: AsyncSession,
    principal: Principal,
    event_id: uuid.UUID,
    meeting_id: uuid.UUID,
    body: OutcomeIn,
) -> dict[str, Any]:
    """The organiser or either side's hub records how the meeting went; each record is
    published as `meeting.outcome_recorded` (the matcher learns from it)."""
    board = await _board(session, event_id)
    row = board.meeting(meeting_id)
    sides = [board.registrations[row[side]] for side in ("registration_a", "registration_b")]
    if not any(
        principal.may_write_hub(hub) for hub in (board.event["hub"], *(s["hub"] for s in sides))
    ):
        raise Forbidden("only the organising hub or a participant's hub may record the outcome")
    if row["status"] != "scheduled":
        raise Conflict("the meeting was cancelled")
    version = row["outcome_version"] + 1
    await repository.update_meeting(
        session,
        meeting_id,
        {"outcome": body.outcome.value, "rating": body.rating, "outcome_version": version},
    )
    data = MeetingOutcomeData(
        id=meeting_id,
        event_id=event_id,
        version=version,
        pair_id=pair_id(sides[0]["profile_id"], sides[1]["profile_id"]),
        outcome=body.outcome,
        rating=body.rating,
    )
    hub = board.event["hub"]
    message = MeetingOutcomeRecorded(
        source=_source(hub), subject=str(meeting_id), hub=hub, data=data
    )
    await enqueue(session, bus, topic=MEETINGS.name, key=str(event_id), message=message)
    updated = await repository.get_meeting(session, event_id, meeting_id)
    assert updated is not None
    return _meeting_view(board, updated)


async def stats(session: AsyncSession, principal: Principal, event_id: uuid.UUID) -> EventStats:
    """The organiser's figures for the event."""
    event = await writable_event(session, principal, event_id)
    requests = await repository.event_requests(session, event["id"])
    meetings = await repository.event_meetings(session, event["id"])
    return event_stats(
        request_statuses=[row["status"] for row in requests],
        suggestions=len(await repository.event_suggestions(session, event["id"])),
        meetings=[(row["status"], row["outcome"], row["rating"]) for row in meetings],
    )
