"""Events: created, changed and cancelled by their organising hub, read by every hub."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events.domain.events import (
    TIMING_FIELDS,
    Event,
    EventIn,
    EventPatch,
    EventQuery,
    EventStatus,
    check_event,
    check_not_over,
    event_columns,
)
from tandem_events.messages import event_data, publish
from tandem_events.repository import events as repository
from tandem_events.service.common import now
from tandem_events.service.rules import check_rules_hold
from tandem_shared.auth import Principal
from tandem_shared.contracts import (
    EventCancelled,
    EventCancelledData,
    EventScheduled,
    EventUpdated,
)
from tandem_shared.errors import Conflict, Forbidden, Invalid, NotFound

# What the organiser's scheduling rules name (sessions, slots, tables) or are (the spread):
# changing these re-checks the rules, and a change that breaks one is refused.
SCHEDULING_FIELDS = frozenset({"sessions", "tables", "break_spread"})


async def get_event(session: AsyncSession, event_id: uuid.UUID, *, lock: bool = False) -> Event:
    """Events are announcements to the whole network: every caller may read them. `lock`
    holds the row until the transaction ends (changes that depend on its state)."""
    event = await repository.get_event(session, event_id, for_update=lock)
    if event is None:
        raise NotFound("event not found")
    return event


def require_active(event: Event) -> None:
    if event.status != EventStatus.ACTIVE:
        raise Conflict("the event is cancelled")


async def writable_event(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, *, lock: bool = False
) -> Event:
    event = await get_event(session, event_id, lock=lock)
    if not principal.may_write_hub(event.hub):
        raise Forbidden("only the organising hub may change the event")
    return event


async def create_event(session: AsyncSession, principal: Principal, body: EventIn) -> Event:
    moment = now()
    columns = event_columns(body.model_dump())
    _refuse_ended(columns, moment)
    event = await repository.insert_event(
        session,
        {
            **columns,
            "id": uuid.uuid4(),
            "hub": principal.hub,
            "version": 1,
            "status": EventStatus.ACTIVE,
            "cancel_reason": None,
            "scheduled_at": None,
            "schedule_solver": None,
            "created_at": moment,
            "updated_at": moment,
        },
    )
    await publish(session, event, EventScheduled, subject=event.id, data=event_data(event))
    return event


async def update_event(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, patch: EventPatch
) -> Event:
    """Apply the sent fields; the result must satisfy every rule of a new event, and the
    scheduling rules set on its requests and registrations must still hold (422). A patch
    that changes nothing keeps the version and publishes nothing."""
    event = await writable_event(session, principal, event_id, lock=True)
    if event.status == EventStatus.CANCELLED:
        raise Conflict("a cancelled event cannot be changed")
    merged = {**event.stored_fields(), **patch.model_dump(include=patch.model_fields_set)}
    try:
        check_event(merged)
    except (ValueError, ValidationError) as error:
        raise Invalid("body", str(error)) from error
    columns = event_columns(merged)
    if patch.model_fields_set & TIMING_FIELDS:
        _refuse_ended(columns, now())
    changes = {name: value for name, value in columns.items() if getattr(event, name) != value}
    if not changes:
        return event
    event = await repository.update_event(session, event_id, changes, now=now())
    if changes.keys() & SCHEDULING_FIELDS:
        await check_rules_hold(session, event)
    await publish(session, event, EventUpdated, subject=event.id, data=event_data(event))
    return event


def _refuse_ended(columns: dict[str, Any], moment: datetime) -> None:
    try:
        check_not_over(columns["ends_at"], moment)
    except ValueError as error:
        raise Invalid("ends_at", str(error)) from error


async def cancel_event(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, reason: str | None
) -> Event:
    """Cancel once; cancelling again answers with the cancelled event and publishes nothing."""
    event = await writable_event(session, principal, event_id, lock=True)
    if event.status == EventStatus.CANCELLED:
        return event
    event = await repository.cancel_event(session, event_id, reason, now=now())
    data = EventCancelledData(id=event.id, hub=event.hub, version=event.version, reason=reason)
    await publish(session, event, EventCancelled, subject=event.id, data=data)
    return event


async def list_events(session: AsyncSession, filters: EventQuery) -> dict[str, Any]:
    found, total = await repository.list_events(session, filters)
    return {"items": found, "total": total, "page": filters.page, "per_page": filters.per_page}
