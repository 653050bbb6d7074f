"""Structured (non-text) parts of a match: sector complementarity, geography and the
normalised identity of an organisation (pure: no I/O).

All tables here are configuration: `Structure` bundles them so the index can turn them
into arrays once and score every candidate with array lookups.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
from numpy.typing import NDArray

KINDS = ("heritage", "creative", "industry", "support", "research", "public", "other")
KIND_INDEX = {kind: i for i, kind in enumerate(KINDS)}

# How well two sectors complement each other (symmetric, in [0, 1]). Cultural heritage,
# the creative sector and industry complement each other; support organisations
# (clusters, agencies) help everyone; two organisations of the same kind compete more
# than they complement.
DEFAULT_SECTOR_FIT: dict[tuple[str, str], float] = {
    ("heritage", "creative"): 1.0,
    ("creative", "industry"): 1.0,
    ("heritage", "industry"): 0.8,
    ("research", "heritage"): 0.7,
    ("research", "creative"): 0.7,
    ("research", "industry"): 0.8,
    ("public", "heritage"): 0.6,
    ("public", "creative"): 0.6,
    ("public", "industry"): 0.6,
    ("public", "research"): 0.5,
}
SUPPORT_FIT = 0.8  # support x any other kind
SAME_KIND_FIT = 0.3  # heritage x heritage, ...
OTHER_FIT = 0.4  # any pair not listed


def sector_matrix(
    overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> NDArray[np.float64]:
    """The kind x kind complementarity matrix: defaults, then `overrides` (both orders)."""
    size = len(KINDS)
    matrix = np.full((size, size), OTHER_FIT)
    np.fill_diagonal(matrix, SAME_KIND_FIT)
    support = KIND_INDEX["support"]
    matrix[support, :] = matrix[:, support] = SUPPORT_FIT
    pairs = dict(DEFAULT_SECTOR_FIT)
    for first, row in (overrides or {}).items():
        for second, value in row.items():
            pairs[(first, second)] = value
    for (first, second), value in pairs.items():
        if first not in KIND_INDEX or second not in KIND_INDEX:
            raise ValueError(f"unknown kind in sector matrix: {first!r} x {second!r}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"sector fit {first} x {second} must be in [0, 1], got {value}")
        matrix[KIND_INDEX[first], KIND_INDEX[second]] = value
        matrix[KIND_INDEX[second], KIND_INDEX[first]] = value
    return matrix


# Land borders among the Central European and Baltic countries the network covers (and
# their immediate neighbours), ISO 3166-1 alpha-2. Symmetric by construction below.
_BORDERS: dict[str, tuple[str, ...]] = {
    "PL": ("DE", "CZ", "SK", "UA", "BY", "LT", "RU"),
    "DE": ("PL", "CZ", "AT", "CH", "FR", "LU", "BE", "NL", "DK"),
    "CZ": ("DE", "PL", "SK", "AT"),
    "SK": ("CZ", "PL", "UA", "HU", "AT"),
    "AT": ("DE", "CZ", "SK", "HU", "SI", "IT", "CH", "LI"),
    "HU": ("SK", "UA", "RO", "RS", "HR", "SI", "AT"),
    "SI": ("IT", "AT", "HU", "HR"),
    "HR": ("SI", "HU", "RS", "BA", "ME"),
    "RO": ("HU", "UA", "MD", "BG", "RS"),
    "BG": ("RO", "RS", "MK", "GR", "TR"),
    "LT": ("LV", "BY", "PL", "RU"),
    "LV": ("EE", "LT", "BY", "RU"),
    "EE": ("LV", "RU"),
    "IT": ("FR", "CH", "AT", "SI", "SM", "VA"),
}


def _symmetric(borders: Mapping[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    neighbours: dict[str, set[str]] = {}
    for country, others in borders.items():
        for other in others:
            neighbours.setdefault(country, set()).add(other)
            neighbours.setdefault(other, set()).add(country)
    return {country: frozenset(others) for country, others in neighbours.items()}


NEIGHBOURS: dict[str, frozenset[str]] = _symmetric(_BORDERS)


@dataclass(frozen=True)
class Geography:
    """Scores in [0, 1] for where the two organisations are. The defaults prefer nearby
    partners; raise `neighbour` (and `other`) above `same_country` to prefer cross-border
    partnerships, as Interreg programmes do."""

    same_region: float = 1.0  # same NUTS-2 region
    same_country: float = 0.8
    neighbour: float = 0.6  # neighbouring countries (cross-border)
    other: float = 0.3

    def __post_init__(self) -> None:
        for name in ("same_region", "same_country", "neighbour", "other"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"geography {name} must be in [0, 1]")


@dataclass(frozen=True)
class Structure:
    """The structured-scoring configuration of an index."""

    sectors: NDArray[np.float64] = field(default_factory=sector_matrix)
    geography: Geography = field(default_factory=Geography)
    neighbours: Mapping[str, frozenset[str]] = field(default_factory=lambda: NEIGHBOURS)
    # The hubs this matcher works for: a pair needs one side of theirs, so a hub's matcher
    # never scores two other hubs' shared profiles with each other (docs/federation.md,
    # "Who matches what"). None: every hub (one index for the whole network: benches).
    own_hubs: frozenset[str] | None = None


def nuts2(region: str | None) -> str:
    """The NUTS-2 prefix of a NUTS code (PL821 → PL82); empty when unknown."""
    return (region or "").strip().upper()[:4] if region and len(region.strip()) >= 4 else ""


def website_domain(website: str | None) -> str:
    """The host of a website without `www.`, lower-cased; empty when unknown."""
    if not website:
        return ""
    host = urlsplit(website if "//" in website else f"//{website}").hostname or ""
    return host.lower().removeprefix("www.")


_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def organisation_name(name: str) -> str:
    """A name normalised for identity: case, accents, punctuation and spacing ignored."""
    folded = name.casefold()
    if not folded.isascii():  # strip accents only when there are any (index builds)
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_WORD.sub(" ", folded).strip()
