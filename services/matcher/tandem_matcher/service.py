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
from tandem_matcher.domain.scoring import ProfileVectors, Scored, Weights, explain
from tandem_matcher.domain.topk import TopScores
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

# Match statuses. A rescore may update or withdraw a `suggested` pair; `accepted` and
# `partners` pairs are shown but never withdrawn by a rescore; `declined` and `withdrawn`
# are not shown.
SUGGESTED = "suggested"
ACCEPTED = "accepted"
PARTNER_STATUS = "partners"
DECLINED_STATUS = "declined"
WITHDRAWN = "withdrawn"
LISTED = (SUGGESTED, ACCEPTED, PARTNER_STATUS)
STICKY = (ACCEPTED, PARTNER_STATUS, DECLINED_STATUS)


@dataclass
class MatcherContext:
    index: ProfileIndex
    threshold: float
    top_k: int
    material_change: float
    source: str
    weights: Weights = field(default_factory=Weights)
    top: TopScores | None = None

    def __post_init__(self) -> None:
        if self.top is None:
            self.top = TopScores(self.top_k, on_kth=self.index.vectors.set_kth_best)

    @property
    def standing(self) -> TopScores:
        assert self.top is not None
        return self.top


class NotFound(Exception):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def _other(match: RowMapping, profile_id: str) -> str:
    return str(match["profile_b"] if str(match["profile_a"]) == profile_id else match["profile_a"])


async def load_index(session: AsyncSession, index: ProfileIndex) -> int:
    """Fill the index from the tables: profiles, active registrations, pair relations."""
    rows = await repository.all_profiles(session)
    for row in rows:
        index.put(await asyncio.to_thread(index.vectors_for, dict(row)))
    for registration in await repository.active_registrations(session):
        index.vectors.register(str(registration["event_id"]), str(registration["profile_id"]))
    for relation in await repository.all_relations(session):
        index.vectors.set_relation(
            str(relation["profile_a"]), str(relation["profile_b"]), relation["relation"]
        )
    return len(rows)


async def load_standing(session: AsyncSession, ctx: MatcherContext) -> int:
    """Every suggested pair's score, so each profile's k-th best is known at start."""
    rows = await repository.matches_with_status(session, (SUGGESTED,))
    for row in rows:
        ctx.standing.set(str(row["profile_a"]), str(row["profile_b"]), row["score"])
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
    await rescore(session, ctx, vectors)


async def rescore(
    session: AsyncSession,
    ctx: MatcherContext,
    profile: ProfileVectors,
    among: frozenset[str] | None = None,
) -> None:
    """Score `profile` against every candidate (one matrix product per direction) and bring
    its pairs up to date: review each standing pair, suggest new pairs in either side's
    top-k, then withdraw pairs the new ones pushed out of both top-ks. `among` restricts
    the changes to those candidates (an event's participants)."""
    table = ctx.index.vectors.score(profile, ctx.weights)
    mine = table.top_ids(ctx.top_k, ctx.threshold)
    existing = {
        _other(match, profile.id): match
        for match in await repository.matches_of(session, uuid.UUID(profile.id), active_only=False)
    }
    if among is not None:
        existing = {other: match for other, match in existing.items() if other in among}
    raised: set[str] = set()
    for other, match in existing.items():
        if match["status"] != SUGGESTED:
            continue  # sticky (accepted, partners, declined) or history (withdrawn)
        if await _review(session, ctx, profile, table.for_id(other), match, mine):
            raised.add(other)
    for result in table.either_side_top(ctx.top_k, ctx.threshold):
        other = result.candidate.id
        current = existing.get(other)
        if (among is not None and other not in among) or (
            current is not None and current["status"] != WITHDRAWN
        ):
            continue
        await _store(session, ctx, profile, result, current)
        raised.add(other)
    await _withdraw_displaced(session, ctx, profile.id, raised)


