"""Routes of the matcher's suggested meetings."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from tandem_events.api.common import READERS
from tandem_events.domain.suggestions import Suggestion
from tandem_events.service import suggestions as service
from tandem_shared.auth import CurrentPrincipal
from tandem_shared.runtime import DbSession

router = APIRouter(tags=["requests"])


class SuggestionOut(BaseModel):
    pair_id: str
    registration_a: uuid.UUID
    registration_b: uuid.UUID
    score: float


@router.get(
    "/events/{event_id}/suggestions",
    response_model=list[SuggestionOut],
    responses=READERS,
)
async def list_suggestions(
    event_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[Suggestion]:
    """The matcher's suggested meetings between participants of this event: all for the
    organiser, those of its own participants for a participant's hub."""
    return await service.list_suggestions(session, principal, event_id)
