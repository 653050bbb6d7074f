"""Bearer tokens: a registry issues them signed with its private key (`kid`, `iss`, `aud`);
every service verifies them against the issuers it trusts, with public keys only.

Verification refuses (InvalidToken): an unknown issuer, an algorithm that is not an
asymmetric one or not the one of the key the token names (`none`, HS256 with a public key
as the secret: algorithm confusion), a bad signature, a wrong audience, an expired token,
and a hub or role its issuer may not grant (see `TrustedIssuer.principal`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from jwt import PyJWTError

from tandem_shared.identity.issuers import DEFAULT_AUDIENCE, TrustedIssuer
from tandem_shared.identity.jwks import Fetch, JwksCache, KeySource, StaticKeys
from tandem_shared.identity.keys import ACCEPTED_ALGORITHMS, SigningKey
from tandem_shared.identity.principal import InvalidToken, Principal

LEEWAY = timedelta(seconds=30)  # tolerate small clock skew between issuer and services


def issue_token(
    principal: Principal,
    *,
    key: SigningKey,
    issuer: str,
    audience: str = DEFAULT_AUDIENCE,
    ttl: timedelta = timedelta(hours=8),
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": principal.subject,
        "hub": principal.hub,
        "role": principal.role.value,
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})


class TokenVerifier:
    """The issuers a service trusts, each with where its keys come from."""

    def __init__(self) -> None:
        self._issuers: dict[str, tuple[TrustedIssuer, KeySource]] = {}

    @classmethod
    def for_issuers(cls, issuers: Sequence[TrustedIssuer], fetch: Fetch) -> TokenVerifier:
        """Static keys as configured; JWKS URLs fetched with `fetch` when first needed."""
        verifier = cls()
        for issuer in issuers:
            static = issuer.static_jwks()
            if static is not None:
                verifier.trust(issuer, StaticKeys(static))
            elif issuer.jwks_url is not None:
                verifier.trust(issuer, _cache(issuer.jwks_url, issuer, fetch))
        return verifier

    def trust(self, issuer: TrustedIssuer, keys: KeySource) -> None:
        """Trust `issuer` with `keys`, replacing any earlier entry for the same `iss`."""
        self._issuers[issuer.issuer] = (issuer, keys)

    def trusted(self, issuer: str) -> TrustedIssuer | None:
        entry = self._issuers.get(issuer)
        return entry[0] if entry else None

    async def verify(self, token: str) -> Principal:
        """The caller `token` proves; InvalidToken (or KeysUnavailable) otherwise."""
        header, unverified = _unverified(token)
        algorithm = header.get("alg")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
        issuer = unverified.get("iss")
        entry = self._issuers.get(issuer) if isinstance(issuer, str) else None
        if entry is None:
            raise InvalidToken(f"issuer {issuer!r} is not trusted")
        trusted, keys = entry
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the key id is not a string")
        key = await keys.key(kid)
        if key.algorithm_name != algorithm:
            raise InvalidToken(f"the token says {algorithm}, its key is {key.algorithm_name}")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=trusted.audience,
                issuer=trusted.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except PyJWTError as error:
            raise InvalidToken(str(error)) from error
        return trusted.principal(claims)


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims before any check: only to find the issuer and key to check with."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except PyJWTError as error:
        raise InvalidToken(str(error)) from error
    return header, claims


def _cache(url: str, issuer: TrustedIssuer, fetch: Fetch) -> JwksCache:
    return JwksCache(
        url,
        fetch,
        fresh_for=issuer.cache_seconds,
        stale_for=issuer.stale_seconds,
        refresh_interval=issuer.refresh_interval_seconds,
    )
