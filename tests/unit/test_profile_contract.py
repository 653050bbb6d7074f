"""The public profile contract `ProfileIn`: what the registry accepts, what it refuses, and
that a refusal names the offending field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tandem_registry.domain.profiles import SUBSECTORS, ProfileIn
from tandem_shared.contracts import OrgKind, Sharing

pytestmark = pytest.mark.unit

MINIMAL: dict[str, Any] = {"name": "Muzeum Śląskie", "kind": "heritage", "country": "PL"}
FULL: dict[str, Any] = {
    **MINIMAL,
    "subsectors": ["museum", "digitisation"],
    "description": "A regional museum with a large digitisation lab.",
    "offers": [{"text": "3D scanning of collections", "tags": ["3d", "scanning"]}],
    "needs": [{"text": "AR storytelling for exhibitions", "tags": ["ar"]}],
    "looking_for": ["creative", "industry"],
    "languages": ["pl", "en"],
    "region": "PL22",
    "city": "Katowice",
    "website": "https://muzeumslaskie.pl/",
    "contact": {"name": "Anna Nowak", "email": "anna@example.org", "phone": "+48 32 779 93 00"},
    "sharing": "network",
    "external_id": "crm-42",
}


def with_(**changes: Any) -> dict[str, Any]:
    return {**FULL, **changes}


def item(text: str = "something", **extra: Any) -> dict[str, Any]:
    return {"text": text, **extra}


def test_minimal_profile_is_accepted_with_defaults() -> None:
    profile = ProfileIn.model_validate(MINIMAL)
    assert profile.kind is OrgKind.HERITAGE
    assert profile.sharing is Sharing.HUB
    assert profile.offers == profile.needs == []
    assert profile.subsectors == profile.languages == []
    assert profile.website is None
    assert profile.contact is None


def test_full_profile_is_accepted() -> None:
    profile = ProfileIn.model_validate(FULL)
    assert profile.sharing is Sharing.NETWORK
    assert profile.looking_for == [OrgKind.CREATIVE, OrgKind.INDUSTRY]
    assert profile.offers[0].tags == ["3d", "scanning"]
    assert profile.contact is not None
    assert profile.contact.email == "anna@example.org"
    assert str(profile.website) == "https://muzeumslaskie.pl/"
    assert profile.region == "PL22"


def test_full_profile_round_trips_through_json() -> None:
    profile = ProfileIn.model_validate(FULL)
    assert ProfileIn.model_validate_json(profile.model_dump_json()) == profile


def test_whitespace_is_stripped_and_duplicates_dropped_in_order() -> None:
    profile = ProfileIn.model_validate(
        with_(
            name="  Muzeum  ",
            subsectors=["museum", "archive", "museum"],
            languages=["en", "pl", "en"],
            offers=[item("  scanning  ", tags=["  3d "])],
        )
    )
    assert profile.name == "Muzeum"
    assert profile.subsectors == ["museum", "archive"]
    assert profile.languages == ["en", "pl"]
    assert profile.offers[0].text == "scanning"
    assert profile.offers[0].tags == ["3d"]


@pytest.mark.parametrize("subsector", sorted(SUBSECTORS))
def test_every_subsector_of_the_vocabulary_is_accepted(subsector: str) -> None:
    assert ProfileIn.model_validate(with_(subsectors=[subsector])).subsectors == [subsector]


@pytest.mark.parametrize("region", ["PL", "PL2", "PL22", "DED2", "FR101"])
def test_nuts_codes_of_every_level_are_accepted(region: str) -> None:
    assert ProfileIn.model_validate(with_(region=region)).region == region


REJECTED: dict[str, tuple[dict[str, Any], tuple[str | int, ...]]] = {
    "unknown field": (with_(colour="blue"), ("colour",)),
    "unknown contact field": (
        with_(contact={"email": "a@example.org", "fax": "1"}),
        ("contact", "fax"),
    ),
    "unknown offer field": (with_(offers=[item(score=1)]), ("offers", 0, "score")),
    "missing name": ({"kind": "heritage", "country": "PL"}, ("name",)),
    "missing country": ({"name": "X", "kind": "heritage"}, ("country",)),
    "unknown kind": (with_(kind="alien"), ("kind",)),
    "unknown looking_for": (with_(looking_for=["alien"]), ("looking_for", 0)),
    "unknown sharing": (with_(sharing="public"), ("sharing",)),
    "unknown subsector": (with_(subsectors=["museum", "knitting"]), ("subsectors",)),
    "too many subsectors": (with_(subsectors=["museum"] * 11), ("subsectors",)),
    "three-letter language": (with_(languages=["pol"]), ("languages",)),
    "upper-case language": (with_(languages=["PL"]), ("languages",)),
    "lower-case country": (with_(country="pl"), ("country",)),
    "three-letter country": (with_(country="POL"), ("country",)),
    "lower-case NUTS": (with_(region="pl22"), ("region",)),
    "too-long NUTS": (with_(region="PL2234"), ("region",)),
    "NUTS without country": (with_(region="22"), ("region",)),
    "empty name": (with_(name="   "), ("name",)),
    "too-long name": (with_(name="x" * 201), ("name",)),
    "too-long description": (with_(description="x" * 5001), ("description",)),
    "too-long city": (with_(city="x" * 101), ("city",)),
    "21 offers": (with_(offers=[item(f"offer {i}") for i in range(21)]), ("offers",)),
    "21 needs": (with_(needs=[item(f"need {i}") for i in range(21)]), ("needs",)),
    "empty offer text": (with_(offers=[item("ok"), item("")]), ("offers", 1, "text")),
    "blank need text": (with_(needs=[item("  ")]), ("needs", 0, "text")),
    "too-long offer text": (with_(offers=[item("x" * 1001)]), ("offers", 0, "text")),
    "too many tags": (
        with_(offers=[item(tags=[f"t{i}" for i in range(11)])]),
        ("offers", 0, "tags"),
    ),
    "empty tag": (with_(offers=[item(tags=["ok", " "])]), ("offers", 0, "tags", 1)),
    "bad email": (with_(contact={"email": "not-an-email"}), ("contact", "email")),
    "bad phone": (with_(contact={"phone": "call me"}), ("contact", "phone")),
    "relative URL": (with_(website="muzeum"), ("website",)),
    "non-http URL": (with_(website="ftp://example.org/"), ("website",)),
    "empty external id": (with_(external_id=""), ("external_id",)),
}


@pytest.mark.parametrize(("payload", "loc"), REJECTED.values(), ids=REJECTED.keys())
def test_invalid_profiles_are_rejected_naming_the_field(
    payload: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        ProfileIn.model_validate(payload)
    locs = [error["loc"] for error in caught.value.errors()]
    assert any(found[: len(loc)] == loc for found in locs), locs


@pytest.mark.parametrize(
    "payload",
    [
        with_(offers=[item(f"offer {i}") for i in range(20)]),
        with_(name="x" * 200),
        with_(subsectors=sorted(SUBSECTORS)[:10]),
    ],
    ids=["20 offers", "200-char name", "10 subsectors"],
)
def test_limits_are_inclusive(payload: dict[str, Any]) -> None:
    ProfileIn.model_validate(payload)
