"""Matcher use cases: keep the projection and index current, rescore incrementally, and
publish match.suggested / match.updated / match.withdrawn through the outbox."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import repository
from tandem_matcher.domain.scoring import ProfileVectors, Scored, ScoreTable, Weights, explain
from tandem_matcher.index import ProfileIndex
from tandem_matcher.tables import bus
from tandem_shared.auth import Principal
from tandem_shared.bus.outbox import enqueue, enqueue_tombstone
from tandem_shared.contracts import (
    MATCHES,
    MatchData,
    MatchExplanation,
    MatchSuggested,
    MatchUpdated,
    MatchWithdrawn,
    MatchWithdrawnData,
    ProfileErased,
    ProfileUpserted,
    TextPair,
    pair_id,
)


@dataclass
class MatcherContext:
    index: ProfileIndex
    threshold: float
    top_k: int
    material_change: float
    source: str
    weights: Weights = field(default_factory=Weights)


class NotFound(Exception):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


async def load_index(session: AsyncSession, index: ProfileIndex) -> int:
    rows = await repository.all_profiles(session)
    for row in rows:
        index.put(await asyncio.to_thread(index.vectors_for, dict(row)))
    return len(rows)


async def on_profile_upserted(
    session: AsyncSession, message: ProfileUpserted, ctx: MatcherContext
) -> None:
    data = message.data
    if not await repository.project_profile(session, data):
        return  # stale or repeated version
    row = {**data.model_dump(mode="json"), "id": data.id}
    vectors = await asyncio.to_thread(ctx.index.vectors_for, row)
    ctx.index.put(vectors)
    table = ctx.index.vectors.score(vectors, ctx.weights)
    existing = {m["pair_id"]: m for m in await repository.matches_of(session, data.id)}
    suggested = table.top(ctx.top_k, min_score=ctx.threshold)
    for result in suggested:
        key = pair_id(data.id, result.candidate.id)
        await _suggest_or_update(session, ctx, vectors, result, existing.pop(key, None))
    for match in existing.values():
        await _review_existing(session, ctx, vectors, table, match)


async def _review_existing(
    session: AsyncSession,
    ctx: MatcherContext,
    profile: ProfileVectors,
    table: ScoreTable,
    match: RowMapping,
) -> None:
    """A standing match outside the profile's top-k stays while it still qualifies."""
    other = str(match["profile_b"] if str(match["profile_a"]) == profile.id else match["profile_a"])
    result = table.for_id(other)
    if result is None:
        await _withdraw(session, ctx, match, reason="no longer visible to each other")
    elif result.score < ctx.threshold:
        await _withdraw(session, ctx, match, reason="score fell below the threshold")
    else:
        await _suggest_or_update(session, ctx, profile, result, match)


def _oriented(profile: ProfileVectors, result: Scored) -> dict[str, Any]:
    """Put the scored pair in pair order (a = the smaller id)."""
    candidate = result.candidate
    components = dict(result.components)
    first_is_profile = profile.id < candidate.id
    names = (profile.name, candidate.name) if first_is_profile else (candidate.name, profile.name)
    a_need, b_need = (
        (result.best_a_need, result.best_b_need)
        if first_is_profile
        else (result.best_b_need, result.best_a_need)
    )
    if not first_is_profile:
        components["a_needs_b_offers"], components["b_needs_a_offers"] = (
            components["b_needs_a_offers"],
            components["a_needs_b_offers"],
        )
    summary_source = (
        result if first_is_profile else Scored(candidate, result.score, components, a_need, b_need)
    )
    explanation = MatchExplanation(
        summary=explain(names[0], names[1], summary_source),
        a_needs_b_offers=TextPair(need=a_need[0], offer=a_need[1], similarity=a_need[2])
        if a_need
        else None,
        b_needs_a_offers=TextPair(need=b_need[0], offer=b_need[1], similarity=b_need[2])
        if b_need
        else None,
    )
    return {"components": components, "explanation": explanation}


