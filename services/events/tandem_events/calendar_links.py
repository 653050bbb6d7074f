"""Signed, expiring calendar links: a calendar app subscribes to one participant's
`agenda.ics` by URL, without a bearer header.

The token is a JWT (HMAC-SHA256) scoped to one registration of one event. Its key is
derived from the service's JWT secret with a fixed label, so a calendar token can never
pass as a bearer token (or the reverse), and it carries its own audience besides."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import jwt

from tandem_shared.errors import TandemError

AUDIENCE = "tandem-events/agenda.ics"
_LABEL = b"tandem-events calendar links v1"
_ALGORITHM = "HS256"


class InvalidLink(TandemError):
    """The link is not ours, expired, or for another agenda: 401, as a missing bearer token.
    Why exactly stays in `reason` (never told to the caller)."""

    status = HTTPStatus.UNAUTHORIZED

    def __init__(self, reason: str) -> None:
        super().__init__("the calendar link is invalid or expired")
        self.reason = reason


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()


def sign(
    secret: str,
    event_id: uuid.UUID,
    registration_id: uuid.UUID,
    *,
    valid_for: timedelta,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A token for the registration's agenda and the moment it expires."""
    issued = now or datetime.now(UTC)
    expires = issued + valid_for
    claims = {
        "aud": AUDIENCE,
        "evt": str(event_id),
        "sub": str(registration_id),
        "iat": issued,
        "exp": expires,
    }
    return jwt.encode(claims, _key(secret), algorithm=_ALGORITHM), expires


def verify(secret: str, token: str, event_id: uuid.UUID, registration_id: uuid.UUID) -> None:
    """Raise InvalidLink unless `token` is ours, unexpired and for exactly this agenda."""
    try:
        claims = jwt.decode(
            token,
            _key(secret),
            algorithms=[_ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud", "evt"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidLink(str(error)) from error
    if (claims["evt"], claims["sub"]) != (str(event_id), str(registration_id)):
        raise InvalidLink("the link is for another agenda")
