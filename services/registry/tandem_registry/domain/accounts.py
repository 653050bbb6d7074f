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


MIN_ADMIN_PASSWORD = 12
MIN_DISTINCT_CHARACTERS = 6
# Words a guesser tries first; a first admin's password must contain none of them.
GUESSED_WORDS = ("password", "passwort", "haslo", "geslo", "qwerty", "123456", "letmein")
PLACEHOLDERS = ("change-me", "changeme", "tandem-dev")


def weak_admin_password(password: str, *, email: str, hub: str) -> str | None:
    """Why a first admin's password is too weak for production, or None when it is not."""
    lowered = password.lower()
    if len(password) < MIN_ADMIN_PASSWORD:
        return f"must have at least {MIN_ADMIN_PASSWORD} characters"
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        return f"must have at least {MIN_DISTINCT_CHARACTERS} different characters"
    if any(word in lowered for word in (*PLACEHOLDERS, *GUESSED_WORDS)):
        return "must not be a placeholder, the dev default or contain a common password"
    own_words = [email.lower().split("@")[0], hub.lower()]
    if any(len(word) >= 3 and word in lowered for word in own_words):
        return "must not contain the account's name or the hub's id"
    return None
