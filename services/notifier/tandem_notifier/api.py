"""The notifier's HTTP API: the in-app feed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.runtime import DbSession

from tandem_notifier import service

router = APIRouter(prefix="/v1")


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    subject: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class FeedOut(BaseModel):
    items: list[NotificationOut]
    total: int
    page: int
    per_page: int


@router.get("/notifications", response_model=FeedOut, tags=["feed"])
async def notifications(
    principal: CurrentPrincipal,
    session: DbSession,
    unread: Annotated[bool, Query(description="only unread ones")] = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    return await service.feed(session, principal, unread_only=unread, page=page, per_page=per_page)


@router.post(
    "/notifications/{notification_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["feed"],
    responses={404: {"description": "no such notification for this hub"}},
)
async def mark_read(
    notification_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> None:
    if not await service.mark_read(session, principal, notification_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "notification not found")
