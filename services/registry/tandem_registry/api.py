"""The registry's HTTP API: thin routes that parse, call one service function, map the result."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from tandem_registry import service
from tandem_registry.domain import export, imports
from tandem_registry.domain.profiles import ProfileIn, ProfilePatch, ProfileQuery, TextItem
from tandem_registry.passwords import Passwords
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.identity.keys import KeyRing
from tandem_shared.identity.tokens import issue_token
from tandem_shared.runtime import DbSession, RuntimeDep
from tandem_shared.throttle import AttemptThrottle, login_keys, login_throttle

router = APIRouter(prefix="/v1")
well_known = APIRouter(prefix="/.well-known")
_NOT_VISIBLE: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such profile visible to the caller"}
}
_NOT_OWN: dict[int | str, dict[str, Any]] = {
    403: {"description": "the profile belongs to another hub"},
    **_NOT_VISIBLE,
}


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class TextItemOut(TextItem):
    language: str | None = Field(None, description="detected ISO 639-1 language of the text")


class ProfileOut(ProfileIn):
    offers: list[TextItemOut] = Field(default_factory=list, max_length=20)  # type: ignore[assignment]
    needs: list[TextItemOut] = Field(default_factory=list, max_length=20)  # type: ignore[assignment]
    description_language: str | None = Field(
        None, description="detected ISO 639-1 language of the description"
    )
    id: uuid.UUID
    hub: str
    version: int
    created_at: datetime
    updated_at: datetime


class ProfilePageOut(BaseModel):
    items: list[ProfileOut]
    total: int
    page: int
    per_page: int


@router.post(
    "/auth/token",
    response_model=TokenOut,
    tags=["auth"],
    responses={
        401: {"description": "wrong email or password"},
        429: {"description": "too many failed attempts for the account or address"},
    },
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: DbSession,
    runtime: RuntimeDep,
    request: Request,
) -> TokenOut:
    throttle: AttemptThrottle = runtime.state.setdefault("login-throttle", login_throttle())
    keys = login_keys(form.username, request.client.host if request.client else None)
    throttle.check(keys)
    passwords = Passwords(runtime.settings.password_cost)
    principal = await service.authenticate(session, passwords, form.username, form.password)
    if principal is None:
        throttle.failed(keys)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle.succeeded(keys)
    settings = runtime.settings
    ttl = settings.token_ttl_minutes * 60
    ring: KeyRing = runtime.state["key_ring"]
    access_token = issue_token(
        principal,
        key=ring.signing,
        issuer=settings.issuer,
        audience=settings.token_audience,
        ttl=timedelta(seconds=ttl),
    )
    return TokenOut(access_token=access_token, expires_in=ttl)


class JwksOut(BaseModel):
    keys: list[dict[str, Any]]


@well_known.get(
    "/jwks.json",
    response_model=JwksOut,
    tags=["auth"],
    summary="The public keys this registry's tokens are signed with (JWKS)",
)
async def jwks(runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    """The signing key's public half, and any other key still (or already) published
    during a rotation. Services that trust this registry fetch and cache it."""
    ring: KeyRing = runtime.state["key_ring"]
    response.headers["Cache-Control"] = "public, max-age=300"
    return ring.jwks()


@router.post(
    "/profiles",
    response_model=ProfileOut,
    status_code=status.HTTP_201_CREATED,
    tags=["profiles"],
    responses={409: {"description": "external_id already used in this hub"}},
)
async def create_profile(
    profile: ProfileIn, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    created = await service.create_profile(session, principal, profile)
    return service.public_view(created, principal)


_IMPORT_TYPES = {
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "text/csv": "csv",
}
MAX_IMPORT_BYTES = 50 * 1024 * 1024


class RowErrorOut(BaseModel):
    row: int
    field: str
    reason: str


class ImportReportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    errors: list[RowErrorOut]


async def _import_body(request: Request) -> tuple[bytes, str]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = _IMPORT_TYPES.get(media_type)
    if fmt is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"send one of {sorted(_IMPORT_TYPES)}"
        )
    if int(request.headers.get("content-length") or 0) > MAX_IMPORT_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "at most 50 MB per import")
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "at most 50 MB per import")
    return body, fmt


@router.post(
    "/profiles:import",
    response_model=ImportReportOut,
    tags=["profiles"],
    responses={
        413: {"description": "the body is larger than 50 MB"},
        415: {"description": "not JSON, JSON lines or CSV"},
        409: {"description": "a concurrent request created some of the profiles; retry"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": imports.__doc__,
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": {"$ref": "#/components/schemas/ProfileIn"}}
                },
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_profiles(
    request: Request, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """Create or update the caller's hub's profiles by `external_id` (required on every
    row): unknown -> created, changed -> updated (next version, one message), identical ->
    unchanged. Bad rows are reported as `{row, field, reason}`; the good rows go in."""
    body, fmt = await _import_body(request)
    parsed = imports.parse_import(body, fmt)
    counts = await service.import_profiles(
        session, principal, [profile for _, profile in parsed.rows]
    )
    return {**asdict(counts), "errors": imports.format_errors(parsed.errors)}


@router.get("/profiles", response_model=ProfilePageOut, tags=["profiles"])
async def list_profiles(
    filters: Annotated[ProfileQuery, Query()], principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """The caller's hub's profiles and other hubs' network-shared ones (a network_admin
    sees all), oldest first; other hubs' contact details are withheld."""
    return await service.list_profiles(session, principal, filters)


@router.get(
    "/profiles/export",
    response_class=Response,
    tags=["profiles"],
    responses={200: {"content": {"text/csv": {}}, "description": export.__doc__}},
)
async def export_profiles(principal: CurrentPrincipal, session: DbSession) -> Response:
    """The caller's own hub's profiles as CSV (columns documented in the response)."""
    return Response(
        await service.export_profiles(session, principal),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="profiles-{principal.hub}.csv"'},
    )


@router.get(
    "/profiles/{profile_id}", response_model=ProfileOut, tags=["profiles"], responses=_NOT_VISIBLE
)
async def read_profile(
    profile_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    found = await service.read_profile(session, principal, profile_id)
    return service.public_view(found, principal)


@router.patch(
    "/profiles/{profile_id}",
    response_model=ProfileOut,
    tags=["profiles"],
    responses={**_NOT_OWN, 409: {"description": "external_id already used in this hub"}},
)
async def update_profile(
    profile_id: uuid.UUID,
    patch: ProfilePatch,
    principal: CurrentPrincipal,
    session: DbSession,
) -> dict[str, Any]:
    """Change the fields sent (same rules as on creation); each real change gets the next
    version and one `profile.upserted`."""
    updated = await service.update_profile(session, principal, profile_id, patch)
    return service.public_view(updated, principal)


@router.delete(
    "/profiles/{profile_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["profiles"],
    responses=_NOT_OWN,
)
async def erase_profile(
    profile_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> None:
    """GDPR erasure: the profile and its personal data are removed, the erasure is logged
    (who, when) and `profile.erased` then a tombstone are published."""
    await service.erase_profile(session, principal, profile_id)
