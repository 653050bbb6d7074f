"""The matcher's HTTP API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from tandem_matcher import service
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.runtime import DbSession

router = APIRouter(prefix="/v1")


class MatchOut(BaseModel):
    pair_id: str
    profile_id: uuid.UUID
    score: float
    components: dict[str, float]
    explanation: dict[str, Any]
    status: str


class MatchesOut(BaseModel):
    profile_id: uuid.UUID
    matches: list[MatchOut]


@router.get(
    "/profiles/{profile_id}/matches",
    response_model=MatchesOut,
    tags=["matches"],
    responses={404: {"description": "no such profile visible to the caller"}},
)
async def profile_matches(
    profile_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    try:
        found = await service.matches_for(session, principal, profile_id, limit)
    except service.NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return {"profile_id": profile_id, "matches": found}