async def _review(
    session: AsyncSession,
    ctx: MatcherContext,
    profile: ProfileVectors,
    result: Scored | None,
    match: RowMapping,
    mine: set[str],
) -> bool:
    """Keep, update or withdraw a standing suggested pair; True if it stays."""
    if result is None:
        await _withdraw(session, ctx, match, reason="no longer visible to each other")
        return False
    if result.blocked is not None:
        await _withdraw(session, ctx, match, reason=f"known relation: {result.blocked}")
        return False
    if result.score < ctx.threshold:
        await _withdraw(session, ctx, match, reason="score fell below the threshold")
        return False
    other = result.candidate.id
    ctx.standing.set(profile.id, other, result.score)
    if other not in mine and not ctx.standing.in_top_k(other, profile.id):
        await _withdraw(session, ctx, match, reason="out of both profiles' top-k")
        return False
    await _store(session, ctx, profile, result, match)
    return True


async def _withdraw_displaced(
    session: AsyncSession, ctx: MatcherContext, profile_id: str, raised: set[str]
) -> None:
    """A pair that entered B's top-k pushes B's former k-th pair (B, C) out of it; that
    pair stays only while it is still in C's top-k."""
    for b in raised:
        for c in ctx.standing.outside_top_k(b):
            if c == profile_id or ctx.standing.in_top_k(c, b):
                continue
            match = await repository.get_match(session, pair_id(b, c))
            if match is not None and match["status"] == SUGGESTED:
                await _withdraw(session, ctx, match, reason="out of both profiles' top-k")
            else:
                ctx.standing.remove(b, c)


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


def _material(ctx: MatcherContext, current: RowMapping | None, result: Scored) -> bool:
    if current is None or current["status"] == WITHDRAWN:
        return True
    event_id = str(current["event_id"]) if current["event_id"] else None
    return abs(current["score"] - result.score) >= ctx.material_change or (
        event_id != result.event_id
    )


async def _store(
    session: AsyncSession,
    ctx: MatcherContext,
    profile: ProfileVectors,
    result: Scored,
    current: RowMapping | None,
) -> None:
    """Suggest a new (or withdrawn) pair, or update a standing one on a material change."""
    ctx.standing.set(profile.id, result.candidate.id, result.score)
    if not _material(ctx, current, result):
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
        event_id=uuid.UUID(result.event_id) if result.event_id else None,
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
        "status": SUGGESTED,
        "event_id": data.event_id,
        "updated_at": _now(),
    }
    envelope = {"source": ctx.source, "subject": data.pair_id, "hub": data.hub_a, "data": data}
    if current is None:
        await repository.insert_match(session, {"pair_id": data.pair_id, **values})
        message: MatchSuggested | MatchUpdated = MatchSuggested(**envelope)
    elif current["status"] == WITHDRAWN:
        await repository.update_match(session, data.pair_id, values)
        message = MatchSuggested(**envelope)
    else:
        await repository.update_match(session, data.pair_id, values)
        message = MatchUpdated(**envelope)
    await enqueue(session, bus, topic=MATCHES.name, key=data.pair_id, message=message)


async def _withdraw(
    session: AsyncSession,
    ctx: MatcherContext,
    match: RowMapping,
    *,
    reason: str,
    status: str = WITHDRAWN,
) -> None:
    version = match["version"] + 1
    ctx.standing.remove(str(match["profile_a"]), str(match["profile_b"]))
    await repository.update_match(
        session, match["pair_id"], {"status": status, "version": version, "updated_at": _now()}
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
        if match["status"] not in (WITHDRAWN, DECLINED_STATUS):
            await _withdraw(session, ctx, match, reason="profile erased")
        # The compacted topic then forgets the pair entirely.
        await enqueue_tombstone(session, bus, topic=MATCHES.name, key=match["pair_id"])
    await repository.forget_profile(session, profile_id)
    ctx.standing.forget(str(profile_id))
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
