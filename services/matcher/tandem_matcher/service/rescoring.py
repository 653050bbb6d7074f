"""Rescoring: bring one profile's pairs up to date with its scores against every
candidate, keeping a pair while it is in either profile's top-k (`domain.topk`), and stage
the resulting suggestions, updates and withdrawals in a `MatchWriter`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import repository
from tandem_matcher.domain.pairs import MatchStatus
from tandem_matcher.domain.scoring import ProfileVectors, Scored, ScoreTable
from tandem_matcher.repository import MatchRow
from tandem_matcher.service.context import MatcherContext, now
from tandem_matcher.service.writer import MatchWriter
from tandem_shared.contracts import pair_id


async def rescore(
    session: AsyncSession,
    ctx: MatcherContext,
    profile: ProfileVectors,
    among: frozenset[str] | None = None,
) -> None:
    """Score `profile` against every candidate (one matrix product per direction) and bring
    its pairs up to date (`apply_scores`)."""
    table = ctx.index.vectors.score(profile, ctx.weights, at=now())
    await apply_scores(session, ctx, profile, table, among)


def score_block(ctx: MatcherContext, profiles: Sequence[ProfileVectors]) -> Iterator[ScoreTable]:
    """Score a block of profiles at once (one matrix-matrix product per direction) with the
    weights and time `rescore` uses; tables come one at a time, in order."""
    return ctx.index.vectors.score_block(profiles, ctx.weights, at=now())


async def apply_scores(
    session: AsyncSession,
    ctx: MatcherContext,
    profile: ProfileVectors,
    table: ScoreTable,
    among: frozenset[str] | None = None,
) -> None:
    """Bring `profile`'s pairs up to date with its scores (`table`, from `VectorIndex.score`
    or `score_block`): review each standing pair, suggest new pairs in either side's
    top-k, then withdraw pairs the new ones pushed out of both top-ks; rows are written and
    messages enqueued in the outbox together. `ctx` is the transaction's view
    (`ctx.begin(session)`); `among` restricts the changes to those candidates (an event's
    participants)."""
    mine = table.top_ids(ctx.top_k, ctx.threshold)
    own_id = uuid.UUID(profile.id)
    existing = {
        str(match.other(own_id)): match
        for match in await repository.matches_of(session, own_id, listed_only=False)
    }
    if among is not None:
        existing = {other: match for other, match in existing.items() if other in among}
    writer = MatchWriter(ctx.hub)
    raised: set[str] = set()
    for other, match in existing.items():
        if match.status != MatchStatus.SUGGESTED:
            continue  # sticky (accepted, partners, declined) or history (withdrawn)
        if _review(writer, ctx, profile, table.for_id(other), match, mine):
            raised.add(other)
    for result in table.either_side_top(ctx.top_k, ctx.threshold):
        other = result.candidate.id
        current = existing.get(other)
        if (among is not None and other not in among) or (
            current is not None and current.status != MatchStatus.WITHDRAWN
        ):
            continue
        _store(writer, ctx, profile, result, current)
        raised.add(other)
    await _withdraw_displaced(session, writer, ctx, profile.id, raised)
    await writer.flush(session)


def _review(
    writer: MatchWriter,
    ctx: MatcherContext,
    profile: ProfileVectors,
    result: Scored | None,
    match: MatchRow,
    mine: set[str],
) -> bool:
    """Keep, update or withdraw a standing suggested pair; True if it stays."""
    if result is None:
        withdraw(writer, ctx, match, reason="no longer visible to each other")
        return False
    if result.blocked is not None:
        withdraw(writer, ctx, match, reason=f"known relation: {result.blocked}")
        return False
    if result.score < ctx.threshold:
        withdraw(writer, ctx, match, reason="score fell below the threshold")
        return False
    other = result.candidate.id
    ctx.standing.set(profile.id, other, result.score)
    if other not in mine and not ctx.standing.in_top_k(other, profile.id):
        withdraw(writer, ctx, match, reason="out of both profiles' top-k")
        return False
    _store(writer, ctx, profile, result, match)
    return True


async def _withdraw_displaced(
    session: AsyncSession,
    writer: MatchWriter,
    ctx: MatcherContext,
    profile_id: str,
    raised: set[str],
) -> None:
    """A pair that entered B's top-k pushes B's former k-th pair (B, C) out of it; that
    pair stays only while it is still in C's top-k. The candidate pairs are read in one
    query (withdrawals only lower k-th bests, so the first list is a superset)."""
    displaced = {b: ctx.standing.outside_top_k(b) for b in sorted(raised)}
    stored = await repository.matches_by_pair(
        session, [pair_id(b, c) for b, cs in displaced.items() for c in cs if c != profile_id]
    )
    for b, candidates in displaced.items():
        for c in candidates:
            if c == profile_id or ctx.standing.in_top_k(c, b):
                continue
            pair = pair_id(b, c)
            match = stored.get(pair)
            if (
                match is not None
                and match.status == MatchStatus.SUGGESTED
                and not writer.staged(pair)
            ):
                withdraw(writer, ctx, match, reason="out of both profiles' top-k")
            else:
                ctx.standing.remove(b, c)


def _material(ctx: MatcherContext, current: MatchRow | None, result: Scored) -> bool:
    """Whether the result changes what the pair's suggestion says (score or event)."""
    if current is None or current.status == MatchStatus.WITHDRAWN:
        return True
    event_id = str(current.event_id) if current.event_id else None
    return abs(current.score - result.score) >= ctx.material_change or (event_id != result.event_id)


def _store(
    writer: MatchWriter,
    ctx: MatcherContext,
    profile: ProfileVectors,
    result: Scored,
    current: MatchRow | None,
) -> None:
    """Suggest a new (or withdrawn) pair, or update a standing one on a material change."""
    ctx.standing.set(profile.id, result.candidate.id, result.score)
    if _material(ctx, current, result):
        writer.suggest(profile, result, current)


def withdraw(
    writer: MatchWriter,
    ctx: MatcherContext,
    match: MatchRow,
    *,
    reason: str,
    status: MatchStatus = MatchStatus.WITHDRAWN,
) -> None:
    """Withdraw the pair (`status` withdrawn or declined): it leaves the standing scores."""
    ctx.standing.remove(str(match.profile_a), str(match.profile_b))
    writer.withdraw(match, reason=reason, status=status)
