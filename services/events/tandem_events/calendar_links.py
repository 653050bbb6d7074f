"""Signed, expiring calendar links: a calendar app subscribes to one participant's
`agenda.ics` by URL, without a bearer header.

The token is a signed link (`tandem_shared.signed_links`) under the events service's own
calendar-link secret, scoped to one registration of one event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

from tandem_shared import signed_links
from tandem_shared.errors import TandemError
from tandem_shared.signed_links import LinkSigner

__all__ = ["AUDIENCE", "InvalidLink", "sign", "verify"]

AUDIENCE = "tandem-events/agenda.ics"
_LABEL = b"tandem-events calendar links v1"


class InvalidLink(TandemError):
    """The link is not ours, expired, or for another agenda: 401, as a missing bearer token.
    Why exactly stays in `reason` (never told to the caller)."""

    status = HTTPStatus.UNAUTHORIZED

    def __init__(self, reason: str) -> None:
        super().__init__("the calendar link is invalid or expired")
        self.reason = reason


def _signer(secret: str) -> LinkSigner:
    return LinkSigner(secret=secret, audience=AUDIENCE, label=_LABEL)


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
    claims = {"evt": str(event_id), "sub": str(registration_id)}
    return _signer(secret).sign(claims, expires=expires, issued=issued), expires


def verify(secret: str, token: str, event_id: uuid.UUID, registration_id: uuid.UUID) -> None:
    """Raise InvalidLink unless `token` is ours, unexpired and for exactly this agenda."""
    try:
        claims = _signer(secret).verify(token, required=("exp", "sub", "evt"))
    except signed_links.InvalidLink as error:
        raise InvalidLink(str(error)) from error
    if (claims["evt"], claims["sub"]) != (str(event_id), str(registration_id)):
        raise InvalidLink("the link is for another agenda")
