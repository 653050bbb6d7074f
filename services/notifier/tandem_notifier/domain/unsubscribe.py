"""One-click unsubscribe tokens (pure): who (hub, subject) stops which channel.

A token is a JWT (HMAC-SHA256) so that a forged or altered one is refused. It carries no
expiry: a link in a years-old email must still work (RFC 8058 mailbox providers call it
long after delivery). Rotating the notifier's unsubscribe secret revokes every link sent.
The key is derived from that secret with a fixed label and the token names its own
audience, so it can never pass as a bearer token even if an operator reuses a secret.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

import jwt

AUDIENCE = "tandem-notifier/unsubscribe"
_LABEL = b"tandem-notifier unsubscribe links v1"
_ALGORITHM = "HS256"
# The only channel a link can stop: the feed is the hub's shared inbox, not personal.
EMAIL: Literal["email"] = "email"


class InvalidToken(Exception):
    """Not a token this notifier signed (forged, altered, truncated or from a rotated key)."""


@dataclass(frozen=True)
class Unsubscribe:
    hub: str
    subject: str
    channel: Literal["email"] = EMAIL


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()


def sign(secret: str, request: Unsubscribe) -> str:
    """The token for `request`; the same request always gives the same token."""
    claims = {"aud": AUDIENCE, "hub": request.hub, "sub": request.subject, "stop": request.channel}
    return jwt.encode(claims, _key(secret), algorithm=_ALGORITHM)


def verify(secret: str, token: str) -> Unsubscribe:
    """The request a token stands for; raises InvalidToken unless we signed exactly it."""
    try:
        claims = jwt.decode(
            token,
            _key(secret),
            algorithms=[_ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["aud", "hub", "sub", "stop"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from error
    hub, subject, channel = claims["hub"], claims["sub"], claims["stop"]
    if not (isinstance(hub, str) and hub and isinstance(subject, str) and subject):
        raise InvalidToken("the token names no staff member")
    if channel != EMAIL:
        raise InvalidToken(f"the token stops an unknown channel {channel!r}")
    return Unsubscribe(hub=hub, subject=subject)
