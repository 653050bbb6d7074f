"""JWTs: issued by the registry, verified by every service with the shared key.

A token carries the staff member's hub and role; services use it to scope reads and to
make sure a token only ever writes its own hub's data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

ALGORITHM = "HS256"


class Role(StrEnum):
    STAFF = "staff"
    HUB_ADMIN = "hub_admin"
    NETWORK_ADMIN = "network_admin"


class Principal(BaseModel):
    subject: str
    hub: str
    role: Role

    def may_read_hub(self, hub: str) -> bool:
        return self.role is Role.NETWORK_ADMIN or self.hub == hub

    def may_write_hub(self, hub: str) -> bool:
        # Writes are always scoped to the token's own hub, whatever the role.
        return self.hub == hub


def issue_token(
    principal: Principal, *, secret: str, issuer: str, ttl: timedelta = timedelta(hours=8)
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": principal.subject,
        "hub": principal.hub,
        "role": principal.role.value,
        "iss": issuer,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class InvalidToken(Exception):
    pass


def verify_token(token: str, *, secret: str, issuer: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            leeway=timedelta(seconds=30),  # tolerate small clock skew between services
            issuer=issuer,
            options={"require": ["exp", "sub", "iss"]},
        )
        return Principal(subject=claims["sub"], hub=claims["hub"], role=Role(claims["role"]))
    except (jwt.PyJWTError, KeyError, ValueError, ValidationError) as error:
        raise InvalidToken(str(error)) from error


_bearer = HTTPBearer(auto_error=False, description="A JWT from the registry's POST /v1/auth/token")


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the verified caller, or 401."""
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "a valid bearer token is required",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None:
        raise unauthorized
    settings = request.app.state.runtime.settings
    try:
        return verify_token(
            credentials.credentials,
            secret=settings.jwt_secret.get_secret_value(),
            issuer=settings.jwt_issuer,
        )
    except InvalidToken as error:
        raise unauthorized from error


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
