"""Events use cases. Each writes its domain change and its messages in the caller's
transaction (the outbox), so either both happen or neither does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_events import repository
from tandem_events.domain.events import (
    EventIn,
    EventPatch,
    EventQuery,
    SessionIn,
    check_event,
    localise,
    table_labels,
)
from tandem_events.tables import bus
from tandem_shared.auth import Principal
from tandem_shared.bus.outbox import enqueue
from tandem_shared.contracts import (
    EVENTS,
    EventCancelled,
    EventCancelledData,
    EventData,
    EventKind,
    EventScheduled,
    EventUpdated,
)


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
    )


def place(event: RowMapping) -> str | None:
    """Where the event happens, as one line (venue and address, or the URL)."""
    if event["online"]:
        return str(event["url"]) if event["url"] else None
    return ", ".join(part for part in (event["venue"], event["address"]) if part) or None


async def get_event(session: AsyncSession, event_id: uuid.UUID) -> RowMapping:
    """Events are announcements to the whole network: every caller may read them."""
    row = await repository.get_event(session, event_id)
    if row is None:
        raise NotFound("event not found")
    return row


async def writable_event(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, *, lock: bool = False
) -> RowMapping:
    row = await repository.get_event(session, event_id, for_update=lock)
    if row is None:
        raise NotFound("event not found")
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
