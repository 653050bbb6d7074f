"""The text side of scoring: every profile's need and offer vectors stacked in two
matrices, and each candidate's best need-offer similarity in one direction, from one
matrix product for a whole block of scored profiles (pure: numpy and scipy.sparse).

A text pair's similarity is `dense_share` x the dense cosine + (1 - `dense_share`) x the
sparse cosine (`encoder.Encoded`): a dense encoder has share 1 and no sparse rows, a
sparse one share 0 and no dense columns, a hybrid both.

s(A→B) is how well B's offers meet A's needs (the best cosine over need-offer pairs); the
`reciprocal` component fuses both directions with a harmonic mean, so a one-sided fit
ranks low."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse as sp

from tandem_matcher.domain.scoring.model import Vectors
from tandem_matcher.domain.scoring.sparse import GrowingCsr, SparseVectors, empty_rows


def harmonic(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    total = x + y
    return np.divide(2 * x * y, total, out=np.zeros_like(total), where=total > 0)


class TextRows:
    """One side's texts (needs or offers) of every profile, stacked, with their owner slot.

    Replaced texts are marked dead (owner -1) and the matrix is compacted when a third of
    it is dead, so updates cost O(texts of the profile), not O(index)."""

    def __init__(
        self, dim: int, capacity: int = 1024, sparse_dim: int = 0, dense_share: float = 1.0
    ) -> None:
        self.dense_share = dense_share
        self.sparse = GrowingCsr(sparse_dim) if sparse_dim else None
        self.matrix = np.zeros((capacity, dim), np.float32)
        self.owner = np.full(capacity, -1, np.int64)
        self.position = np.zeros(capacity, np.int64)  # index of the text within its profile
        self.used = 0
        self.dead = 0
        self.rows_of: dict[int, NDArray[np.int64]] = {}

    def put(self, slot: int, vectors: Vectors, sparse: SparseVectors | None = None) -> None:
        self.drop(slot)
        count = len(vectors)
        self._reserve(count)
        rows = np.arange(self.used, self.used + count)
        self.matrix[rows] = vectors
        if self.sparse is not None:
            # sparse rows follow the dense ones one to one (a text without: all zero)
            dimension = self.sparse.dimension
            self.sparse.append(empty_rows(count, dimension) if sparse is None else sparse)
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

    def similarity(self, dense: Vectors, sparse: SparseVectors | None) -> NDArray[np.float32]:
        """(texts, used rows): each given text against every row, dense and sparse
        cosines combined with `dense_share` (one product per kind of vector)."""
        matrix = self.matrix[: self.used]
        product: NDArray[np.float32] = np.zeros((len(dense), self.used), np.float32)
        if self.dense_share > 0 and matrix.shape[1]:
            product = dense @ matrix.T
            if self.dense_share != 1:
                product *= self.dense_share
        if self.sparse is not None and self.dense_share < 1 and sparse is not None:
            sparse_product = (sparse @ self.sparse.matrix().T).toarray()
            product += (1 - self.dense_share) * sparse_product.astype(np.float32)
        return product

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
        if self.sparse is not None:
            self.sparse.keep(keep)
        self.used, self.dead = len(keep), 0
        owners = self.owner[: self.used]
        order = np.argsort(owners, kind="stable")
        bounds = np.flatnonzero(np.diff(owners[order])) + 1
        self.rows_of = {
            int(owners[group[0]]): group for group in np.split(order, bounds) if len(group)
        }


@dataclass(frozen=True)
class Direction:
    """Per slot: the best similarity of one direction, and which texts gave it."""

    best: NDArray[np.float64]
    need_position: NDArray[np.int64]
    offer_position: NDArray[np.int64]


def empty_direction(slots: int) -> Direction:
    return Direction(np.zeros(slots), np.full(slots, -1), np.full(slots, -1))


def block_directions(
    rows: TextRows,
    texts: Sequence[Vectors],
    slots: int,
    texts_are_needs: bool,
    sparse_texts: Sequence[SparseVectors | None] = (),
) -> Iterator[Direction]:
    """One direction for each profile of a block: its texts (`texts[i]`, needs or offers,
    with their sparse rows `sparse_texts[i]` for a sparse encoder) against every candidate
    row of the other side (`rows`), from ONE product for the whole block; each profile
    then reduces its own slice of it."""
    matrix, owner, position = rows.live()
    counts = [len(block) for block in texts]
    if sum(counts) == 0 or len(matrix) == 0:
        for _ in texts:
            yield empty_direction(slots)
        return
    stacked = np.concatenate(
        [block.reshape(n, matrix.shape[1]) for n, block in zip(counts, texts, strict=True)]
    )
    stacked_sparse = None
    if rows.sparse is not None:
        dimension = rows.sparse.dimension
        given = list(sparse_texts) or [None] * len(texts)
        blocks = [
            empty_rows(n, dimension) if s is None else s for n, s in zip(counts, given, strict=True)
        ]
        stacked_sparse = sp.vstack(blocks, format="csr")
    product = rows.similarity(stacked, stacked_sparse)  # (the block's texts, candidate rows)
    start = 0
    for count in counts:
        if count == 0:
            yield empty_direction(slots)
        else:
            part = product[start : start + count]
            yield _direction(part, owner, position, slots, texts_are_needs)
        start += count


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


def _direction(
    product: NDArray[np.float32],
    owner: NDArray[np.int64],
    position: NDArray[np.int64],
    slots: int,
    texts_are_needs: bool,
) -> Direction:
    """Each slot's best similarity between the profile's texts (rows of `product`) and
    the slot's texts (columns), and which pair of texts reached it."""
    best, row = _best_per_slot(product.max(axis=0), owner, slots)
    own_of_row = product.argmax(axis=0)
    own = np.where(row >= 0, own_of_row[row], -1)
    theirs = np.where(row >= 0, position[row], -1)
    need, offer = (own, theirs) if texts_are_needs else (theirs, own)
    return Direction(np.clip(best, 0.0, 1.0), need, offer)