async def _suggest_or_update(
    session: AsyncSession,
    ctx: MatcherContext,
    profile: ProfileVectors,
    result: Scored,
    current: RowMapping | None,
) -> None:
    unchanged = (
        current is not None
        and current["status"] != "withdrawn"
        and (abs(current["score"] - result.score) < ctx.material_change)
    )
    if unchanged:
        return
    hubs = {profile.id: profile.hub, result.candidate.id: result.candidate.hub}
    a, b = sorted(hubs)
    oriented = _oriented(profile, result)
    version = 1 if current is None else current["version"] + 1
    data = MatchData(
        pair_id=pair_id(a, b),
        profile_a=uuid.UUID(a),
        profile_b=uuid.UUID(b),
        hub_a=hubs[a],
        hub_b=hubs[b],
        version=version,
        score=result.score,
        components=oriented["components"],
        explanation=oriented["explanation"],
    )
    values = {
        "profile_a": data.profile_a,
        "profile_b": data.profile_b,
        "hub_a": data.hub_a,
        "hub_b": data.hub_b,
        "version": version,
        "score": data.score,
        "components": data.components,
        "explanation": data.explanation.model_dump(mode="json"),
        "status": "suggested",
        "updated_at": _now(),
    }
    if current is None:
        await repository.insert_match(session, {"pair_id": data.pair_id, **values})
        message: MatchSuggested | MatchUpdated = MatchSuggested(
            source=ctx.source, subject=data.pair_id, hub=data.hub_a, data=data
        )
    else:
        await repository.update_match(session, data.pair_id, values)
        message = MatchUpdated(source=ctx.source, subject=data.pair_id, hub=data.hub_a, data=data)
    await enqueue(session, bus, topic=MATCHES.name, key=data.pair_id, message=message)


async def _withdraw(
    session: AsyncSession, ctx: MatcherContext, match: RowMapping, *, reason: str
) -> None:
    version = match["version"] + 1
    await repository.update_match(
        session, match["pair_id"], {"status": "withdrawn", "version": version, "updated_at": _now()}
    )
    data = MatchWithdrawnData(
        pair_id=match["pair_id"],
        profile_a=match["profile_a"],
        profile_b=match["profile_b"],
        hub_a=match["hub_a"],
        hub_b=match["hub_b"],
        version=version,
        reason=reason,
    )
    await enqueue(
        session,
        bus,
        topic=MATCHES.name,
        key=data.pair_id,
        message=MatchWithdrawn(source=ctx.source, subject=data.pair_id, hub=data.hub_a, data=data),
    )


async def on_profile_erased(
    session: AsyncSession, message: ProfileErased, ctx: MatcherContext
) -> None:
    profile_id = message.data.id
    for match in await repository.matches_of(session, profile_id, active_only=False):
        if match["status"] != "withdrawn":
            await _withdraw(session, ctx, match, reason="profile erased")
        # The compacted topic then forgets the pair entirely.
        await enqueue_tombstone(session, bus, topic=MATCHES.name, key=match["pair_id"])
    await repository.delete_matches_of(session, profile_id)
    await repository.delete_profile(session, profile_id)
    ctx.index.remove(str(profile_id))


async def matches_for(
    session: AsyncSession, principal: Principal, profile_id: uuid.UUID, limit: int
) -> list[dict[str, Any]]:
    profile = await repository.get_profile(session, profile_id)
    if profile is None or not (
        principal.may_read_hub(profile["hub"]) or profile["sharing"] == "network"
    ):
        raise NotFound("profile not found")
    rows = await repository.matches_of(session, profile_id)
    return [_match_view(row, profile_id) for row in rows[:limit]]


def _match_view(row: RowMapping, profile_id: uuid.UUID) -> dict[str, Any]:
    other = row["profile_b"] if row["profile_a"] == profile_id else row["profile_a"]
    return {
        "pair_id": row["pair_id"],
        "profile_id": other,
        "score": row["score"],
        "components": row["components"],
        "explanation": row["explanation"],
        "status": row["status"],
    }
