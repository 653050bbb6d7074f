"""Language detection of profile texts: the model ships with the package, answers the
languages of the network's countries and says None where a text is too short to tell."""

from __future__ import annotations

import pytest

from tandem_registry.languages import detect, text_languages, with_languages

pytestmark = pytest.mark.unit

SAMPLES = {
    "pl": "Potrzebujemy partnera do digitalizacji 3D naszej kolekcji muzealnej",
    "de": "Wir bieten Photogrammetrie und 3D-Scans von Kulturgütern und Museumsobjekten an",
    "cs": "Hledáme partnery pro digitalizaci sbírek a pro společné výstavy v příhraničí",
    "sl": "Iščemo partnerje za digitalizacijo muzejskih zbirk in skupne razstave",
    "lt": "Ieškome partnerių muziejaus kolekcijų skaitmeninimui ir bendroms parodoms",
    "en": "We offer 3D scanning of heritage objects and virtual exhibitions for museums",
}


@pytest.mark.parametrize(("language", "text"), SAMPLES.items())
def test_each_language_is_detected(language: str, text: str) -> None:
    assert detect(text) == language


@pytest.mark.parametrize("text", ["", "3D", "Museo", "   ", "12345 67890 12"])
def test_too_short_or_ambiguous_texts_have_no_language(text: str) -> None:
    assert detect(text) is None


def test_every_text_of_a_profile_gets_its_language_in_order() -> None:
    profile = {
        "description": SAMPLES["pl"],
        "offers": [{"text": SAMPLES["de"], "tags": []}, {"text": "3D", "tags": ["3d"]}],
        "needs": [{"text": SAMPLES["lt"], "tags": []}],
    }
    detected = text_languages(profile)
    assert detected == {"description": "pl", "offers": ["de", None], "needs": ["lt"]}

    view = with_languages({**profile, "text_languages": detected})
    assert "text_languages" not in view and view["description_language"] == "pl"
    assert [item["language"] for item in view["offers"]] == ["de", None]
    assert view["offers"][1] == {"text": "3D", "tags": ["3d"], "language": None}
    # Rows stored before detection existed read as unknown, not as an error.
    old = with_languages({**profile, "text_languages": None})
    assert old["description_language"] is None
    assert [item["language"] for item in old["needs"]] == [None]
