"""Helpers every events use case shares."""

from __future__ import annotations

from datetime import UTC, datetime

from tandem_events.domain.events import Event
from tandem_events.domain.registrations import Registration
from tandem_shared.auth import Principal


def now() -> datetime:
    return datetime.now(UTC)


def may_act_for(principal: Principal, event: Event, registration: Registration) -> bool:
    """The organising hub, or the participant's own hub, may act for a participant."""
    return principal.may_write_hub(event.hub) or principal.may_write_hub(registration.hub)
