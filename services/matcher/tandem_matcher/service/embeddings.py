"""Persisted embeddings: each text's vector is stored by encoder name and text hash, so a
restart, or a replica replaying another replica's profile, reads vectors back instead of
encoding the texts again (minutes at 100k profiles with the fast encoder)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import repository
from tandem_matcher.domain.scoring import ProfileVectors
from tandem_matcher.encoder import CachedEncoder
from tandem_matcher.index import ProfileIndex


async def preload(
    session: AsyncSession, index: ProfileIndex, texts: Sequence[str] | None = None
) -> set[str]:
    """Put the stored embeddings (all of them, or those of `texts` not cached yet) into the
    encoder's cache; the keys read. Encodings of another shape are ignored."""
    encoder = index.encoder
    if not isinstance(encoder, CachedEncoder):
        return set()
    keys = None
    if texts is not None:
        keys = [key for key in map(CachedEncoder.key, texts) if not encoder.knows(key)]
        if not keys:
            return set()
    stored = await repository.stored_embeddings(session, encoder.name, keys)
    encoder.remember_packed(stored)
    return set(stored)


async def store(
    session: AsyncSession,
    index: ProfileIndex,
    profiles: Iterable[ProfileVectors],
    *,
    stored: Collection[str] = (),
) -> None:
    """Store the encodings (dense and sparse) of the profiles' texts, but those already
    `stored` (keys); they were just encoded, so the encoder's cache holds them."""
    encoder = index.encoder
    if not isinstance(encoder, CachedEncoder):
        return
    texts = [text for profile in profiles for text in (*profile.need_texts, *profile.offer_texts)]
    packed = {key: raw for key, raw in encoder.packed(texts).items() if key not in stored}
    await repository.store_embeddings(session, encoder.name, packed)
