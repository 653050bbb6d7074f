"""Signed links: a URL that grants one narrow thing without a bearer token (a calendar app
subscribing to one agenda, a mail provider's one-click unsubscribe).

The token in such a link is a JWT (HMAC-SHA256) under a service's own link secret, never a
token key: bearer tokens are asymmetric and verified only against trusted issuers, so a
link token can never pass as a bearer token, nor the reverse. The HMAC key is derived from
the secret with a fixed label per kind of link, and the token names its own audience, so
one kind of link cannot pass as another even if an operator reuses a secret."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt

_ALGORITHM = "HS256"


class InvalidLink(Exception):
    """Not a link this service signed for this purpose: forged, altered, truncated, expired,
    or signed with a rotated secret."""


@dataclass(frozen=True)
class LinkSigner:
    """Signs and verifies one kind of link (`audience`) with a service's link secret."""

    secret: str = field(repr=False)
    audience: str
    label: bytes  # fixed per kind of link; changing it revokes every link already sent

    def _key(self) -> bytes:
        return hmac.new(self.secret.encode(), self.label, hashlib.sha256).digest()

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        expires: datetime | None = None,
        issued: datetime | None = None,
    ) -> str:
        """A token for `claims`; with `expires`, it carries `iat` and `exp`. Without a clock
        in it, the same claims always give the same token."""
        payload: dict[str, Any] = {"aud": self.audience, **claims}
        if expires is not None:
            payload |= {"iat": issued or datetime.now(UTC), "exp": expires}
        return jwt.encode(payload, self._key(), algorithm=_ALGORITHM)

    def verify(self, token: str, *, required: Iterable[str]) -> dict[str, Any]:
        """The claims of a token we signed for this audience (unexpired if it expires),
        having every `required` claim; InvalidLink otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key(),
                algorithms=[_ALGORITHM],
                audience=self.audience,
                options={"require": ["aud", *required]},
            )
        except jwt.PyJWTError as error:
            raise InvalidLink(str(error)) from error
        return claims
