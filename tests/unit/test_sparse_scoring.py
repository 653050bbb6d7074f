"""Sparse and hybrid text scoring on small hand-made vectors (no encoder): CSR rows built
from (feature, weight) lists, the growing CSR the index keeps, and the text similarity
`dense_share` x dense cosine + (1 - `dense_share`) x sparse cosine through `VectorIndex`,
checked against a direct computation of the definition."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.typing import NDArray

from tandem_matcher.domain.scoring import ProfileVectors, VectorIndex, Weights
from tandem_matcher.domain.scoring.sparse import GrowingCsr, SparseVectors, sparse_rows
from tandem_matcher.domain.scoring.text import TextRows

pytestmark = pytest.mark.unit

FEATURES = 50


def terms(*pairs: tuple[int, float]) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    return (
        np.array([f for f, _ in pairs], np.int32),
        np.array([w for _, w in pairs], np.float32),
    )


def text_only() -> Weights:
    zero = {field.name: 0.0 for field in dataclasses.fields(Weights)}
    return Weights(**{**zero, "reciprocal": 1.0})


def test_sparse_rows_are_unit_length_and_keep_their_features() -> None:
    rows = sparse_rows([terms((3, 3.0), (7, 4.0)), terms(), terms((1, 2.0))], FEATURES)
    assert rows.shape == (3, FEATURES)
    dense = rows.toarray()
    np.testing.assert_allclose(dense[0, [3, 7]], [0.6, 0.8], rtol=1e-6)
    assert not dense[1].any()  # a text without features stays an all-zero row
    np.testing.assert_allclose(dense[2, 1], 1.0)
    # the dot product of two normalised rows is their cosine
    a, b = sparse_rows([terms((3, 1.0), (7, 1.0)), terms((7, 1.0))], FEATURES)
    assert (a @ b.T).toarray()[0, 0] == pytest.approx(1 / np.sqrt(2), rel=1e-6)


def test_growing_csr_appends_in_place_and_keeps_chosen_rows() -> None:
    store = GrowingCsr(FEATURES)
    blocks = [sparse_rows([terms((i, 1.0), (i + 1, 2.0))], FEATURES) for i in range(40)]
    for block in blocks:  # past the first capacity of indptr and entries
        store.append(block)
    expected = np.vstack([block.toarray() for block in blocks])
    np.testing.assert_array_equal(store.matrix().toarray(), expected)
    store.keep(np.array([5, 2, 39]))
    np.testing.assert_array_equal(store.matrix().toarray(), expected[[5, 2, 39]])


def test_text_rows_combine_dense_and_sparse_cosines_by_the_share() -> None:
    rng = np.random.default_rng(3)
    dense = rng.normal(size=(6, 4)).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    sparse = sparse_rows([terms((i % 5, 1.0), (i + 10, float(i + 1))) for i in range(6)], FEATURES)
    rows = TextRows(4, capacity=2, sparse_dim=FEATURES, dense_share=0.3)
    for slot in range(3):
        rows.put(slot, dense[2 * slot : 2 * slot + 2], sparse[2 * slot : 2 * slot + 2])
    rows.put(1, dense[2:4], sparse[2:4])  # a replaced profile: two dead rows, then new ones
    _, owner, _ = rows.live()
    live = owner >= 0
    query_dense, query_sparse = dense[:2], sparse[:2]
    got = rows.similarity(query_dense, query_sparse)[:, live]
    stored = np.concatenate([dense[0:2], dense[4:6], dense[2:4]])
    stored_sparse = np.vstack([sparse[0:2].toarray(), sparse[4:6].toarray(), sparse[2:4].toarray()])
    want = 0.3 * query_dense @ stored.T + 0.7 * query_sparse.toarray() @ stored_sparse.T
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def profile(pid: str, needs: SparseVectors, offers: SparseVectors) -> ProfileVectors:
    return ProfileVectors(
        id=pid,
        name=pid,
        hub="h",
        sharing="hub",
        kind="other",
        looking_for=frozenset(),
        languages=frozenset(),
        need_texts=tuple(f"{pid} need {i}" for i in range(needs.shape[0])),
        offer_texts=tuple(f"{pid} offer {i}" for i in range(offers.shape[0])),
        needs=np.zeros((needs.shape[0], 0), np.float32),
        offers=np.zeros((offers.shape[0], 0), np.float32),
        sparse_needs=needs,
        sparse_offers=offers,
    )


def test_a_sparse_index_ranks_the_reciprocal_partner_first_and_after_updates() -> None:
    def rows(*texts: tuple[tuple[int, float], ...]) -> SparseVectors:
        return sparse_rows([terms(*text) for text in texts], FEATURES)

    museum = profile("museum", needs=rows(((1, 1.0), (2, 1.0))), offers=rows(((10, 1.0),)))
    scanner = profile("scanner", needs=rows(((10, 1.0),)), offers=rows(((1, 1.0), (2, 1.0))))
    one_sided = profile("rival", needs=rows(((30, 1.0),)), offers=rows(((1, 1.0), (2, 1.0))))
    index = VectorIndex(0, sparse_dim=FEATURES, dense_share=0.0)
    for item in (museum, scanner, one_sided):
        index.put(item)
    top = index.score(museum, text_only()).top()
    scores = {r.candidate.id: r.components["reciprocal"] for r in top}
    assert top[0].candidate.id == "scanner"
    assert scores["scanner"] == pytest.approx(1.0, abs=1e-4)
    assert scores["rival"] == 0.0  # the rival's fit is one-sided
    # The scanner now needs something else: the pair falls to half in one direction.
    index.put(profile("scanner", needs=rows(((10, 1.0), (11, 1.0))), offers=scanner.sparse_offers))
    moved = index.score(museum, text_only()).top()
    half = 1 / np.sqrt(2)
    assert moved[0].components["reciprocal"] == pytest.approx(2 * half / (1 + half), abs=1e-4)
