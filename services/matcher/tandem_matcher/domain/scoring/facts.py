"""Pair facts scoring reads besides the profiles (pure): relations (declined, partners),
registrations to events, and whether each event still counts (not over, not cancelled).
They are sparse: scoring a profile touches only its own few relations and events."""

from __future__ import annotations

from datetime import datetime

from tandem_matcher.domain.pairs import Relation
from tandem_matcher.domain.scoring.model import EventState


class PairFacts:
    def __init__(self) -> None:
        self._relations: dict[str, dict[str, Relation]] = {}
        self._events_of: dict[str, set[str]] = {}
        self._participants: dict[str, set[str]] = {}
        # Events known to be over at some time or cancelled (from the events topic).
        self._event_state: dict[str, EventState] = {}

    def forget(self, profile_id: str) -> None:
        """Drop the profile's relations and registrations (it left the index)."""
        for other in self._relations.pop(profile_id, {}):
            self._relations.get(other, {}).pop(profile_id, None)
        for event_id in self._events_of.pop(profile_id, set()):
            self._participants.get(event_id, set()).discard(profile_id)

    def set_relation(self, a: str, b: str, relation: Relation | None) -> None:
        """Record (or with None forget) that a and b declined each other or are partners."""
        for first, second in ((a, b), (b, a)):
            if relation is None:
                self._relations.get(first, {}).pop(second, None)
            else:
                self._relations.setdefault(first, {})[second] = relation

    def relation(self, a: str, b: str) -> Relation | None:
        return self._relations.get(a, {}).get(b)

    def relations_of(self, profile_id: str) -> dict[str, Relation]:
        return self._relations.get(profile_id, {})

    def register(self, event_id: str, profile_id: str) -> None:
        self._events_of.setdefault(profile_id, set()).add(event_id)
        self._participants.setdefault(event_id, set()).add(profile_id)

    def unregister(self, event_id: str, profile_id: str) -> None:
        self._events_of.get(profile_id, set()).discard(event_id)
        self._participants.get(event_id, set()).discard(profile_id)

    def set_event(self, event_id: str, state: EventState | None) -> None:
        """Record when the event ends and whether it was cancelled (None: forget it)."""
        if state is None:
            self._event_state.pop(event_id, None)
        else:
            self._event_state[event_id] = state

    def event_state(self, event_id: str) -> EventState | None:
        return self._event_state.get(event_id)

    def upcoming(self, event_id: str, at: datetime | None) -> bool:
        """Whether co-registration at the event counts at `at`: not cancelled and not over.
        An event not seen yet counts (a registration implies it exists; its own message
        may come later on another topic); `at` None ignores end times."""
        state = self._event_state.get(event_id)
        if state is None:
            return True
        if state.cancelled:
            return False
        return at is None or state.ends_at is None or state.ends_at > at

    def events_of(self, profile_id: str) -> frozenset[str]:
        return frozenset(self._events_of.get(profile_id, ()))

    def participants(self, event_id: str) -> frozenset[str]:
        return frozenset(self._participants.get(event_id, ()))

    def shared_events(self, profile_id: str, at: datetime | None) -> dict[str, str]:
        """Other profile → one upcoming event both are registered to (the smallest id,
        for stable output); touches only the participants of the profile's own events."""
        shared: dict[str, str] = {}
        for event_id in sorted(self._events_of.get(profile_id, ()), reverse=True):
            if not self.upcoming(event_id, at):
                continue
            for other in self._participants.get(event_id, ()):
                if other != profile_id:
                    shared[other] = event_id
        return shared
