"""Trusted issuers: whose tokens a service accepts, for which hubs, and how their claims
become a `Principal`.

A caller's hub comes only from its issuer: a token whose hub is not one of its issuer's
hubs is refused, and `network_admin` is accepted only from an issuer flagged `network`.
Another hub's registry, or a hub's own identity provider (Keycloak, Entra ID), plugs in as
one more entry; its claim names are mapped per issuer (defaults: `sub`, `hub`, `role`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tandem_shared.identity.jwks import StaticKeys
from tandem_shared.identity.keys import KeyProblem, load_public_key, public_jwk
from tandem_shared.identity.principal import ROLE_RANK, InvalidToken, Principal, Role

ANY_HUB = "*"
DEFAULT_AUDIENCE = "tandem"


class TrustedIssuer(BaseModel):
    """One entry of `TANDEM_TRUSTED_ISSUERS` (a JSON list of these)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1, description="the `iss` its tokens carry, exactly")
    hubs: list[str] = Field(
        min_length=1,
        description='the hubs it may speak for; "*" is any hub (a one-hub deployment\'s own '
        "registry, or tests)",
    )
    network: bool = Field(False, description="it is the network's issuer: may grant network_admin")
    audience: str = Field(DEFAULT_AUDIENCE, min_length=1, description="the `aud` required")
    jwks_url: str | None = Field(None, description="where its JWKS is fetched (and cached)")
    jwks: dict[str, Any] | None = Field(None, description="a static JWKS: its public keys")
    public_keys: list[str] = Field(
        default_factory=list, description="static public keys, PEM (an alternative to `jwks`)"
    )
    subject_claim: str = Field("sub", min_length=1, description="dotted path of the subject")
    hub_claim: str | None = Field(
        "hub", description="dotted path of the hub; null: the issuer's only hub"
    )
    role_claim: str = Field("role", min_length=1, description="dotted path; a string or a list")
    roles: dict[str, Role] = Field(
        default_factory=dict,
        description="the identity provider's role names → Tandem roles; empty: Tandem's own "
        "names (staff, hub_admin, network_admin)",
    )
    cache_seconds: float = Field(300.0, gt=0, description="a fetched JWKS is fresh this long")
    stale_seconds: float = Field(
        3600.0, ge=0, description="and is still used this long after, while refreshing fails"
    )
    refresh_interval_seconds: float = Field(
        30.0, ge=0, description="at most one refetch per interval for an unknown `kid`"
    )

    @field_validator("hubs")
    @classmethod
    def _named_hubs(cls, hubs: list[str]) -> list[str]:
        if any(not hub.strip() for hub in hubs):
            raise ValueError("a hub name is empty")
        return hubs

    @field_validator("jwks_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("jwks_url must be an http(s) URL")
        return url

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        sources = [self.jwks_url is not None, self.jwks is not None, bool(self.public_keys)]
        if sum(sources) != 1:
            raise ValueError(
                f"issuer {self.issuer}: give exactly one of jwks_url, jwks, public_keys"
            )
        if self.hub_claim is None and (len(self.hubs) != 1 or ANY_HUB in self.hubs):
            raise ValueError(
                f"issuer {self.issuer}: without hub_claim it must name exactly one hub"
            )
        try:
            static = self.static_jwks()
            if static is not None:
                StaticKeys(static)
        except KeyProblem as error:
            raise ValueError(f"issuer {self.issuer}: {error}") from error
        return self

    def static_jwks(self) -> list[dict[str, Any]] | None:
        """Its keys as JWKs when they are configured here, None when they are fetched."""
        if self.jwks is not None:
            keys = self.jwks.get("keys")
            return [key for key in keys if isinstance(key, dict)] if isinstance(keys, list) else []
        if self.public_keys:
            return [public_jwk(load_public_key(pem.encode())) for pem in self.public_keys]
        return None

    def speaks_for(self, hub: str) -> bool:
        return ANY_HUB in self.hubs or hub in self.hubs

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        """The caller a verified token of this issuer stands for, or InvalidToken."""
        subject = _text(claims, self.subject_claim)
        hub = self.hubs[0] if self.hub_claim is None else _text(claims, self.hub_claim)
        if not self.speaks_for(hub):
            raise InvalidToken(f"issuer {self.issuer} does not speak for hub {hub!r}")
        role = self._role(_claim(claims, self.role_claim))
        if role is Role.NETWORK_ADMIN and not self.network:
            raise InvalidToken(f"issuer {self.issuer} is not the network's: no network_admin")
        return Principal(subject=subject, hub=hub, role=role)

    def _role(self, value: object) -> Role:
        """The highest Tandem role among the claim's values (a string or a list of them)."""
        names = value if isinstance(value, list) else [value]
        roles = {self._map_role(name) for name in names if isinstance(name, str)}
        granted = [role for role in ROLE_RANK if role in roles]
        if not granted:
            raise InvalidToken(f"claim {self.role_claim!r} grants no Tandem role")
        return granted[-1]

    def _map_role(self, name: str) -> Role | None:
        if self.roles:
            return self.roles.get(name)
        return next((role for role in Role if role.value == name), None)


def _claim(claims: Mapping[str, Any], path: str) -> object:
    """The value at a dotted path (`realm_access.roles`), or InvalidToken if absent."""
    value: object = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise InvalidToken(f"the token has no {path!r} claim")
        value = value[part]
    return value


def _text(claims: Mapping[str, Any], path: str) -> str:
    value = _claim(claims, path)
    if not isinstance(value, str) or not value.strip():
        raise InvalidToken(f"claim {path!r} is not a non-empty string")
    return value
