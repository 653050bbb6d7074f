"""Reciprocal, explainable scoring (pure: numpy only, no I/O).

s(A→B) is how well B's offers meet A's needs (best cosine over need-offer pairs);
the pair fuses both directions with a harmonic mean, so a one-sided fit ranks low.

`VectorIndex` keeps every profile's need and offer vectors stacked in two matrices and its
structured attributes (hub, sharing, kind, looking_for, languages, country, region,
organisation identity) in arrays, updated in place. Scoring one profile against all of
them is one matrix product per direction plus array arithmetic: no Python loop over
candidates. Pair facts (co-registration at an event, declined before, already partners)
are sparse: only the scored profile's own few pairs are written into the arrays.

Components (each in [0, 1]) and their weights:
- `reciprocal`: harmonic mean of s(A→B) and s(B→A);
- `sector`: kind x kind complementarity (`structure.sector_matrix`);
- `looking_for`: 1 if each is a kind the other looks for, 0.5 if one is;
- `language`: 1 if they share a working language;
- `geography`: same NUTS-2 region / same country / neighbouring countries / other;
- `event`: 1 if both are registered to the same upcoming event (not over, not cancelled).
Relations are flags, not weighted: `same_organisation` and `declined` pairs are never
suggested; `partners` (met or agreed) are kept as such but never suggested anew.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from tandem_matcher.domain.structure import (
    KIND_INDEX,
    Structure,
    nuts2,
    organisation_name,
    website_domain,
)

Vectors = NDArray[np.float32]


@dataclass(frozen=True)
class ProfileVectors:
    id: str
    name: str
    hub: str
    sharing: str
    kind: str
    looking_for: frozenset[str]
    languages: frozenset[str]
    need_texts: tuple[str, ...]
    offer_texts: tuple[str, ...]
    needs: Vectors  # (n, d), L2-normalised
    offers: Vectors  # (m, d), L2-normalised
    country: str = ""  # ISO 3166-1 alpha-2
    region: str = ""  # NUTS code
    website: str = ""


# The components a weight applies to, in a fixed order (learning and settings use it).
WEIGHTED = ("reciprocal", "sector", "looking_for", "language", "geography", "event")


@dataclass(frozen=True)
class Weights:
    """Component weights. The structured components default to 0 here so that a bare
    `Weights()` keeps the text-first scoring; the service's configured weights
    (`MatcherSettings.weights`) switch them on."""

    reciprocal: float = 0.8
    looking_for: float = 0.1
    language: float = 0.1
    sector: float = 0.0
    geography: float = 0.0
    event: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in WEIGHTED}


@dataclass(frozen=True)
class EventState:
    ends_at: datetime | None  # None: not known (a cancellation seen before the event)
    cancelled: bool = False


# Pair relations known to the matcher.
DECLINED = "declined"
PARTNERS = "partners"


@dataclass(frozen=True)
class Scored:
    candidate: ProfileVectors
    score: float
    components: dict[str, float]
    best_a_need: tuple[str, str, float] | None  # (A's need, B's offer, similarity)
    best_b_need: tuple[str, str, float] | None  # (B's need, A's offer, similarity)
    event_id: str | None = None  # an event both are registered to
    blocked: str | None = None  # why this pair must not be suggested anew

    @property
    def suggestible(self) -> bool:
        return self.blocked is None


def may_match(a: ProfileVectors, b: ProfileVectors) -> bool:
    """Same hub, or both shared with the network; never a profile with itself."""
    if a.id == b.id:
        return False
    return a.hub == b.hub or (a.sharing == "network" and b.sharing == "network")


def harmonic(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    total = x + y
    return np.divide(2 * x * y, total, out=np.zeros_like(total), where=total > 0)


_KIND_BIT = {kind: 1 << i for kind, i in KIND_INDEX.items()}
_NONE = -1  # code of an unknown region / website


class _Codes:
    """Small integer codes for strings (hubs) and bits for sets (languages)."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}

    def code(self, value: str) -> int:
        return self._codes.setdefault(value, len(self._codes))

    def optional(self, value: str) -> int:
        """The code of a value that may be unknown (empty → -1, equal to nothing)."""
        return self.code(value) if value else _NONE

    def known(self, values: Iterable[str]) -> list[int]:
        """Codes of the values already seen (an unseen one matches no slot anyway)."""
        return [self._codes[value] for value in values if value in self._codes]

    def mask(self, values: frozenset[str]) -> int:
        # 63 bits cover the network's languages; beyond that codes share bits (still a
        # sound "maybe shared", never a missed shared language).
        return sum(1 << (self.code(value) % 63) for value in set(values))


