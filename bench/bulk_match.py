"""Bulk: time to import and fully match N synthetic profiles (every profile's top-10).

Profiles are generated from offer/need templates in five languages (pl, de, en, it, cs)
with sector vocabularies, hubs, sharing, kinds, looking_for and languages drawn at random
(seeded). Each profile draws its 1-3 needs and 1-3 offers from a pool of `--pool` distinct
generated texts per side in its language, encoded for real with USE multilingual v3
(batched); the script prints the encoder's measured rate and what encoding every carried
text would take (on a loaded 2-core machine the encoder is the bottleneck by far).

- import: encode the text pool and put every profile into a `VectorIndex` (100k: see below);
- full match: `domain.bulk.top_k` over all profiles (`VectorIndex.score_block`: blocked
  matrix products with every component of the service's scoring, the code behind
  `tandem-matcher rescore-all`), pairs scored per second;
- baseline in the same process: the naive per-profile loop (`VectorIndex.score(p).top(10)`,
  what one upsert does) on a subset, extrapolated to all N; ratio = naive / blocked.

At 100k profiles the texts are NOT encoded again: vectors are sampled from the pool
encoded for the first size (the cost of matching does not depend on what texts say), and
the full match, ~8e13 flops, is timed on a sample of blocks and extrapolated (printed as
such); `--full` runs it all.

    .venv/bin/python bench/bulk_match.py                 # 10k (encoded) and 100k (pooled)
    .venv/bin/python bench/bulk_match.py --sizes 2000    # quick
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from tandem_matcher.domain.bulk import top_k
from tandem_matcher.domain.scoring import ProfileVectors, VectorIndex, Weights
from tandem_matcher.encoder import UniversalSentenceEncoder
from tandem_matcher.settings import WeightSettings

K = 10
WEIGHTS: Weights = WeightSettings().weights()  # the service's configured default
KINDS = ("heritage", "creative", "industry", "support", "research")
TEMPLATES = {
    "pl": (
        "Oferujemy {thing} dla {who}",
        "Szukamy partnera, który zapewni {thing} dla {who}",
    ),
    "de": ("Wir bieten {thing} für {who} an", "Wir suchen einen Partner für {thing} für {who}"),
    "en": (
        "We offer {thing} for {who}",
        "We are looking for a partner providing {thing} for {who}",
    ),
    "it": ("Offriamo {thing} per {who}", "Cerchiamo un partner che offra {thing} per {who}"),
    "cs": ("Nabízíme {thing} pro {who}", "Hledáme partnera, který zajistí {thing} pro {who}"),
}
THINGS = {
    "pl": ["skanowanie 3D", "projektowanie mebli", "druk książek", "konserwację zabytków",
           "tkaniny lniane", "aplikacje mobilne", "doradztwo eksportowe", "fotografię produktową",
           "oświetlenie sceniczne", "szkolenia cyfrowe", "gry edukacyjne", "wyroby szklane"],
    "de": ["3D-Scans", "Möbeldesign", "Buchdruck", "Denkmalpflege", "Leinenstoffe",
           "mobile Apps", "Exportberatung", "Produktfotografie", "Bühnenlicht",
           "digitale Schulungen", "Lernspiele", "Glaswaren"],
    "en": ["3D scanning", "furniture design", "book printing", "heritage conservation",
           "linen fabrics", "mobile apps", "export advice", "product photography",
           "stage lighting", "digital training", "educational games", "glassware"],
    "it": ["scansione 3D", "design di mobili", "stampa di libri", "restauro dei beni culturali",
           "tessuti di lino", "app mobili", "consulenza per l'export", "fotografia di prodotto",
           "illuminazione scenica", "formazione digitale", "giochi educativi", "articoli in vetro"],
    "cs": ["3D skenování", "design nábytku", "tisk knih", "péči o památky", "lněné látky",
           "mobilní aplikace", "exportní poradenství", "produktovou fotografii",
           "jevištní osvětlení", "digitální školení", "vzdělávací hry", "skleněné výrobky"],
}  # fmt: skip
WHO = {
    "pl": ["muzeów", "festiwali", "małych firm", "szkół", "archiwów", "turystów"],
    "de": ["Museen", "Festivals", "kleine Firmen", "Schulen", "Archive", "Touristen"],
    "en": ["museums", "festivals", "small firms", "schools", "archives", "tourists"],
    "it": ["musei", "festival", "piccole imprese", "scuole", "archivi", "turisti"],
    "cs": ["muzea", "festivaly", "malé firmy", "školy", "archivy", "turisty"],
}

Vectors = NDArray[np.float32]


def texts_for(rng: np.random.Generator, language: str, side: int, count: int) -> list[str]:
    template = TEMPLATES[language][side]
    return [
        template.format(thing=rng.choice(THINGS[language]), who=rng.choice(WHO[language]))
        + f" ({rng.integers(0, 50)})"  # a project number: keeps texts (and encoding) distinct
        for _ in range(count)
    ]


def profile(
    rng: np.random.Generator, number: int, needs: Vectors, offers: Vectors
) -> ProfileVectors:
    language = str(rng.choice(list(TEMPLATES)))
    return ProfileVectors(
        id=f"p{number}",
        name=f"Organisation {number}",
        hub=f"hub{number % 8}",
        sharing="network" if number % 3 else "hub",
        kind=KINDS[number % len(KINDS)],
        looking_for=frozenset({KINDS[(number + 1) % len(KINDS)]}),
        languages=frozenset({"en", language}),
        need_texts=tuple(f"need {i}" for i in range(len(needs))),
        offer_texts=tuple(f"offer {i}" for i in range(len(offers))),
        needs=needs,
        offers=offers,
    )


def encoded_profiles(
    size: int, pool: int, seed: int
) -> tuple[list[ProfileVectors], float, int, int]:
    """`size` profiles with 1-3 needs and 1-3 offers each, drawn (in the profile's language)
    from `pool` distinct generated texts per side that are really encoded. Returns the
    profiles, the encoding seconds, the texts encoded and the texts the profiles carry."""
    rng = np.random.default_rng(seed)
    languages = list(TEMPLATES)
    per_language = max(1, pool // len(languages))
    texts = {
        (language, side): sorted(set(texts_for(rng, language, side, per_language)))
        for language in languages
        for side in (0, 1)
    }
    unique = [text for group in texts.values() for text in group]
    encoder = UniversalSentenceEncoder(threads=2)
    started = time.perf_counter()
    vectors: dict[str, Vectors] = {}
    for start in range(0, len(unique), 256):
        chunk = unique[start : start + 256]
        vectors.update(zip(chunk, encoder.encode(chunk), strict=True))
    encoding = time.perf_counter() - started

    def draw(language: str, side: int) -> Vectors:
        group = texts[(language, side)]
        chosen = rng.choice(len(group), int(rng.integers(1, 4)))
        return np.stack([vectors[group[i]] for i in chosen])

    profiles = []
    for number in range(size):
        language = str(rng.choice(languages))
        profiles.append(profile(rng, number, draw(language, 1), draw(language, 0)))
    carried = sum(len(p.needs) + len(p.offers) for p in profiles)
    return profiles, encoding, len(unique), carried


def pooled_profiles(size: int, pool: list[ProfileVectors], seed: int) -> list[ProfileVectors]:
    """`size` profiles whose vectors are drawn from an encoded pool (no encoding)."""
    rng = np.random.default_rng(seed)
    needs = np.concatenate([p.needs for p in pool])
    offers = np.concatenate([p.offers for p in pool])
    return [
        profile(
            rng,
            number,
            needs[rng.integers(0, len(needs), rng.integers(1, 4))],
            offers[rng.integers(0, len(offers), rng.integers(1, 4))],
        )
        for number in range(size)
    ]


def indexed(profiles: list[ProfileVectors]) -> VectorIndex:
    index = VectorIndex(profiles[0].needs.shape[1])
    for p in profiles:
        index.put(p)
    return index


def naive_seconds_per_profile(
    index: VectorIndex, profiles: list[ProfileVectors], subset: int
) -> float:
    started = time.perf_counter()
    for p in profiles[:subset]:
        index.score(p, WEIGHTS).top(K)
    return (time.perf_counter() - started) / subset


def blocked_match(
    profiles: list[ProfileVectors], batch: int, max_blocks: int | None
) -> tuple[VectorIndex, float, float, bool]:
    """(the index, build seconds, full-match seconds, extrapolated?)."""
    started = time.perf_counter()
    index = indexed(profiles)
    build = time.perf_counter() - started
    blocks = -(-len(profiles) // batch)
    started = time.perf_counter()
    done = 0
    for _ in top_k(index, profiles, K, weights=WEIGHTS, batch=batch):
        done += 1
        if max_blocks is not None and done >= max_blocks:
            break
    took = time.perf_counter() - started
    return index, build, took * blocks / done, done < blocks


def report(
    size: int,
    how: str,
    encoding: float | None,
    profiles: list[ProfileVectors],
    args: argparse.Namespace,
) -> None:
    batch = args.batch if size <= 20_000 else min(args.batch, 64)
    max_blocks = None if args.full or size <= 20_000 else args.sample_blocks
    index, build, match, extrapolated = blocked_match(profiles, batch, max_blocks)
    subset = min(args.naive if size <= 20_000 else max(args.naive // 10, 10), size)
    naive = naive_seconds_per_profile(index, profiles, subset) * size
    pairs = size * (size - 1)
    imported = (encoding or 0.0) + build
    print(
        f"{size:>7} profiles ({how}): import {imported:7.1f} s"
        + (f" (encoding {encoding:.1f} s)" if encoding is not None else "")
        + f" | full match, blocked (batch {batch}) {match:7.1f} s"
        + (" [extrapolated from a sample of blocks]" if extrapolated else "")
        + f", {pairs / match:,.0f} pairs/s | naive per-profile loop {naive:7.1f} s "
        f"[extrapolated from {subset} profiles], {pairs / naive:,.0f} pairs/s "
        f"| blocked is {naive / match:.1f}x faster | import + match {imported + match:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument(
        "--naive", type=int, default=200, help="profiles in the naive subset (a tenth above 20k)"
    )
    parser.add_argument("--sample-blocks", type=int, default=8)
    parser.add_argument("--full", action="store_true", help="no extrapolation at large sizes")
    parser.add_argument("--pool", type=int, default=1000, help="distinct texts encoded per side")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with threadpool_limits(2):
        first, *others = args.sizes
        profiles, encoding, texts, carried = encoded_profiles(first, args.pool, args.seed)
        rate = texts / encoding
        print(
            f"encoded {texts:,} distinct texts in {encoding:.1f} s ({rate:,.0f} texts/s); the "
            f"{first:,} profiles carry {carried:,} texts drawn from them: were they all "
            f"distinct, encoding them would take {carried / rate:,.0f} s at this rate"
        )
        report(first, f"texts from the {texts:,} encoded", encoding, profiles, args)
        for size in others:
            pooled = pooled_profiles(size, profiles, args.seed + size)
            report(size, f"vectors pooled from the {first:,} encoded", None, pooled, args)


if __name__ == "__main__":
    main()
