"""keep.eu conversion: name normalisation and deduplication, profiles that pass the public
contract, on a few hand-written CSV rows (and on the real export when it is present)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from tandem_registry.domain.keep_eu import (
    CREDIT,
    KeepProject,
    dedup_key,
    normalise_name,
    organisation_profile,
)
from tandem_registry.domain.profiles import ProfileIn
from tandem_registry.keep_eu import keep_eu_profiles, load_keep_eu

pytestmark = pytest.mark.unit

REAL_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "keep_eu"
PROGRAMME = "2014 - 2020 INTERREG V-A Poland - Saxony"

PROJECTS = [
    {
        "Programme": PROGRAMME,
        "Acronym": "HERITAGE3D",
        "Project Name": "Digital heritage across the border",
        "Thematic1": "Cultural heritage and arts",
        "Thematic2": "Tourism",
        "Thematic3": "",
        "Description EN": "Museums scan their collections in 3D and share them online.",
        "Description 1": "Muzea skanują swoje zbiory w 3D.",
        "Expected Results EN": "A shared 3D catalogue of 500 objects.",
        "Specific Obj": "Protect the common heritage",
    },
    {
        "Programme": PROGRAMME,
        "Acronym": "CRAFTNET",
        "Project Name": "",
        "Project Name language 2": "Handwerksnetz",
        "Thematic1": "SME and entrepreneurship",
        "Description EN": "",
        "Description 1": "Handwerksbetriebe entwickeln gemeinsam neue Produkte.",
        "Specific Obj": "More cross-border SMEs",
    },
]


def partner(name: str, acronym: str, **cells: str) -> dict[str, str]:
    return {
        "Programme": PROGRAMME,
        "Acronym": acronym,
        "Project Partner": name,
        "Town": "Görlitz",
        "Country code": "DE Germany / DEUTSCHLAND",
        "Website": "",
        "Department": "",
        "Legal Status": "public",
        "NUTS1 (or equivalent)": "DED  / SACHSEN",
        "NUTS2 (or equivalent)": "DED2  / Dresden",
        "NUTS3 (or equivalent)": "DED2D  / Görlitz",
        **cells,
    }


PARTNERS = [
    partner(
        "Schlesisches Museum zu Görlitz gGmbH", "HERITAGE3D", Website="www.schlesisches-museum.de"
    ),
    partner("SCHLESISCHES MUSEUM ZU GÖRLITZ", "CRAFTNET", Website="not a url at all"),
    partner(
        "Muzeum Narodowe we Wrocławiu",
        "HERITAGE3D",
        **{"Country code": "PL Poland / POLSKA", "NUTS3 (or equivalent)": "PL514 / Wrocław"},
    ),
    partner("Kreishandwerkerschaft Görlitz e.V.", "CRAFTNET", **{"Legal Status": "Private"}),
    partner("Kreishandwerkerschaft Görlitz eV", "HERITAGE3D"),
    partner("Nameless", "CRAFTNET", **{"Country code": ""}),  # no country: skipped
]


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    columns = list(dict.fromkeys(column for row in rows for column in row))
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write_csv(tmp_path / "keep1420_projects.csv", PROJECTS)
    write_csv(tmp_path / "keep1420_partners.csv", PARTNERS)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("Kreishandwerkerschaft Görlitz e.V.", "kreishandwerkerschaft gorlitz"),
        ("Schlesisches Museum zu Görlitz gGmbH", "schlesisches museum zu gorlitz"),
        ("FIRMA  Nowak Sp. z o.o.", "firma nowak"),
        ("Inovační centrum, s.r.o.", "inovacni centrum"),
        ("Baltic Design Ltd.", "baltic design"),
        ("UAB „Kauno Menas“", "kauno menas"),
        ("Saxony Agency", "saxony agency"),  # "sa" is a legal form only as a whole word
    ],
)
def test_names_are_normalised_without_accents_punctuation_or_legal_forms(
    name: str, normalised: str
) -> None:
    assert normalise_name(name) == normalised
    assert dedup_key(name, "de") == f"DE:{normalised}"


def test_partner_rows_become_deduplicated_organisations_with_their_projects(
    data_dir: Path,
) -> None:
    data = load_keep_eu(data_dir)
    assert set(data.projects) == {f"{PROGRAMME}|HERITAGE3D", f"{PROGRAMME}|CRAFTNET"}
    craft = data.projects[f"{PROGRAMME}|CRAFTNET"]
    assert (craft.name, craft.themes) == ("Handwerksnetz", ("SME and entrepreneurship",))
    assert craft.description.startswith("Handwerksbetriebe")  # no English text: the other
    assert craft.results == "More cross-border SMEs"

    by_name = {org.name: org for org in data.organisations}
    assert len(data.organisations) == 3  # the two museum and two craft rows merge
    museum = next(
        org for org in data.organisations if org.key.endswith("schlesisches museum zu gorlitz")
    )
    assert len(museum.project_keys) == 2
    assert (museum.country, museum.region, museum.city) == ("DE", "DED2D", "Görlitz")
    assert museum.website == "http://www.schlesisches-museum.de/"
    assert museum.external_id.startswith("keep:")
    wroclaw = by_name["Muzeum Narodowe we Wrocławiu"]
    assert (wroclaw.country, wroclaw.region) == ("PL", "PL514")
    assert wroclaw.key != museum.key


def test_profiles_pass_the_public_contract_and_describe_the_projects(data_dir: Path) -> None:
    data = load_keep_eu(data_dir)
    profiles = {profile["name"]: profile for profile in keep_eu_profiles(data)}
    for profile in profiles.values():
        ProfileIn.model_validate(profile)
        assert CREDIT in profile["description"]
        assert profile["sharing"] == "network" and profile["external_id"].startswith("keep:")

    museum = next(p for p in profiles.values() if "Museum" in p["name"])
    assert museum["kind"] == "heritage" and "museum" in museum["subsectors"]
    assert "tourism" in museum["subsectors"]  # from the HERITAGE3D theme
    assert [offer["text"].split(":")[0] for offer in museum["offers"]] == ["HERITAGE3D", "CRAFTNET"]
    assert "scan their collections in 3D" in museum["offers"][0]["text"]
    assert museum["offers"][0]["tags"] == ["Cultural heritage and arts", "Tourism"]
    assert "500 objects" in museum["needs"][0]["text"]
    assert museum["languages"] == ["de", "en"]
    assert {"heritage", "industry"} <= set(museum["looking_for"])

    craft = next(p for p in profiles.values() if p["name"].startswith("Kreishandwerkerschaft"))
    assert craft["kind"] == "other"
    assert "website" not in craft


def test_a_profile_can_be_rebuilt_with_a_project_held_out(data_dir: Path) -> None:
    data = load_keep_eu(data_dir)
    org = next(org for org in data.organisations if len(org.project_keys) == 2)
    kept: list[KeepProject] = [data.projects[key] for key in org.project_keys[1:]]
    held_out = organisation_profile(org, kept)
    assert len(held_out["offers"]) == 1 and "HERITAGE3D" not in str(held_out["offers"])
    empty: dict[str, Any] = organisation_profile(org, [])
    assert empty["offers"] == [] and empty["needs"] == []
    ProfileIn.model_validate(empty)


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="the keep.eu export is not checked out")
def test_every_real_keep_eu_organisation_passes_the_contract() -> None:
    data = load_keep_eu(REAL_DATA)
    profiles = list(keep_eu_profiles(data))
    assert len(profiles) > 5000
    for profile in profiles:
        ProfileIn.model_validate(profile)
    assert len({profile["external_id"] for profile in profiles}) == len(profiles)
