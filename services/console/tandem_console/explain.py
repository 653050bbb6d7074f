"""The "why" of a match (pure): its components as labelled bars and its best need ↔ offer
excerpts each way, with the language each text was written in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tandem_console.feed import N_

# The scored components, in the order they are shown, with their labels.
COMPONENTS = {
    "reciprocal": N_("Reciprocal fit (both directions)"),
    "a_needs_b_offers": N_("Needs of %(left)s met by offers of %(right)s"),
    "b_needs_a_offers": N_("Needs of %(right)s met by offers of %(left)s"),
    "sector": N_("Sector complementarity"),
    "looking_for": N_("Looking for each other's kind"),
    "language": N_("Shared working language"),
    "geography": N_("Geography"),
    "event": N_("Registered at the same event"),
}
# Known relations, shown as notes rather than bars when they hold.
FLAGS = {
    "same_organisation": N_("Same organisation"),
    "declined": N_("Declined before"),
    "partners": N_("Already partners"),
}
STATUS_LABELS = {
    "suggested": N_("Suggested"),
    "accepted": N_("Accepted"),
    "partners": N_("Partners"),
    "declined": N_("Declined"),
    "withdrawn": N_("Withdrawn"),
}


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    value: float  # 0..1

    @property
    def width(self) -> float:
        """The bar's length in percent of the track."""
        return round(max(0.0, min(1.0, self.value)) * 100, 1)


@dataclass(frozen=True)
class Excerpt:
    need: str
    need_language: str | None
    offer: str
    offer_language: str | None
    similarity: float


def bars(components: Mapping[str, float]) -> list[Bar]:
    return [
        Bar(key, label, float(components[key]))
        for key, label in COMPONENTS.items()
        if key in components
    ]


def flags(components: Mapping[str, float]) -> list[str]:
    return [label for key, label in FLAGS.items() if components.get(key)]


def language_of(text: str, items: Sequence[Mapping[str, Any]]) -> str | None:
    """The detected language of the profile's need or offer whose text this is."""
    wanted = text.strip()
    for item in items:
        if str(item.get("text", "")).strip() == wanted:
            language = item.get("language")
            return str(language) if language else None
    return None


def excerpt(
    pair: Mapping[str, Any] | None, needing: Mapping[str, Any], offering: Mapping[str, Any]
) -> Excerpt | None:
    """One direction's best pair: `needing`'s need and `offering`'s offer (profiles as the
    registry returns them, whose items carry their language)."""
    if not pair:
        return None
    need, offer = str(pair.get("need", "")), str(pair.get("offer", ""))
    return Excerpt(
        need=need,
        need_language=language_of(need, needing.get("needs", [])),
        offer=offer,
        offer_language=language_of(offer, offering.get("offers", [])),
        similarity=float(pair.get("similarity", 0.0)),
    )