def _kind_mask(kinds: frozenset[str]) -> int:
    return sum(_KIND_BIT.get(kind, 0) for kind in kinds)


class _TextRows:
    """One side's texts (needs or offers) of every profile, stacked, with their owner slot.

    Replaced texts are marked dead (owner -1) and the matrix is compacted when a third of
    it is dead, so updates cost O(texts of the profile), not O(index)."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.matrix = np.zeros((capacity, dim), np.float32)
        self.owner = np.full(capacity, -1, np.int64)
        self.position = np.zeros(capacity, np.int64)  # index of the text within its profile
        self.used = 0
        self.dead = 0
        self.rows_of: dict[int, NDArray[np.int64]] = {}

    def put(self, slot: int, vectors: Vectors) -> None:
        self.drop(slot)
        count = len(vectors)
        self._reserve(count)
        rows = np.arange(self.used, self.used + count)
        self.matrix[rows] = vectors
        self.owner[rows] = slot
        self.position[rows] = np.arange(count)
        self.used += count
        self.rows_of[slot] = rows

    def drop(self, slot: int) -> None:
        rows = self.rows_of.pop(slot, None)
        if rows is not None and len(rows):
            self.owner[rows] = -1
            self.dead += len(rows)
            if self.dead * 3 > self.used:
                self._compact()

    def live(self) -> tuple[Vectors, NDArray[np.int64], NDArray[np.int64]]:
        """The used rows: (matrix, owner, position); dead rows carry owner -1."""
        return self.matrix[: self.used], self.owner[: self.used], self.position[: self.used]

    def _reserve(self, count: int) -> None:
        needed = self.used + count
        if needed <= len(self.owner):
            return
        capacity = max(needed, 2 * len(self.owner))
        self.matrix = np.resize(self.matrix, (capacity, self.matrix.shape[1]))
        self.owner = np.concatenate([self.owner, np.full(capacity - len(self.owner), -1)])
        self.position = np.resize(self.position, capacity)

    def _compact(self) -> None:
        keep = np.flatnonzero(self.owner[: self.used] >= 0)
        self.matrix[: len(keep)] = self.matrix[keep]
        self.owner[: len(keep)] = self.owner[keep]
        self.position[: len(keep)] = self.position[keep]
        self.owner[len(keep) : self.used] = -1
        self.used, self.dead = len(keep), 0
        owners = self.owner[: self.used]
        order = np.argsort(owners, kind="stable")
        bounds = np.flatnonzero(np.diff(owners[order])) + 1
        self.rows_of = {
            int(owners[group[0]]): group for group in np.split(order, bounds) if len(group)
        }


@dataclass(frozen=True)
class _Direction:
    """Per slot: the best similarity of one direction, and which texts gave it."""

    best: NDArray[np.float64]
    need_position: NDArray[np.int64]
    offer_position: NDArray[np.int64]


def _empty_direction(slots: int) -> _Direction:
    return _Direction(np.zeros(slots), np.full(slots, -1), np.full(slots, -1))


def _best_per_slot(
    similarity: NDArray[np.float32], owner: NDArray[np.int64], slots: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Each slot's best similarity over its rows, and the row that reached it (-1: none)."""
    alive = owner >= 0
    rows = np.flatnonzero(alive)
    best = np.full(slots, -1.0)
    np.maximum.at(best, owner[rows], similarity[rows])
    hit = rows[similarity[rows] >= best[owner[rows]]]
    best_row = np.full(slots, -1, np.int64)
    best_row[owner[hit]] = hit
    return best, best_row


