"""The verified caller of a request, and the reasons a token is refused."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class Role(StrEnum):
    STAFF = "staff"
    HUB_ADMIN = "hub_admin"
    NETWORK_ADMIN = "network_admin"


# Lowest first: when an identity provider gives several roles, the highest one counts.
ROLE_RANK = (Role.STAFF, Role.HUB_ADMIN, Role.NETWORK_ADMIN)


class Principal(BaseModel):
    subject: str
    hub: str
    role: Role

    def may_read_hub(self, hub: str) -> bool:
        return self.role is Role.NETWORK_ADMIN or self.hub == hub

    def may_write_hub(self, hub: str) -> bool:
        # Writes are always scoped to the token's own hub, whatever the role.
        return self.hub == hub


class InvalidToken(Exception):
    """The token proves nothing: forged, expired, not for us, or from an issuer we do not
    trust for what it claims (answered 401)."""


class KeysUnavailable(Exception):
    """The token's issuer is trusted but its keys cannot be fetched now (answered 503: the
    caller may retry; the token itself may be fine)."""
