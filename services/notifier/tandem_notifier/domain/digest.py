"""A daily digest's content (pure): held-back alerts grouped by the recipient's profile."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tandem_notifier.domain.events import NOTICES


@dataclass(frozen=True)
class DigestItem:
    kind: str
    pair_id: str
    partner_name: str
    score: float | None
    summary: str


@dataclass(frozen=True)
class DigestGroup:
    profile_id: str
    profile_name: str
    items: tuple[DigestItem, ...]


def _sides(payload: Mapping[str, Any]) -> tuple[dict[str, Any], str, str]:
    match: dict[str, Any] = payload.get("match") or payload.get("withdrawal") or {}
    return match, payload.get("name_a", "?"), payload.get("name_b", "?")


def group_by_profile(
    entries: Sequence[tuple[str, Mapping[str, Any]]], hub: str
) -> list[DigestGroup]:
    """Group (kind, payload) entries of match alerts by the profile on the recipient's
    side: the one in `hub`, else profile a (a network-wide subscriber has no side)."""
    groups: dict[str, tuple[str, list[DigestItem]]] = {}
    for kind, payload in entries:
        match, name_a, name_b = _sides(payload)
        if not match:
            continue
        own_is_b = match.get("hub_b") == hub and match.get("hub_a") != hub
        own_id = match["profile_b"] if own_is_b else match["profile_a"]
        own_name, partner = (name_b, name_a) if own_is_b else (name_a, name_b)
        explanation = match.get("explanation") or {}
        item = DigestItem(
            kind=kind,
            pair_id=match["pair_id"],
            partner_name=partner,
            score=match.get("score"),
            summary=explanation.get("summary") or match.get("reason") or "",
        )
        groups.setdefault(own_id, (own_name, []))[1].append(item)
    return [
        DigestGroup(profile_id=key, profile_name=name, items=tuple(items))
        for key, (name, items) in sorted(groups.items(), key=lambda kv: (kv[1][0], kv[0]))
    ]


def held_events(entries: Sequence[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The events among held alerts (oldest first), each once in its latest state (an
    event announced, then moved, then cancelled shows as cancelled), soonest first.
    `change` is None for a new event, else "updated" or "cancelled"."""
    latest: dict[str, dict[str, Any]] = {}
    for kind, payload in entries:
        if kind not in NOTICES:
            continue
        event = payload["event"]
        change = None if kind == "event.scheduled" else kind.removeprefix("event.")
        latest[event["id"]] = {
            "title": event["title"],
            "starts_at": event["starts_at"],
            "timezone": event["timezone"],
            "change": change,
        }
    return sorted(latest.values(), key=lambda e: e["starts_at"])


def digest_payload(
    groups: Sequence[DigestGroup], events: Sequence[Mapping[str, Any]], day: str
) -> dict[str, Any]:
    return {"date": day, "groups": [asdict(group) for group in groups], "events": list(events)}
