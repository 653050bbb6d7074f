"""The detected language of each profile text (description, every offer and need).

py3langid ships its model in the wheel (no download at run time); it is restricted to the
languages of the countries the network works with, which makes it both faster and less
likely to answer an unrelated language for a short text. The model (~100 MB in memory)
loads once, on first use. A text too short or too ambiguous to tell gets None.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from typing import Any, Protocol

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# EU, EEA and candidate countries' languages (ISO 639-1), plus Russian and Ukrainian.
LANGUAGES = (
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr",
    "hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
    "ca", "eu", "gl", "lb", "is", "no", "sr", "bs", "mk", "sq", "tr", "uk",
    "ru",
)  # fmt: skip
MIN_CHARS = 12  # below this a guess is noise ("3D", "Museo")
MIN_PROBABILITY = 0.5
SAMPLE_CHARS = 300
_lock = threading.Lock()  # detection may run in worker threads: load the model once


class _Identifier(Protocol):
    def classify(self, text: str) -> tuple[str, float]: ...


@cache
def _load() -> _Identifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([code for code in LANGUAGES if code in identifier.nb_classes])
    return identifier  # type: ignore[no-any-return]


def _identifier() -> _Identifier:
    with _lock:
        return _load()


def detect(text: str) -> str | None:
    """The ISO 639-1 code of `text`'s language, or None when it cannot be told."""
    if len(text.strip()) < MIN_CHARS:
        return None
    return _detect_sample(text[:SAMPLE_CHARS])


# Imports repeat texts (keep.eu: every partner of a project describes it with the
# project's text), hence the cache; the first few hundred characters decide the language
# as well as the whole text and the cost grows with the length.
@lru_cache(maxsize=8192)
def _detect_sample(sample: str) -> str | None:
    language, probability = _identifier().classify(sample)
    return str(language) if probability >= MIN_PROBABILITY else None


def text_languages(profile: Mapping[Any, Any]) -> dict[str, Any]:
    """The `text_languages` column for a profile's texts (the stored JSON shape)."""
    return {
        "description": detect(profile.get("description") or ""),
        "offers": [detect(item["text"]) for item in profile.get("offers") or []],
        "needs": [detect(item["text"]) for item in profile.get("needs") or []],
    }


def with_languages(profile: Mapping[Any, Any]) -> dict[str, Any]:
    """The profile with each offer/need carrying its `language` and `description_language`
    set (None where unknown, e.g. rows stored before detection existed)."""
    detected = profile.get("text_languages") or {}
    view = {key: value for key, value in profile.items() if key != "text_languages"}
    view["description_language"] = detected.get("description")
    for field in ("offers", "needs"):
        languages: Sequence[str | None] = detected.get(field) or []
        items = profile.get(field) or []
        view[field] = [
            {**item, "language": languages[index] if index < len(languages) else None}
            for index, item in enumerate(items)
        ]
    return view


TEXT_FIELDS = frozenset({"description", "offers", "needs"})
