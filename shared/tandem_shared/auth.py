"""Who is calling: the FastAPI dependency that verifies a request's bearer token against
the issuers this service trusts (`TANDEM_TRUSTED_ISSUERS`; see `tandem_shared.identity`).

A token carries the staff member's hub and role; services use them to scope reads and to
make sure a token only ever writes its own hub's data. The hub and role are believed only
as far as the token's issuer is trusted for them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tandem_shared.identity.principal import InvalidToken, KeysUnavailable, Principal, Role
from tandem_shared.identity.tokens import TokenVerifier
from tandem_shared.logging import get_logger

__all__ = ["CurrentPrincipal", "InvalidToken", "Principal", "Role", "current_principal"]

log = get_logger(__name__)

_bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from a trusted issuer, e.g. the registry's POST /v1/auth/token",
)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the verified caller, or 401 (503 while a trusted issuer's keys
    cannot be fetched)."""
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "a valid bearer token is required",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None:
        raise unauthorized
    verifier: TokenVerifier = request.app.state.runtime.verifier
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidToken as error:
        log.info("auth.refused", reason=str(error))
        raise unauthorized from error
    except KeysUnavailable as error:
        log.warning("auth.keys_unavailable", reason=str(error))
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the token's issuer cannot be reached to check it; try again shortly",
            headers={"Retry-After": "30"},
        ) from error


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
