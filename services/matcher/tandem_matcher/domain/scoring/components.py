"""The structured (non-text) components of scoring, each in [0, 1], for one profile
against every slot of the index at once (pure: numpy only):

- `sector`: kind x kind complementarity (`structure.sector_matrix`);
- `looking_for`: 1 if each is a kind the other looks for, 0.5 if one is; 0 unless both
  say what they look for (an empty field is unknown, not a mismatch);
- `language`: 1 if they share a working language;
- `geography`: same NUTS-2 region / same country / neighbouring countries / other;
- `same_organisation` (a flag, not weighted): same website domain or normalised name.

`StructuredAttributes` keeps every slot's attributes in arrays of small integer codes and
bit masks, updated in place, so each component is array arithmetic over all slots. The
`event` component comes from the pair facts (`facts.PairFacts`), visibility from here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tandem_matcher.domain.scoring.model import ProfileVectors
from tandem_matcher.domain.structure import (
    KIND_INDEX,
    Structure,
    nuts2,
    organisation_name,
    website_domain,
)

KIND_BIT = {kind: 1 << i for kind, i in KIND_INDEX.items()}
_NONE = -1  # code of an unknown region / website


class Codes:
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


def kind_mask(kinds: frozenset[str]) -> int:
    return sum(KIND_BIT.get(kind, 0) for kind in kinds)


@dataclass(frozen=True)
class Structured:
    """One profile's structured components against every slot (arrays indexed by slot)."""

    kind_fit: NDArray[np.float64]
    language: NDArray[np.float64]
    sector: NDArray[np.float64]
    geography: NDArray[np.float64]
    same_organisation: NDArray[np.bool_]


class StructuredAttributes:
    """Every slot's structured attributes (hub, sharing, kind, looking_for, languages,
    country, region, organisation identity) as arrays the components are computed from."""

    _ARRAYS = (
        "_hub",
        "_network",
        "_own",
        "_kind",
        "_kind_index",
        "_wants",
        "_langs",
        "_country",
        "_region",
        "_domain",
        "_org_name",
    )

    def __init__(self, structure: Structure) -> None:
        self.structure = structure
        self._hubs = Codes()
        self._languages = Codes()
        self._countries = Codes()
        self._regions = Codes()
        self._domains = Codes()
        self._org_names = Codes()
        self._hub = np.zeros(0, np.int64)
        self._network = np.zeros(0, bool)
        self._own = np.zeros(0, bool)
        self._kind = np.zeros(0, np.int64)
        self._kind_index = np.zeros(0, np.int64)
        self._wants = np.zeros(0, np.int64)
        self._langs = np.zeros(0, np.int64)
        self._country = np.zeros(0, np.int64)
        self._region = np.zeros(0, np.int64)
        self._domain = np.zeros(0, np.int64)
        self._org_name = np.zeros(0, np.int64)

    def grow(self, by: int) -> None:
        """Room for `by` more slots."""
        for name in self._ARRAYS:
            array = getattr(self, name)
            setattr(self, name, np.concatenate([array, np.zeros(by, array.dtype)]))

    def put(self, slot: int, profile: ProfileVectors) -> None:
        self._hub[slot] = self._hubs.code(profile.hub)
        self._network[slot] = profile.sharing == "network"
        self._own[slot] = self._is_own(profile)
        self._kind[slot] = KIND_BIT.get(profile.kind, 0)
        self._wants[slot] = kind_mask(profile.looking_for)
        self._langs[slot] = self._languages.mask(profile.languages)
        self._kind_index[slot] = KIND_INDEX.get(profile.kind, KIND_INDEX["other"])
        self._country[slot] = self._countries.optional(profile.country.upper())
        self._region[slot] = self._regions.optional(nuts2(profile.region))
        self._domain[slot] = self._domains.optional(website_domain(profile.website))
        self._org_name[slot] = self._org_names.optional(organisation_name(profile.name))

    def _is_own(self, profile: ProfileVectors) -> bool:
        own = self.structure.own_hubs
        return own is None or profile.hub in own

    def may_see(self, profile: ProfileVectors, slots: int) -> NDArray[np.bool_]:
        """Same hub, or both shared with the network, and one side the matcher's own
        (`model.may_match`, per slot)."""
        same_hub = self._hub[:slots] == self._hubs.code(profile.hub)
        both_network = self._network[:slots] & (profile.sharing == "network")
        own = self._own[:slots] | self._is_own(profile)
        visible: NDArray[np.bool_] = (same_hub | both_network) & own
        return visible

    def components(self, profile: ProfileVectors, slots: int) -> Structured:
        own_wants = kind_mask(profile.looking_for)
        wants = (self._kind[:slots] & own_wants) != 0
        wanted = (self._wants[:slots] & KIND_BIT.get(profile.kind, 0)) != 0
        # Only between two profiles that both say what they look for: a side that left it
        # empty cannot be compared, and must not lose to everyone who filled it in.
        declared = (self._wants[:slots] != 0) & (own_wants != 0)
        language = (self._langs[:slots] & self._languages.mask(profile.languages)) != 0
        own_kind = KIND_INDEX.get(profile.kind, KIND_INDEX["other"])
        return Structured(
            kind_fit=np.where(declared, (wants.astype(float) + wanted.astype(float)) / 2, 0.0),
            language=language.astype(float),
            sector=self.structure.sectors[own_kind][self._kind_index[:slots]],
            geography=self._geography(profile, slots),
            same_organisation=self._same_organisation(profile, slots),
        )

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
