"""What staff and meetings say about a pair: feedback (accepted, declined, met,
agreement) and meeting outcomes change the pair's status and relation, and nudge the
learned weights."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import repository
from tandem_matcher.domain import learning
from tandem_matcher.domain.pairs import LISTED, STICKY, MatchStatus, Relation
from tandem_matcher.repository import FeedbackRow, MatchRow
from tandem_matcher.service.context import MatcherContext, now
from tandem_matcher.service.queries import visible_match
from tandem_matcher.service.replicas import begin
from tandem_matcher.service.rescoring import withdraw
from tandem_matcher.service.writer import MatchWriter
from tandem_shared.auth import Principal
from tandem_shared.bus.consumer import PoisonMessage
from tandem_shared.contracts import MeetingOutcomeRecorded, pair_id
from tandem_shared.errors import Forbidden
from tandem_shared.logging import get_logger

log = get_logger(__name__)

# Meeting outcomes that make the pair partners.
MET = ("held", "follow_up", "agreement")


@dataclass(frozen=True)
class RecordedFeedback(FeedbackRow):
    status: MatchStatus  # the match's status after the feedback


async def record_feedback(
    session: AsyncSession,
    ctx: MatcherContext,
    principal: Principal,
    pair: str,
    outcome: str,
    reason: str | None,
) -> RecordedFeedback:
    """Store staff feedback on a pair and apply it: declined → withdrawn and never
    suggested again; met/agreement → already partners; accepted → kept. Every outcome
    nudges the learned weights."""
    ctx = await begin(session, ctx)
    match = await visible_match(session, principal, pair)
    if not (principal.may_write_hub(match.hub_a) or principal.may_write_hub(match.hub_b)):
        raise Forbidden("only staff of the pair's hubs may give feedback")
    row = FeedbackRow(
        id=uuid.uuid4(),
        pair_id=pair,
        outcome=outcome,
        reason=reason,
        given_by=principal.subject,
        hub=principal.hub,
        created_at=now(),
    )
    await repository.add_feedback(session, row)
    if outcome == "declined":
        await _decline(session, ctx, match, reason or "")
        status = MatchStatus.DECLINED
    elif outcome in ("met", "agreement"):
        status = MatchStatus.PARTNERS
        await _mark(session, ctx, match, status)
    else:
        status = match.status if match.status in STICKY else MatchStatus.ACCEPTED
        await _mark(session, ctx, match, status)
    signal = learning.FEEDBACK_SIGNALS[outcome]
    await _learn(session, ctx, dict(match.components), signal, pair)
    return RecordedFeedback(**row.columns(), status=status)


async def on_meeting_outcome(
    session: AsyncSession, message: MeetingOutcomeRecorded, ctx: MatcherContext
) -> None:
    data = message.data
    try:
        _pair_members(data.pair_id)
    except ValueError as error:
        raise PoisonMessage(str(error)) from error
    outcome = data.outcome.value
    ctx = await begin(session, ctx)
    if not await repository.claim_outcome(session, data.id, data.pair_id, outcome, data.version):
        return  # this meeting's outcome was already learned from
    match = await repository.get_match(session, data.pair_id)
    if outcome in MET:
        if match is not None and match.status != MatchStatus.DECLINED:
            await _mark(session, ctx, match, MatchStatus.PARTNERS)
        elif match is None:
            await _relate(session, ctx, data.pair_id, Relation.PARTNERS)
    if match is not None:
        signal = learning.meeting_signal(outcome, data.rating)
        await _learn(session, ctx, dict(match.components), signal, data.pair_id)


def _pair_members(pair: str) -> tuple[uuid.UUID, uuid.UUID]:
    first, _, second = pair.partition(":")
    a, b = uuid.UUID(first), uuid.UUID(second)
    if pair_id(a, b) != pair or a == b:
        raise ValueError(f"not a pair id: {pair!r}")
    return a, b


async def _relate(
    session: AsyncSession, ctx: MatcherContext, pair: str, relation: Relation
) -> None:
    a, b = _pair_members(pair)
    await repository.set_relation(session, pair, a, b, relation, now())
    ctx.later(lambda: ctx.index.vectors.set_relation(str(a), str(b), relation))
    ctx.record("relation", a=str(a), b=str(b), relation=relation.value)
    ctx.standing.remove(str(a), str(b))


async def _decline(
    session: AsyncSession, ctx: MatcherContext, match: MatchRow, reason: str
) -> None:
    await _relate(session, ctx, match.pair_id, Relation.DECLINED)
    if match.status in LISTED:
        writer = MatchWriter(ctx.hub)
        withdraw(writer, ctx, match, reason=f"declined: {reason}", status=MatchStatus.DECLINED)
        await writer.flush(session)
    else:
        await repository.set_status(session, match.pair_id, MatchStatus.DECLINED, at=None)


async def _mark(
    session: AsyncSession, ctx: MatcherContext, match: MatchRow, status: MatchStatus
) -> None:
    if status == MatchStatus.PARTNERS:
        await _relate(session, ctx, match.pair_id, Relation.PARTNERS)
    else:
        ctx.standing.remove(str(match.profile_a), str(match.profile_b))
    await repository.set_status(session, match.pair_id, status, at=now())


async def _learn(
    session: AsyncSession,
    ctx: MatcherContext,
    components: dict[str, float],
    signal: learning.Signal,
    pair: str,
) -> None:
    before = ctx.weights
    after = learning.nudge(
        before, ctx.configured_weights, components, signal.direction, ctx.learning_rate
    )
    if after == before:
        return
    await repository.save_learned(session, after.as_dict(), now())
    ctx.learned(after)
    ctx.record("weights")
    log.info(
        "matcher.weights_learned",
        pair_id=pair,
        why=signal.why,
        change=learning.changes(before, after),
    )
