"""Rescore latency: one profile update scored against N candidate profiles.

Prints median and p99 of `VectorIndex.score(...).top(k)` (both matrix products, the
structured components, visibility, top-k and explanations) at each N, and its ratio to a
bare numpy matrix-vector product over the same offer matrix in the same process (the
memory-bandwidth floor). Vectors are random unit vectors of the encoder's dimension: the
cost does not depend on what the texts say.

    .venv/bin/python bench/rescore.py            # 10k and 100k profiles
    .venv/bin/python bench/rescore.py 10000      # just one size
"""

from __future__ import annotations

import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from tandem_matcher.domain.scoring import ProfileVectors, VectorIndex

DIM = 512
TEXTS_PER_SIDE = 2
KINDS = ("heritage", "creative", "industry", "support", "research")
REPEATS = 200


def unit_vectors(rng: np.random.Generator, rows: int) -> np.ndarray:
    vectors = rng.standard_normal((rows, DIM)).astype(np.float32)
    normalised: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised


def profile(rng: np.random.Generator, number: int) -> ProfileVectors:
    return ProfileVectors(
        id=f"p{number}",
        name=f"Organisation {number}",
        hub=f"hub{number % 8}",
        sharing="network" if number % 3 else "hub",
        kind=KINDS[number % len(KINDS)],
        looking_for=frozenset({KINDS[(number + 1) % len(KINDS)]}),
        languages=frozenset({"en", ("pl", "de", "sl", "cs", "hu")[number % 5]}),
        need_texts=tuple(f"need {i}" for i in range(TEXTS_PER_SIDE)),
        offer_texts=tuple(f"offer {i}" for i in range(TEXTS_PER_SIDE)),
        needs=unit_vectors(rng, TEXTS_PER_SIDE),
        offers=unit_vectors(rng, TEXTS_PER_SIDE),
    )


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.array(samples) * 1000
    return float(np.median(values)), float(np.percentile(values, 99))


def measure(size: int) -> None:
    rng = np.random.default_rng(7)
    index = VectorIndex(DIM)
    started = time.perf_counter()
    for number in range(size):
        index.put(profile(rng, number))
    build = time.perf_counter() - started
    updates = [profile(rng, number) for number in rng.integers(0, size, REPEATS)]
    rescore = []
    for update in updates:
        began = time.perf_counter()
        index.put(update)
        index.score(update).top(10, min_score=0.0)
        rescore.append(time.perf_counter() - began)
    offers, _, _ = index.offers.live()
    query = unit_vectors(rng, 1)[0]
    bare = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        offers @ query
        bare.append(time.perf_counter() - began)
    (median, p99), (bare_median, bare_p99) = percentiles(rescore), percentiles(bare)
    print(
        f"{size:>7} profiles ({len(offers):,} offer rows, index built in {build:.1f}s): "
        f"rescore median {median:.2f} ms, p99 {p99:.2f} ms | bare matvec median "
        f"{bare_median:.2f} ms, p99 {bare_p99:.2f} ms | ratio {median / bare_median:.1f}x"
    )


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [10_000, 100_000]
    with threadpool_limits(2):
        for size in sizes:
            measure(size)


if __name__ == "__main__":
    main()
