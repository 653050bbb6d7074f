"""Event notices (pure): what changed between two versions of an event.

`event.updated` carries the whole new event and no diff, so the notifier compares it with
the version it stored; the names below are the aspects a notice can show (and has words
for in every language, `change.<name>` in `i18n`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tandem_shared.contracts import EventData

NOTICES = ("event.scheduled", "event.updated", "event.cancelled")

# Aspect → the part of the event it looks at, in the order a notice lists them.
_ASPECTS: Sequence[tuple[str, Callable[[EventData], object]]] = (
    ("title", lambda e: e.title),
    ("when", lambda e: (e.starts_at, e.ends_at, e.timezone)),
    ("where", lambda e: (e.venue, e.online)),
    ("kind", lambda e: e.kind),
    ("languages", lambda e: sorted(e.languages)),
    ("sectors", lambda e: sorted(e.sectors)),
)


def event_changes(before: EventData | None, after: EventData) -> list[str] | None:
    """The aspects that differ, in notice order; None when the earlier version is unknown
    (the notice then only says "updated"). An empty list means nothing a notice shows
    changed (the organiser edited sessions, tables or the description)."""
    if before is None:
        return None
    return [name for name, part in _ASPECTS if part(before) != part(after)]


def audience_sectors(before: EventData | None, after: EventData) -> list[str]:
    """An update reaches the subscribers of the sectors the event had and has: someone told
    of it before should hear that it no longer concerns their sector."""
    sectors = set(after.sectors) | (set(before.sectors) if before is not None else set())
    return sorted(sector.value for sector in sectors)
