"""The matcher's HTTP API: a profile's matches, one match, feedback, learned weights."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from tandem_matcher import service
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.runtime import DbSession, RuntimeDep

router = APIRouter(prefix="/v1")

PairId = Annotated[
    str,
    Path(
        max_length=80,
        pattern=r"^[0-9a-f-]{36}:[0-9a-f-]{36}$",
        description="min(a,b):max(a,b) of the two profile ids",
    ),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown, or not visible to the caller"}
}


class MatchOut(BaseModel):
    pair_id: str
    profile_id: uuid.UUID = Field(description="the other profile of the pair")
    score: float
    components: dict[str, float]
    explanation: dict[str, Any]
    status: str = Field(description="suggested, accepted or partners")
    event_id: uuid.UUID | None = None


class MatchesOut(BaseModel):
    profile_id: uuid.UUID
    matches: list[MatchOut]


class MatchDetail(BaseModel):
    pair_id: str
    profile_a: uuid.UUID
    profile_b: uuid.UUID
    hub_a: str
    hub_b: str
    version: int
    score: float
    components: dict[str, float]
    explanation: dict[str, Any]
    status: str = Field(description="suggested, accepted, partners, declined or withdrawn")
    event_id: uuid.UUID | None = None


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    outcome: Literal["accepted", "declined", "met", "agreement"]
    reason: str | None = Field(None, max_length=500, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _reason_when_declined(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("outcome") == "declined" and not value:
            raise ValueError("a reason is required when declining")
        return value or None


class FeedbackOut(BaseModel):
    id: uuid.UUID
    pair_id: str
    outcome: str
    reason: str | None
    given_by: str
    hub: str
    created_at: datetime
    status: str = Field(description="the match's status after the feedback")


class WeightsOut(BaseModel):
    configured: dict[str, float]
    current: dict[str, float]
    bounds: dict[str, float]
    learning_rate: float


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
    found = await service.matches_for(session, principal, profile_id, limit)
    return {"profile_id": profile_id, "matches": found}


@router.get("/matches/{pair_id}", response_model=MatchDetail, tags=["matches"], responses=NOT_FOUND)
async def get_match(pair_id: PairId, principal: CurrentPrincipal, session: DbSession) -> Any:
    return await service.visible_match(session, principal, pair_id)


@router.post(
    "/matches/{pair_id}/feedback",
    response_model=FeedbackOut,
    status_code=status.HTTP_201_CREATED,
    tags=["matches"],
    responses={**NOT_FOUND, 403: {"description": "the caller's hub is not part of the pair"}},
)
async def give_feedback(
    pair_id: PairId,
    body: FeedbackIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> Any:
    ctx: service.MatcherContext = runtime.state["matcher"]
    return await service.record_feedback(
        session, ctx, principal, pair_id, body.outcome, body.reason
    )


@router.get(
    "/weights",
    response_model=WeightsOut,
    tags=["weights"],
    responses={403: {"description": "network admins only"}},
)
async def weights(principal: CurrentPrincipal, runtime: RuntimeDep) -> Any:
    return service.weights_view(runtime.state["matcher"], principal)
