"""How an alert of the notifier's feed is shown (pure): its kind's label in the reader's
language, the page it opens, the filter group it belongs to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def N_(message: str) -> str:  # noqa: N802 - the gettext marker's conventional name
    """Marks a string for the catalogue; it is translated where it is shown."""
    return message


KIND_LABELS = {
    "match.suggested": N_("New partner match"),
    "match.updated": N_("Updated match"),
    "match.withdrawn": N_("Match withdrawn"),
    "meeting.scheduled": N_("Meeting scheduled"),
    "meeting.cancelled": N_("Meeting cancelled"),
    "event.scheduled": N_("New event"),
    "event.updated": N_("Event changed"),
    "event.cancelled": N_("Event cancelled"),
}
GROUPS: dict[str, tuple[str, ...]] = {
    "matches": ("match.suggested", "match.updated", "match.withdrawn"),
    "meetings": ("meeting.scheduled", "meeting.cancelled"),
    "events": ("event.scheduled", "event.updated", "event.cancelled"),
}
GROUP_LABELS = {"matches": N_("Matches"), "meetings": N_("Meetings"), "events": N_("Events")}


def group_of(kind: str) -> str | None:
    return next((group for group, kinds in GROUPS.items() if kind in kinds), None)


def headline(note: Mapping[str, Any]) -> str:
    """What the alert is about: the notifier's title after its English "Verb: " prefix,
    which the console replaces by the kind's label in the reader's language."""
    title = str(note.get("title", ""))
    _, separator, rest = title.partition(": ")
    return rest if separator and note.get("kind") in KIND_LABELS else title


def link_of(note: Mapping[str, Any]) -> str | None:
    """The console page an alert opens: the match, or the event."""
    kind, data = str(note.get("kind", "")), note.get("data") or {}
    if kind.startswith("match.") and data.get("pair_id"):
        return f"/matches/{data['pair_id']}"
    if kind.startswith("meeting.") and data.get("event_id"):
        return f"/events/{data['event_id']}/schedule"
    if kind.startswith("event.") and data.get("id"):
        return f"/events/{data['id']}"
    return None


def only_group(items: Iterable[Mapping[str, Any]], group: str | None) -> list[Mapping[str, Any]]:
    if group not in GROUPS:
        return list(items)
    return [item for item in items if item.get("kind") in GROUPS[group]]


def unread_by_group(items: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many of `items` (unread alerts) fall in each filter group."""
    counts = dict.fromkeys(GROUPS, 0)
    for item in items:
        group = group_of(str(item.get("kind", "")))
        if group is not None:
            counts[group] += 1
    return counts
