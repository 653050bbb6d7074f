"""What the API reads: a profile's listed matches, one match, the learned weights; each
only as far as the caller may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import repository
from tandem_matcher.domain import learning
from tandem_matcher.domain.pairs import MatchStatus
from tandem_matcher.repository import MatchRow, ProfileSharing
from tandem_matcher.service.context import MatcherContext
from tandem_shared.auth import Principal, Role
from tandem_shared.errors import Forbidden, NotFound


@dataclass(frozen=True)
class ListedMatch:
    """One of a profile's matches, seen from that profile."""

    pair_id: str
    profile_id: uuid.UUID  # the other profile of the pair
    score: float
    components: dict[str, float]
    explanation: dict[str, Any]
    status: MatchStatus
    event_id: uuid.UUID | None


@dataclass(frozen=True)
class WeightsView:
    configured: dict[str, float]
    current: dict[str, float]
    bounds: dict[str, float]
    learning_rate: float


def _may_see(principal: Principal, profile: ProfileSharing) -> bool:
    return principal.may_read_hub(profile.hub) or profile.sharing == "network"


async def matches_for(
    session: AsyncSession, principal: Principal, profile_id: uuid.UUID, limit: int
) -> list[ListedMatch]:
    """The profile's listed matches, best first, each with a partner the caller may see."""
    profile = (await repository.sharing_of(session, [profile_id])).get(profile_id)
    if profile is None or not _may_see(principal, profile):
        raise NotFound("profile not found")
    rows = await repository.matches_of(session, profile_id)
    others = await repository.sharing_of(session, [row.other(profile_id) for row in rows])
    visible = [
        row
        for row in rows
        if (other := others.get(row.other(profile_id))) is not None and _may_see(principal, other)
    ]
    return [_listed(row, profile_id) for row in visible[:limit]]


def _listed(row: MatchRow, profile_id: uuid.UUID) -> ListedMatch:
    return ListedMatch(
        pair_id=row.pair_id,
        profile_id=row.other(profile_id),
        score=row.score,
        components=row.components,
        explanation=row.explanation,
        status=row.status,
        event_id=row.event_id,
    )


async def visible_match(session: AsyncSession, principal: Principal, pair: str) -> MatchRow:
    """The match, if both its profiles are visible to the caller; NotFound otherwise (the
    same answer for unknown and hidden, so existence does not leak)."""
    match = await repository.get_match(session, pair)
    if match is None:
        raise NotFound("match not found")
    members = await repository.sharing_of(session, [match.profile_a, match.profile_b])
    if len(members) != 2 or not all(_may_see(principal, row) for row in members.values()):
        raise NotFound("match not found")
    return match


def weights_view(ctx: MatcherContext, principal: Principal) -> WeightsView:
    if principal.role is not Role.NETWORK_ADMIN:
        raise Forbidden("only a network admin may read the learned weights")
    return WeightsView(
        configured=ctx.configured_weights.as_dict(),
        current=ctx.weights.as_dict(),
        bounds={"lower": learning.LOWER, "upper": learning.UPPER},
        learning_rate=ctx.learning_rate,
    )
