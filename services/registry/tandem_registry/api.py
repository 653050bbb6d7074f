"""The registry's HTTP API: thin routes that parse, call one service function, map the result."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from tandem_shared.auth import CurrentPrincipal, issue_token
from tandem_shared.runtime import DbSession, RuntimeDep

from tandem_registry import service
from tandem_registry.domain.profiles import ProfileIn

router = APIRouter(prefix="/v1")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class ProfileOut(ProfileIn):
    id: uuid.UUID
    hub: str
    version: int
    created_at: datetime
    updated_at: datetime


@router.post(
    "/auth/token",
    response_model=TokenOut,
    tags=["auth"],
    responses={401: {"description": "wrong email or password"}},
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: DbSession, runtime: RuntimeDep
) -> TokenOut:
    principal = await service.authenticate(session, form.username, form.password)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    settings = runtime.settings
    ttl = settings.token_ttl_minutes * 60
    access_token = issue_token(
        principal,
        secret=settings.jwt_secret.get_secret_value(),
        issuer=settings.jwt_issuer,
        ttl=timedelta(seconds=ttl),
    )
    return TokenOut(access_token=access_token, expires_in=ttl)


@router.post(
    "/profiles",
    response_model=ProfileOut,
    status_code=status.HTTP_201_CREATED,
    tags=["profiles"],
    responses={409: {"description": "external_id already used in this hub"}},
)
async def create_profile(
    profile: ProfileIn, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> dict[str, Any]:
    try:
        row = await service.create_profile(session, principal, profile, source=_source(runtime))
    except service.Conflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return service.public_view(row, principal)


@router.get(
    "/profiles/{profile_id}",
    response_model=ProfileOut,
    tags=["profiles"],
    responses={404: {"description": "no such profile visible to the caller"}},
)
async def read_profile(
    profile_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    try:
        row = await service.read_profile(session, principal, profile_id)
    except service.NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return service.public_view(row, principal)


def _source(runtime: RuntimeDep) -> str:
    return f"/tandem/registry/{runtime.settings.hub}"
