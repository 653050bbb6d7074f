"""Who hears about what (pure): subscriptions matched against a match or an event.

A staff member is the (hub, subject) of their token. The rules:
- a hub subscription hears about every match with a side in that hub (staff may only
  hold their own hub; a network_admin may hold any);
- a sector subscription ("kind" or "kind/subsector") hears about matches of the
  subscriber's own hub where either profile is of that kind (and subsector), and about
  events scheduled for that kind;
- a profile subscription hears about the matches of that profile whose both sides the
  subscriber's hub may see (its own hub's profiles and network-shared ones): a profile of
  another hub may be followed once shared, but its matches inside its hub stay there;
- a network subscription (network_admin only) hears about every match.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from tandem_shared.contracts import Sharing

StaffKey = tuple[str, str]


@dataclass(frozen=True)
class ProfileFacts:
    id: uuid.UUID
    hub: str
    kind: str | None = None
    subsectors: frozenset[str] = field(default_factory=frozenset)
    # None while the notifier has not seen the profile: counted as hub-only (the safe side).
    sharing: Sharing | None = None

    def visible_to(self, hub: str) -> bool:
        return self.hub == hub or self.sharing is Sharing.NETWORK


@dataclass(frozen=True)
class StoredSubscription:
    hub: str
    subject: str
    scope: str
    target: str

    @property
    def staff(self) -> StaffKey:
        return (self.hub, self.subject)


def sector_covers(target: str, kind: str | None, subsectors: Iterable[str] = ()) -> bool:
    """Whether a sector subscription target ("kind" or "kind/subsector") covers a profile."""
    wanted_kind, _, wanted_subsector = target.partition("/")
    if kind != wanted_kind:
        return False
    return not wanted_subsector or wanted_subsector in set(subsectors)


def _hears_of_match(sub: StoredSubscription, a: ProfileFacts, b: ProfileFacts) -> bool:
    sides = {a.hub, b.hub}
    if sub.scope == "hub":
        return sub.target in sides
    if sub.scope == "sector":
        return sub.hub in sides and any(
            sector_covers(sub.target, p.kind, p.subsectors) for p in (a, b)
        )
    if sub.scope == "profile":
        followed = sub.target in {str(a.id), str(b.id)}
        return followed and a.visible_to(sub.hub) and b.visible_to(sub.hub)
    return sub.scope == "network"


def match_recipients(
    subscriptions: Iterable[StoredSubscription], a: ProfileFacts, b: ProfileFacts
) -> set[StaffKey]:
    return {sub.staff for sub in subscriptions if _hears_of_match(sub, a, b)}


def event_recipients(
    subscriptions: Iterable[StoredSubscription], sectors: Iterable[str]
) -> set[StaffKey]:
    """Sector subscribers of any of the event's sectors (a subsector subscription counts
    for its kind: events name kinds only)."""
    kinds = set(sectors)
    return {
        sub.staff
        for sub in subscriptions
        if sub.scope == "sector" and sub.target.partition("/")[0] in kinds
    }
