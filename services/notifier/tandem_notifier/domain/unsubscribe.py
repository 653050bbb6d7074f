"""One-click unsubscribe tokens (pure): who (hub, subject) stops which channel.

A token is a signed link (`tandem_shared.signed_links`) under the notifier's unsubscribe
secret, so a forged or altered one is refused. It carries no expiry: a link in a years-old
email must still work (RFC 8058 mailbox providers call it long after delivery). Rotating
the notifier's unsubscribe secret revokes every link sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tandem_shared.signed_links import InvalidLink, LinkSigner

AUDIENCE = "tandem-notifier/unsubscribe"
_LABEL = b"tandem-notifier unsubscribe links v1"
# The only channel a link can stop: the feed is the hub's shared inbox, not personal.
EMAIL: Literal["email"] = "email"

# Not a token this notifier signed (forged, altered, truncated or from a rotated key).
InvalidToken = InvalidLink


@dataclass(frozen=True)
class Unsubscribe:
    hub: str
    subject: str
    channel: Literal["email"] = EMAIL


def _signer(secret: str) -> LinkSigner:
    return LinkSigner(secret=secret, audience=AUDIENCE, label=_LABEL)


def sign(secret: str, request: Unsubscribe) -> str:
    """The token for `request`; the same request always gives the same token."""
    claims = {"hub": request.hub, "sub": request.subject, "stop": request.channel}
    return _signer(secret).sign(claims)


def verify(secret: str, token: str) -> Unsubscribe:
    """The request a token stands for; raises InvalidToken unless we signed exactly it."""
    claims = _signer(secret).verify(token, required=("hub", "sub", "stop"))
    hub, subject, channel = claims["hub"], claims["sub"], claims["stop"]
    if not (isinstance(hub, str) and hub and isinstance(subject, str) and subject):
        raise InvalidToken("the token names no staff member")
    if channel != EMAIL:
        raise InvalidToken(f"the token stops an unknown channel {channel!r}")
    return Unsubscribe(hub=hub, subject=subject)
