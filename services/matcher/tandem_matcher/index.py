"""The in-memory vector index of every profile's needs and offers.

Rebuilt at start from the matcher's own tables and kept current by the consumers. It is
only a cache of the tables: after a crash it is rebuilt, so it never has to be durable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tandem_matcher.domain.scoring import ProfileVectors, VectorIndex
from tandem_matcher.domain.structure import Structure
from tandem_matcher.encoder import Encoder


def texts_of(items: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(item["text"] for item in items)


class ProfileIndex:
    """Encodes profiles and keeps their vectors in a `VectorIndex`."""

    def __init__(self, encoder: Encoder, structure: Structure | None = None) -> None:
        self.encoder = encoder
        self.vectors = VectorIndex(
            encoder.dimension, structure, encoder.sparse_dimension, encoder.dense_share
        )

    def __len__(self) -> int:
        return len(self.vectors)

    def get(self, profile_id: str) -> ProfileVectors | None:
        return self.vectors.get(profile_id)

    def vectors_for(self, row: Mapping[str, Any]) -> ProfileVectors:
        need_texts, offer_texts = texts_of(row["needs"]), texts_of(row["offers"])
        # One encoder call for both sides: the model's per-call overhead dominates short texts.
        encoded = self.encoder.embed(need_texts + offer_texts)
        needs, offers = (
            encoded.rows(0, len(need_texts)),
            encoded.rows(len(need_texts), len(encoded)),
        )
        return ProfileVectors(
            id=str(row["id"]),
            name=row["name"],
            hub=row["hub"],
            sharing=row["sharing"],
            kind=row["kind"],
            looking_for=frozenset(row["looking_for"]),
            languages=frozenset(row["languages"]),
            need_texts=need_texts,
            offer_texts=offer_texts,
            needs=needs.dense,
            offers=offers.dense,
            country=row.get("country") or "",
            region=row.get("region") or "",
            website=row.get("website") or "",
            sparse_needs=needs.sparse,
            sparse_offers=offers.sparse,
        )

    def put(self, vectors: ProfileVectors) -> None:
        self.vectors.put(vectors)

    def remove(self, profile_id: str) -> None:
        self.vectors.remove(profile_id)
