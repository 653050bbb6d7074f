"""The public profile contract (pure: pydantic only). Unknown fields are rejected."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from tandem_shared.contracts import OrgKind, Sharing
from tandem_shared.patch import left_out_unless_sent

SUBSECTORS = frozenset(
    {
        "museum",
        "gallery",
        "theatre",
        "festival",
        "library",
        "archive",
        "heritage_site",
        "design",
        "architecture",
        "crafts",
        "fashion",
        "music",
        "film",
        "games",
        "ar_vr",
        "publishing",
        "advertising",
        "software",
        "manufacturing",
        "materials",
        "tourism",
        "education",
        "cluster",
        "chamber",
        "agency",
        "research",
        "media",
        "performing_arts",
        "visual_arts",
        "digitisation",
        "other",
    }
)
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_NUTS = re.compile(r"^[A-Z]{2}[A-Z0-9]{0,3}$")


def check_country(value: str) -> str:
    if not _COUNTRY.match(value):
        raise ValueError("country must be an ISO 3166-1 alpha-2 code such as PL or DE")
    return value


def check_languages(value: list[str]) -> list[str]:
    bad = [code for code in value if not _LANGUAGE.match(code)]
    if bad:
        raise ValueError(f"languages must be ISO 639-1 codes (two lower-case letters): {bad}")
    return list(dict.fromkeys(value))


def check_region(value: str | None) -> str | None:
    if value is not None and not _NUTS.match(value):
        raise ValueError("region must be a NUTS code such as PL82 or DED2")
    return value


Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TextItem(Strict):
    text: str = Field(
        min_length=1,
        max_length=1000,
        description="one offer or need in the organisation's own words; matched by meaning, "
        "across languages",
        examples=["3D digitisation of museum collections"],
    )
    tags: list[Tag] = Field(
        default_factory=list, max_length=10, description="free keywords", examples=[["3D"]]
    )


class Contact(Strict):
    """The organisation's contact person: personal data, erased with the profile."""

    name: str | None = Field(None, max_length=200, description="the contact person's name")
    email: EmailStr | None = Field(None, description="the contact person's email")
    phone: str | None = Field(
        None,
        max_length=40,
        pattern=r"^\+?[0-9 ()./-]{3,40}$",
        description="international format preferred",
        examples=["+48 17 853 52 78"],
    )


class ProfileIn(Strict):
    name: str = Field(
        min_length=1,
        max_length=200,
        description="the organisation's name",
        examples=["Muzeum Okręgowe w Rzeszowie"],
    )
    kind: OrgKind = Field(description="the organisation's sector")
    subsectors: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="finer sectors, from the registry's vocabulary",
        examples=[["museum"]],
    )
    description: str = Field("", max_length=5000, description="what the organisation does")
    offers: list[TextItem] = Field(
        default_factory=list, max_length=20, description="what it can give partners"
    )
    needs: list[TextItem] = Field(
        default_factory=list, max_length=20, description="what it looks for in partners"
    )
    looking_for: list[OrgKind] = Field(
        default_factory=list,
        max_length=7,
        description="the sectors of the partners it wants (empty: any)",
    )
    languages: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="ISO 639-1 codes of the languages its staff speak",
        examples=[["pl", "en"]],
    )
    country: str = Field(description="ISO 3166-1 alpha-2", examples=["PL"])
    region: str | None = Field(None, description="NUTS code", examples=["PL82"])
    city: str | None = Field(None, max_length=100, description="its city", examples=["Rzeszów"])
    website: AnyHttpUrl | None = Field(None, description="its web site")
    contact: Contact | None = Field(None, description="whom partners should contact")
    sharing: Sharing = Field(
        Sharing.HUB,
        description="who may see and match it: its own hub only, or every hub of the network",
    )
    external_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="the hub's own id for it, unique in the hub; imports update by it",
    )

    @field_validator("subsectors")
    @classmethod
    def _known_subsectors(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - SUBSECTORS)
        if unknown:
            raise ValueError(f"unknown subsectors {unknown}; allowed: {sorted(SUBSECTORS)}")
        return list(dict.fromkeys(value))

    @field_validator("languages")
    @classmethod
    def _iso_languages(cls, value: list[str]) -> list[str]:
        return check_languages(value)

    @field_validator("country")
    @classmethod
    def _iso_country(cls, value: str) -> str:
        return check_country(value)

    @field_validator("region")
    @classmethod
    def _nuts_region(cls, value: str | None) -> str | None:
        return check_region(value)


class ProfilePatch(ProfileIn):
    """A partial update: any subset of `ProfileIn`'s fields under the same rules. Only the
    fields sent are applied (`model_fields_set`); the required fields of `ProfileIn` may
    be left out here."""

    name: str = left_out_unless_sent(
        min_length=1, max_length=200, description="the organisation's name"
    )
    kind: OrgKind = left_out_unless_sent(description="the organisation's sector")
    country: str = left_out_unless_sent(description="ISO 3166-1 alpha-2")

    def changes(self) -> dict[str, Any]:
        """The sent fields as column values."""
        return self.model_dump(mode="json", include=self.model_fields_set)


class ProfileQuery(Strict):
    """Filters of `GET /v1/profiles`; every filter is optional and they combine with AND."""

    kind: OrgKind | None = None
    subsector: str | None = Field(None, description="one subsector of the vocabulary")
    country: str | None = Field(None, description="ISO 3166-1 alpha-2")
    q: str | None = Field(
        None, min_length=1, max_length=200, description="text in name, description, offers, needs"
    )
    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(20, ge=1, le=100)

    @field_validator("subsector")
    @classmethod
    def _known_subsector(cls, value: str | None) -> str | None:
        if value is not None and value not in SUBSECTORS:
            raise ValueError(f"unknown subsector; allowed: {sorted(SUBSECTORS)}")
        return value

    @field_validator("country")
    @classmethod
    def _iso_country(cls, value: str | None) -> str | None:
        return None if value is None else check_country(value)
