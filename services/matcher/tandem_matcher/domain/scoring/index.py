"""`VectorIndex`: every profile in a slot (its text vectors in `text.TextRows`, its
structured attributes in `components.StructuredAttributes`) plus the pair facts, scored
against one profile or a block of profiles at a time (pure: numpy only).

Scoring one profile against all of them is one matrix product per direction plus array
arithmetic: no Python loop over candidates."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from tandem_matcher.domain.pairs import Relation
from tandem_matcher.domain.scoring.components import StructuredAttributes
from tandem_matcher.domain.scoring.facts import PairFacts
from tandem_matcher.domain.scoring.model import EventState, ProfileVectors, Scored, Weights
from tandem_matcher.domain.scoring.table import ScoreTable
from tandem_matcher.domain.scoring.text import Direction, TextRows, block_directions, harmonic
from tandem_matcher.domain.structure import Structure


class VectorIndex:
    """Every profile's vectors and attributes, scored against one profile at a time."""

    def __init__(
        self,
        dim: int,
        structure: Structure | None = None,
        sparse_dim: int = 0,
        dense_share: float = 1.0,
    ) -> None:
        """`dim` and `sparse_dim`: the encoder's dense and sparse widths (0: none);
        `dense_share`: the dense cosine's weight in a text pair's similarity."""
        self.dim = dim
        self.structure = structure or Structure()
        self.attributes = StructuredAttributes(self.structure)
        self.facts = PairFacts()
        self._slot_of: dict[str, int] = {}
        self._profiles: list[ProfileVectors | None] = []
        self._free: list[int] = []
        self._alive = np.zeros(0, bool)
        # Each profile's k-th best standing match score (-inf: fewer than k), kept by the
        # service, so "would this pair enter the candidate's own top-k" is one comparison.
        self._kth = np.zeros(0, np.float64)
        self.needs = TextRows(dim, sparse_dim=sparse_dim, dense_share=dense_share)
        self.offers = TextRows(dim, sparse_dim=sparse_dim, dense_share=dense_share)

    def __len__(self) -> int:
        return len(self._slot_of)

    def get(self, profile_id: str) -> ProfileVectors | None:
        slot = self._slot_of.get(profile_id)
        return None if slot is None else self._profiles[slot]

    def slot(self, profile_id: str) -> int | None:
        return self._slot_of.get(profile_id)

    def at_slot(self, slot: int) -> ProfileVectors | None:
        return self._profiles[slot]

    def put(self, profile: ProfileVectors) -> None:
        slot = self._slot_of.get(profile.id)
        if slot is None:
            slot = self._new_slot()
            self._slot_of[profile.id] = slot
        self._profiles[slot] = profile
        self._alive[slot] = True
        self.attributes.put(slot, profile)
        self.needs.put(slot, profile.needs, profile.sparse_needs)
        self.offers.put(slot, profile.offers, profile.sparse_offers)

    def remove(self, profile_id: str) -> None:
        slot = self._slot_of.pop(profile_id, None)
        if slot is None:
            return
        self._profiles[slot] = None
        self._alive[slot] = False
        self.needs.drop(slot)
        self.offers.drop(slot)
        self._free.append(slot)
        self.facts.forget(profile_id)

    def _new_slot(self) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            slot = len(self._profiles)
            self._profiles.append(None)
            if slot >= len(self._alive):
                grow = max(1024, len(self._alive))
                self._alive = np.concatenate([self._alive, np.zeros(grow, bool)])
                self._kth = np.concatenate([self._kth, np.zeros(grow, np.float64)])
                self.attributes.grow(grow)
        self._kth[slot] = -np.inf
        return slot

    def set_kth_best(self, profile_id: str, score: float) -> None:
        """The profile's k-th best standing match score (-inf while it has fewer than k)."""
        slot = self._slot_of.get(profile_id)
        if slot is not None:
            self._kth[slot] = score

    # ------------------------------------------------- pair facts (`facts.PairFacts`)

    def set_relation(self, a: str, b: str, relation: Relation | None) -> None:
        self.facts.set_relation(a, b, relation)

    def relation(self, a: str, b: str) -> Relation | None:
        return self.facts.relation(a, b)

    def register(self, event_id: str, profile_id: str) -> None:
        self.facts.register(event_id, profile_id)

    def unregister(self, event_id: str, profile_id: str) -> None:
        self.facts.unregister(event_id, profile_id)

    def set_event(self, event_id: str, state: EventState | None) -> None:
        self.facts.set_event(event_id, state)

    def event_state(self, event_id: str) -> EventState | None:
        return self.facts.event_state(event_id)

    def upcoming(self, event_id: str, at: datetime | None) -> bool:
        return self.facts.upcoming(event_id, at)

    def events_of(self, profile_id: str) -> frozenset[str]:
        return self.facts.events_of(profile_id)

    def participants(self, event_id: str) -> frozenset[str]:
        return self.facts.participants(event_id)

    # ---------------------------------------------------------------- scoring

    def visible_to(self, profile: ProfileVectors) -> NDArray[np.bool_]:
        """Same hub, or both shared with the network; never the profile itself."""
        slots = len(self._profiles)
        visible: NDArray[np.bool_] = self._alive[:slots] & self.attributes.may_see(profile, slots)
        own = self._slot_of.get(profile.id)
        if own is not None:
            visible[own] = False
        return visible

    def score(
        self, profile: ProfileVectors, weights: Weights = Weights(), at: datetime | None = None
    ) -> ScoreTable:
        """Score the profile against every slot; `at` is the time that decides which
        events are still upcoming (None: every event not cancelled). A block of one: the
        same code as `score_block`."""
        return next(self.score_block([profile], weights, at))

    def score_block(
        self,
        profiles: Sequence[ProfileVectors],
        weights: Weights = Weights(),
        at: datetime | None = None,
    ) -> Iterator[ScoreTable]:
        """Score each of `profiles` against every slot, in order: one matrix-matrix product
        per direction for the whole block (the candidate matrices are read once per block,
        not once per profile), then each profile's reductions and structured components.
        Tables are made one at a time as the caller asks (a table holds a dozen arrays
        over all slots); the index must not change while the block is being iterated."""
        slots = len(self._profiles)
        needs_offers = block_directions(
            self.offers,
            [p.needs for p in profiles],
            slots,
            True,
            [p.sparse_needs for p in profiles],
        )
        offers_needs = block_directions(
            self.needs,
            [p.offers for p in profiles],
            slots,
            False,
            [p.sparse_offers for p in profiles],
        )
        for profile, a_to_b, b_to_a in zip(profiles, needs_offers, offers_needs, strict=True):
            yield self._table(profile, a_to_b, b_to_a, weights, at)

    def _table(
        self,
        profile: ProfileVectors,
        a_to_b: Direction,
        b_to_a: Direction,
        weights: Weights,
        at: datetime | None,
    ) -> ScoreTable:
        """The profile's components and total against every slot, given both directions."""
        slots = len(self._profiles)
        structured = self.attributes.components(profile, slots)
        shared_events = self._shared_events(profile, at)
        event = np.zeros(slots)
        event[list(shared_events)] = 1.0
        reciprocal = harmonic(a_to_b.best, b_to_a.best)
        total = weights.reciprocal * reciprocal + weights.looking_for * structured.kind_fit
        total += weights.language * structured.language + weights.sector * structured.sector
        total += weights.geography * structured.geography + weights.event * event
        declined, partners = self._relation_arrays(profile, slots)
        return ScoreTable(
            self,
            profile,
            self.visible_to(profile),
            np.clip(total, 0.0, 1.0),
            reciprocal,
            structured.kind_fit,
            structured.language,
            a_to_b,
            b_to_a,
            sector=structured.sector,
            geography=structured.geography,
            event=event,
            event_of=shared_events,
            same_organisation=structured.same_organisation,
            declined=declined,
            partners=partners,
            kth=self._kth[:slots].copy(),
        )

    def _shared_events(self, profile: ProfileVectors, at: datetime | None) -> dict[int, str]:
        """Slot → one upcoming event both are registered to."""
        shared = self.facts.shared_events(profile.id, at)
        return {
            slot: event_id
            for other, event_id in shared.items()
            if (slot := self._slot_of.get(other)) is not None
        }

    def _relation_arrays(
        self, profile: ProfileVectors, slots: int
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        declined, partners = np.zeros(slots, bool), np.zeros(slots, bool)
        for other, relation in self.facts.relations_of(profile.id).items():
            slot = self._slot_of.get(other)
            if slot is not None:
                (declined if relation == Relation.DECLINED else partners)[slot] = True
        return declined, partners


def score_candidates(
    profile: ProfileVectors,
    candidates: Sequence[ProfileVectors],
    weights: Weights = Weights(),
    structure: Structure | None = None,
    dense_share: float = 1.0,
) -> list[Scored]:
    """Score `profile` against every suggestible candidate, best first (through a
    VectorIndex)."""
    dim = next((v.shape[1] for v in (profile.needs, profile.offers) if v.ndim == 2), 0)
    sparse = next(
        (v.shape[1] for v in (profile.sparse_needs, profile.sparse_offers) if v is not None), 0
    )
    index = VectorIndex(dim, structure, sparse, dense_share if sparse else 1.0)
    for candidate in candidates:
        index.put(candidate)
    return index.score(profile, weights).top()
