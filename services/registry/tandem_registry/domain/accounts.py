"""Hubs and staff accounts as the admin CLI accepts them (pure: pydantic only)."""

from __future__ import annotations

from pydantic import EmailStr, Field, SecretStr, field_validator

from tandem_registry.domain.profiles import Strict, check_country, check_languages, check_region
from tandem_shared.auth import Role


class HubIn(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="slug: a-z, 0-9, -")
    name: str = Field(min_length=1, max_length=200)
    country: str
    region: str | None = None
    languages: list[str] = Field(default_factory=list, max_length=20)

    _country = field_validator("country")(check_country)
    _region = field_validator("region")(check_region)
    _languages = field_validator("languages")(check_languages)


class StaffIn(Strict):
    hub: str = Field(min_length=1, max_length=64)
    email: EmailStr = Field(max_length=254)
    password: SecretStr = Field(min_length=8, max_length=200)
    role: Role = Role.STAFF


class PasswordIn(Strict):
    password: SecretStr = Field(min_length=8, max_length=200)