class VectorIndex:
    """Every profile's vectors and attributes, scored against one profile at a time."""

    _ARRAYS = (
        "_alive",
        "_hub",
        "_network",
        "_kind",
        "_kind_index",
        "_wants",
        "_langs",
        "_country",
        "_region",
        "_domain",
        "_org_name",
        "_kth",
    )

    def __init__(self, dim: int, structure: Structure | None = None) -> None:
        self.dim = dim
        self.structure = structure or Structure()
        self._slot_of: dict[str, int] = {}
        self._profiles: list[ProfileVectors | None] = []
        self._free: list[int] = []
        self._hubs = _Codes()
        self._languages = _Codes()
        self._countries = _Codes()
        self._regions = _Codes()
        self._domains = _Codes()
        self._org_names = _Codes()
        self._alive = np.zeros(0, bool)
        self._hub = np.zeros(0, np.int64)
        self._network = np.zeros(0, bool)
        self._kind = np.zeros(0, np.int64)
        self._kind_index = np.zeros(0, np.int64)
        self._wants = np.zeros(0, np.int64)
        self._langs = np.zeros(0, np.int64)
        self._country = np.zeros(0, np.int64)
        self._region = np.zeros(0, np.int64)
        self._domain = np.zeros(0, np.int64)
        self._org_name = np.zeros(0, np.int64)
        # Each profile's k-th best standing match score (-inf: fewer than k), kept by the
        # service, so "would this pair enter the candidate's own top-k" is one comparison.
        self._kth = np.zeros(0, np.float64)
        self._needs = _TextRows(dim)
        self._offers = _TextRows(dim)
        self._relations: dict[str, dict[str, str]] = {}
        self._events_of: dict[str, set[str]] = {}
        self._participants: dict[str, set[str]] = {}
        # Events known to be over at some time or cancelled (from the events topic).
        self._event_state: dict[str, EventState] = {}

    def __len__(self) -> int:
        return len(self._slot_of)

    def get(self, profile_id: str) -> ProfileVectors | None:
        slot = self._slot_of.get(profile_id)
        return None if slot is None else self._profiles[slot]

    def put(self, profile: ProfileVectors) -> None:
        slot = self._slot_of.get(profile.id)
        if slot is None:
            slot = self._new_slot()
            self._slot_of[profile.id] = slot
        self._profiles[slot] = profile
        self._alive[slot] = True
        self._hub[slot] = self._hubs.code(profile.hub)
        self._network[slot] = profile.sharing == "network"
        self._kind[slot] = _KIND_BIT.get(profile.kind, 0)
        self._wants[slot] = _kind_mask(profile.looking_for)
        self._langs[slot] = self._languages.mask(profile.languages)
        self._kind_index[slot] = KIND_INDEX.get(profile.kind, KIND_INDEX["other"])
        self._country[slot] = self._countries.optional(profile.country.upper())
        self._region[slot] = self._regions.optional(nuts2(profile.region))
        self._domain[slot] = self._domains.optional(website_domain(profile.website))
        self._org_name[slot] = self._org_names.optional(organisation_name(profile.name))
        self._needs.put(slot, profile.needs)
        self._offers.put(slot, profile.offers)

    def remove(self, profile_id: str) -> None:
        slot = self._slot_of.pop(profile_id, None)
        if slot is None:
            return
        self._profiles[slot] = None
        self._alive[slot] = False
        self._needs.drop(slot)
        self._offers.drop(slot)
        self._free.append(slot)
        for other in self._relations.pop(profile_id, {}):
            self._relations.get(other, {}).pop(profile_id, None)
        for event_id in self._events_of.pop(profile_id, set()):
            self._participants.get(event_id, set()).discard(profile_id)

    def _new_slot(self) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            slot = len(self._profiles)
            self._profiles.append(None)
            if slot >= len(self._alive):
                grow = max(1024, len(self._alive))
                for name in self._ARRAYS:
                    array = getattr(self, name)
                    setattr(self, name, np.concatenate([array, np.zeros(grow, array.dtype)]))
        self._kth[slot] = -np.inf
        return slot

    # ---------------------------------------------------------------- pair facts

    def set_relation(self, a: str, b: str, relation: str | None) -> None:
        """Record (or with None forget) that a and b declined each other or are partners."""
        for first, second in ((a, b), (b, a)):
            if relation is None:
                self._relations.get(first, {}).pop(second, None)
            else:
                self._relations.setdefault(first, {})[second] = relation

    def relation(self, a: str, b: str) -> str | None:
        return self._relations.get(a, {}).get(b)

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

    def set_kth_best(self, profile_id: str, score: float) -> None:
        """The profile's k-th best standing match score (-inf while it has fewer than k)."""
        slot = self._slot_of.get(profile_id)
        if slot is not None:
            self._kth[slot] = score

    def _shared_events(self, profile: ProfileVectors, at: datetime | None) -> dict[int, str]:
        """Slot → one upcoming event both are registered to (the smallest id, for stable
        output); touches only the participants of the profile's own events."""
        shared: dict[int, str] = {}
        for event_id in sorted(self._events_of.get(profile.id, ()), reverse=True):
            if not self.upcoming(event_id, at):
                continue
            for other in self._participants.get(event_id, ()):
                slot = self._slot_of.get(other)
                if slot is not None and other != profile.id:
                    shared[slot] = event_id
        return shared

    def _relation_arrays(
        self, profile: ProfileVectors, slots: int
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        declined, partners = np.zeros(slots, bool), np.zeros(slots, bool)
        for other, relation in self._relations.get(profile.id, {}).items():
            slot = self._slot_of.get(other)
            if slot is not None:
                (declined if relation == DECLINED else partners)[slot] = True
        return declined, partners

    def _geography(self, profile: ProfileVectors, slots: int) -> NDArray[np.float64]:
        values = self.structure.geography
        country = self._countries.optional(profile.country.upper())
        region = self._regions.optional(nuts2(profile.region))
        neighbours = self._countries.known(
            self.structure.neighbours.get(profile.country.upper(), ())
        )
        same_country = (self._country[:slots] == country) & (country != _NONE)
        same_region = (self._region[:slots] == region) & (region != _NONE)
        neighbour = np.isin(self._country[:slots], neighbours)
        return np.select(
            [same_region, same_country, neighbour],
            [values.same_region, values.same_country, values.neighbour],
            values.other,
        )

    def _same_organisation(self, profile: ProfileVectors, slots: int) -> NDArray[np.bool_]:
        domain = self._domains.optional(website_domain(profile.website))
        name = self._org_names.optional(organisation_name(profile.name))
        same_domain = (self._domain[:slots] == domain) & (domain != _NONE)
        same_name = (self._org_name[:slots] == name) & (name != _NONE)
        same: NDArray[np.bool_] = same_domain | same_name
        return same

    def visible_to(self, profile: ProfileVectors) -> NDArray[np.bool_]:
        """Same hub, or both shared with the network; never the profile itself."""
        slots = len(self._profiles)
        same_hub = self._hub[:slots] == self._hubs.code(profile.hub)
        both_network = self._network[:slots] & (profile.sharing == "network")
        visible: NDArray[np.bool_] = self._alive[:slots] & (same_hub | both_network)
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
        needs_offers = _block_directions(self._offers, [p.needs for p in profiles], slots, True)
        offers_needs = _block_directions(self._needs, [p.offers for p in profiles], slots, False)
        for profile, a_to_b, b_to_a in zip(profiles, needs_offers, offers_needs, strict=True):
            yield self._table(profile, a_to_b, b_to_a, weights, at)

    def _table(
        self,
        profile: ProfileVectors,
        a_to_b: _Direction,
        b_to_a: _Direction,
        weights: Weights,
        at: datetime | None,
    ) -> ScoreTable:
        """The profile's components and total against every slot, given both directions."""
        slots = len(self._profiles)
        wants = (self._kind[:slots] & _kind_mask(profile.looking_for)) != 0
        wanted = (self._wants[:slots] & _KIND_BIT.get(profile.kind, 0)) != 0
        kind_fit = (wants.astype(float) + wanted.astype(float)) / 2
        language = ((self._langs[:slots] & self._languages.mask(profile.languages)) != 0).astype(
            float
        )
        own_kind = KIND_INDEX.get(profile.kind, KIND_INDEX["other"])
        sector = self.structure.sectors[own_kind][self._kind_index[:slots]]
        geography = self._geography(profile, slots)
        shared_events = self._shared_events(profile, at)
        event = np.zeros(slots)
        event[list(shared_events)] = 1.0
        reciprocal = harmonic(a_to_b.best, b_to_a.best)
        total = weights.reciprocal * reciprocal + weights.looking_for * kind_fit
        total += weights.language * language + weights.sector * sector
        total += weights.geography * geography + weights.event * event
        declined, partners = self._relation_arrays(profile, slots)
        return ScoreTable(
            self,
            profile,
            self.visible_to(profile),
            np.clip(total, 0.0, 1.0),
            reciprocal,
            kind_fit,
            language,
            a_to_b,
            b_to_a,
            sector=sector,
            geography=geography,
            event=event,
            event_of=shared_events,
            same_organisation=self._same_organisation(profile, slots),
            declined=declined,
            partners=partners,
            kth=self._kth[:slots].copy(),
        )


def _block_directions(
    rows: _TextRows, texts: Sequence[Vectors], slots: int, texts_are_needs: bool
) -> Iterator[_Direction]:
    """One direction for each profile of a block: its texts (`texts[i]`, needs or offers)
    against every candidate row of the other side (`rows`), from ONE product for the
    whole block; each profile then reduces its own slice of it."""
    matrix, owner, position = rows.live()
    counts = [len(block) for block in texts]
    if sum(counts) == 0 or len(matrix) == 0:
        for _ in texts:
            yield _empty_direction(slots)
        return
    stacked = np.concatenate([block.reshape(-1, matrix.shape[1]) for block in texts])
    product = stacked @ matrix.T  # (the block's texts, candidate rows)
    start = 0
    for count in counts:
        if count == 0:
            yield _empty_direction(slots)
        else:
            part = product[start : start + count]
            yield _direction(part, owner, position, slots, texts_are_needs)
        start += count


def _direction(
    product: NDArray[np.float32],
    owner: NDArray[np.int64],
    position: NDArray[np.int64],
    slots: int,
    texts_are_needs: bool,
) -> _Direction:
    """Each slot's best similarity between the profile's texts (rows of `product`) and
    the slot's texts (columns), and which pair of texts reached it."""
    best, row = _best_per_slot(product.max(axis=0), owner, slots)
    own_of_row = product.argmax(axis=0)
    own = np.where(row >= 0, own_of_row[row], -1)
    theirs = np.where(row >= 0, position[row], -1)
    need, offer = (own, theirs) if texts_are_needs else (theirs, own)
    return _Direction(np.clip(best, 0.0, 1.0), need, offer)


@dataclass(frozen=True)
class ScoreTable:
    """One profile scored against every slot of an index (arrays indexed by slot)."""

    index: VectorIndex
    profile: ProfileVectors
    visible: NDArray[np.bool_]
    total: NDArray[np.float64]
    reciprocal: NDArray[np.float64]
    kind_fit: NDArray[np.float64]
    language: NDArray[np.float64]
    a_to_b: _Direction
    b_to_a: _Direction
    sector: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    geography: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    event: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    event_of: dict[int, str] = field(default_factory=dict)
    same_organisation: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    declined: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    partners: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    kth: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    @property
    def suggestible(self) -> NDArray[np.bool_]:
        """Visible, and no known relation that rules out a new suggestion."""
        blocked = self.same_organisation | self.declined | self.partners
        allowed: NDArray[np.bool_] = self.visible & ~blocked
        return allowed

    def _top_slots(self, k: int | None, min_score: float) -> NDArray[np.int64]:
        eligible = np.flatnonzero(self.suggestible & (self.total >= min_score))
        if k is not None and len(eligible) > k:
            eligible = eligible[np.argpartition(-self.total[eligible], k - 1)[:k]]
        order: NDArray[np.int64] = eligible[np.argsort(-self.total[eligible], kind="stable")]
        return order

    def top(self, k: int | None = None, min_score: float = 0.0) -> list[Scored]:
        """The best suggestible candidates at or above `min_score`, best first."""
        return [self._scored(int(slot)) for slot in self._top_slots(k, min_score)]

    def either_side_top(self, k: int, min_score: float) -> list[Scored]:
        """Candidates at or above `min_score` in the profile's own top-k, or whose score
        beats the candidate's own k-th best standing match (one comparison per candidate,
        vectorised), best first."""
        mine = np.zeros(len(self.total), bool)
        mine[self._top_slots(k, min_score)] = True
        theirs = self.suggestible & (self.total >= min_score) & (self.total > self.kth)
        chosen = np.flatnonzero(mine | theirs)
        order = chosen[np.argsort(-self.total[chosen], kind="stable")]
        return [self._scored(int(slot)) for slot in order]

    def top_ids(self, k: int, min_score: float) -> set[str]:
        """Ids of the profile's own top-k (suggestible, at or above `min_score`)."""
        profiles = self.index._profiles
        return {
            candidate.id
            for slot in self._top_slots(k, min_score)
            if (candidate := profiles[int(slot)]) is not None
        }

    def for_id(self, profile_id: str) -> Scored | None:
        """The candidate's result, or None when it is absent or not visible."""
        slot = self.index._slot_of.get(profile_id)
        if slot is None or slot >= len(self.visible) or not self.visible[slot]:
            return None
        return self._scored(slot)

    def _scored(self, slot: int) -> Scored:
        candidate = self.index._profiles[slot]
        assert candidate is not None
        ab, ba = self.a_to_b, self.b_to_a
        flags = {
            "same_organisation": _flag(self.same_organisation, slot),
            "declined": _flag(self.declined, slot),
            "partners": _flag(self.partners, slot),
        }
        return Scored(
            candidate=candidate,
            score=round(float(self.total[slot]), 4),
            components={
                "a_needs_b_offers": round(float(ab.best[slot]), 4),
                "b_needs_a_offers": round(float(ba.best[slot]), 4),
                "reciprocal": round(float(self.reciprocal[slot]), 4),
                "looking_for": float(self.kind_fit[slot]),
                "language": float(self.language[slot]),
                "sector": round(_value(self.sector, slot), 4),
                "geography": round(_value(self.geography, slot), 4),
                "event": _value(self.event, slot),
                **flags,
            },
            best_a_need=_pair(
                self.profile.need_texts,
                ab.need_position[slot],
                candidate.offer_texts,
                ab.offer_position[slot],
                ab.best[slot],
            ),
            best_b_need=_pair(
                candidate.need_texts,
                ba.need_position[slot],
                self.profile.offer_texts,
                ba.offer_position[slot],
                ba.best[slot],
            ),
            event_id=self.event_of.get(slot),
            blocked=next((name for name, value in flags.items() if value), None),
        )


def _value(array: NDArray[np.float64], slot: int) -> float:
    return float(array[slot]) if slot < len(array) else 0.0


def _flag(array: NDArray[np.bool_], slot: int) -> float:
    return 1.0 if slot < len(array) and array[slot] else 0.0


def score_candidates(
    profile: ProfileVectors,
    candidates: Sequence[ProfileVectors],
    weights: Weights = Weights(),
    structure: Structure | None = None,
) -> list[Scored]:
    """Score `profile` against every suggestible candidate, best first (through a
    VectorIndex)."""
    dim = next((v.shape[1] for v in (profile.needs, profile.offers) if v.ndim == 2), 0)
    index = VectorIndex(dim, structure)
    for candidate in candidates:
        index.put(candidate)
    return index.score(profile, weights).top()


def _pair(
    need_texts: Sequence[str],
    need_row: int,
    offer_texts: Sequence[str],
    offer_row: int,
    similarity: float,
) -> tuple[str, str, float] | None:
    if need_row < 0 or offer_row < 0:
        return None
    return need_texts[need_row], offer_texts[offer_row], round(float(similarity), 4)


def explain(a_name: str, b_name: str, scored: Scored) -> str:
    parts = []
    if scored.best_a_need:
        parts.append(
            f"{a_name} needs “{scored.best_a_need[0]}” ↔ {b_name} offers “{scored.best_a_need[1]}”"
        )
    if scored.best_b_need:
        parts.append(
            f"{b_name} needs “{scored.best_b_need[0]}” ↔ {a_name} offers “{scored.best_b_need[1]}”"
        )
    return "; ".join(parts) or "structural fit only"
