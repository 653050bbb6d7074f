"""Matcher use cases: keep the projection and index current, rescore incrementally, and
publish match.suggested / match.updated / match.withdrawn through the outbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import repository
from tandem_matcher.domain import learning
from tandem_matcher.domain.scoring import (
    DECLINED,
    PARTNERS,
    EventState,
    ProfileVectors,
    Scored,
    ScoreTable,
    Weights,
    explain,
)
from tandem_matcher.domain.topk import StagedTopScores, TopScores
from tandem_matcher.index import ProfileIndex
from tandem_matcher.tables import bus
from tandem_shared.auth import Principal, Role
from tandem_shared.bus.consumer import PoisonMessage
from tandem_shared.bus.outbox import enqueue_many, enqueue_tombstone
from tandem_shared.contracts import (
    MATCHES,
    Envelope,
    EventCancelled,
    EventCancelledData,
    EventScheduled,
    EventUpdated,
    MatchData,
    MatchExplanation,
    MatchSuggested,
    MatchUpdated,
    MatchWithdrawn,
    MatchWithdrawnData,
    MeetingOutcomeRecorded,
    ProfileErased,
    ProfileUpserted,
    RegistrationCreated,
    RegistrationWithdrawn,
    TextPair,
    pair_id,
)
from tandem_shared.logging import get_logger

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
    """The matcher's shared in-memory state (index, standing scores, weights) and settings.

    A use case works on `ctx.begin(session)`: a view that reads the shared state plus its
    own changes, which reach the shared state only after the session's transaction
    committed. A rolled-back transaction (a failing outbox write, a message retried or
    dead-lettered) leaves the shared state exactly as the tables are."""

    index: ProfileIndex
    threshold: float
    top_k: int
    material_change: float
    source: str
    weights: Weights = field(default_factory=Weights)
    top: TopScores | None = None
    configured: Weights | None = None  # the weights learning is bounded around
    learning_rate: float = 0.0
    parent: MatcherContext | None = None  # set on a transaction's view
    _on_commit: list[Callable[[], None]] = field(default_factory=list)
    _on_rollback: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.top is None:
            self.top = TopScores(self.top_k, on_kth=self.index.vectors.set_kth_best)
        if self.configured is None:
            self.configured = self.weights

    @property
    def standing(self) -> TopScores:
        assert self.top is not None
        return self.top

    @property
    def configured_weights(self) -> Weights:
        assert self.configured is not None
        return self.configured

    def begin(self, session: AsyncSession) -> MatcherContext:
        """This context as the session's current transaction sees it."""
        view = replace(
            self, top=self.standing.staged(), parent=self, _on_commit=[], _on_rollback=[]
        )
        after_transaction(session, committed=view._committed, rolled_back=view._rolled_back)
        return view

    def later(self, change: Callable[[], None]) -> None:
        """Change the shared state once the transaction committed (at once outside one)."""
        if self.parent is None:
            change()
        else:
            self._on_commit.append(change)

    def now(self, change: Callable[[], None], undo: Callable[[], None]) -> None:
        """Change the shared state at once (the transaction's own reads need it) and undo
        the change if the transaction rolls back."""
        change()
        if self.parent is not None:
            self._on_rollback.append(undo)

    def learned(self, weights: Weights) -> None:
        self.weights = weights
        if self.parent is not None:
            parent = self.parent
            self.later(lambda: setattr(parent, "weights", weights))

    def _committed(self) -> None:
        # Index changes first: the standing scores' k-th bests are written into its slots.
        for change in self._on_commit:
            change()
        if isinstance(self.top, StagedTopScores):
            self.top.apply()

    def _rolled_back(self) -> None:
        for undo in reversed(self._on_rollback):
            undo()


def after_transaction(
    session: AsyncSession, *, committed: Callable[[], None], rolled_back: Callable[[], None]
) -> None:
    """Run `committed` after the session's transaction commits, or `rolled_back` after it
    rolls back, whichever comes first (once)."""
    done = False

    def once(action: Callable[[], None]) -> Callable[..., None]:
        def listener(*_: Any) -> None:
            nonlocal done
            if not done:
                done = True
                action()

        return listener

    event.listen(session.sync_session, "after_commit", once(committed), once=True)
    event.listen(session.sync_session, "after_soft_rollback", once(rolled_back), once=True)


log = get_logger(__name__)


class NotFound(Exception):
    pass


class Forbidden(Exception):
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
    for event_row in await repository.all_events(session):
        index.vectors.set_event(str(event_row["id"]), _event_state(event_row))
    for registration in await repository.active_registrations(session):
        index.vectors.register(str(registration["event_id"]), str(registration["profile_id"]))
    for relation in await repository.all_relations(session):
        index.vectors.set_relation(
            str(relation["profile_a"]), str(relation["profile_b"]), relation["relation"]
        )
    return len(rows)


async def load_standing(session: AsyncSession, ctx: MatcherContext) -> int:
    """Every suggested pair's score, so each profile's k-th best is known at start, and
    the weights learned so far."""
    rows = await repository.matches_with_status(session, (SUGGESTED,))
    for row in rows:
        ctx.standing.set(str(row["profile_a"]), str(row["profile_b"]), row["score"])
    learned = await repository.learned(session)
    if learned:
        ctx.weights = Weights(**{**ctx.configured_weights.as_dict(), **learned})
    return len(rows)


async def on_profile_upserted(
    session: AsyncSession, message: ProfileUpserted, ctx: MatcherContext
) -> None:
    data = message.data
    if not await repository.project_profile(session, data):
        return  # stale or repeated version
    ctx = ctx.begin(session)
    row = {**data.model_dump(mode="json"), "id": data.id}
    vectors = await asyncio.to_thread(ctx.index.vectors_for, row)
    # Scoring takes the new vectors from `vectors`; the index gets them after commit.
    ctx.later(lambda: ctx.index.put(vectors))
    await rescore(session, ctx, vectors)


@dataclass
class _Writes:
    """The match rows and messages one use case produces, written together at the end:
    one multi-row upsert and one outbox insert, instead of a SELECT, an UPDATE and an
    outbox row (plus its NOTIFY) per pair."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: list[tuple[str, Envelope]] = field(default_factory=list)

    def add(self, row: dict[str, Any], message: Envelope) -> None:
        self.rows[row["pair_id"]] = row
        self.messages.append((row["pair_id"], message))

    async def flush(self, session: AsyncSession) -> None:
        await repository.upsert_matches(session, list(self.rows.values()))
        await enqueue_many(session, bus, topic=MATCHES.name, messages=self.messages)
        self.rows, self.messages = {}, []


async def rescore(
    session: AsyncSession,
    ctx: MatcherContext,
    profile: ProfileVectors,
    among: frozenset[str] | None = None,
) -> None:
    """Score `profile` against every candidate (one matrix product per direction) and bring
    its pairs up to date (`apply_scores`)."""
    table = ctx.index.vectors.score(profile, ctx.weights, at=_now())
    await apply_scores(session, ctx, profile, table, among)


def score_block(ctx: MatcherContext, profiles: Sequence[ProfileVectors]) -> Iterator[ScoreTable]:
    """Score a block of profiles at once (one matrix-matrix product per direction) with the
    weights and time `rescore` uses; tables come one at a time, in order."""
    return ctx.index.vectors.score_block(profiles, ctx.weights, at=_now())


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
    existing = {
        _other(match, profile.id): match
        for match in await repository.matches_of(session, uuid.UUID(profile.id), active_only=False)
    }
    if among is not None:
        existing = {other: match for other, match in existing.items() if other in among}
    writes = _Writes()
    raised: set[str] = set()
    for other, match in existing.items():
        if match["status"] != SUGGESTED:
            continue  # sticky (accepted, partners, declined) or history (withdrawn)
        if _review(writes, ctx, profile, table.for_id(other), match, mine):
            raised.add(other)
    for result in table.either_side_top(ctx.top_k, ctx.threshold):
        other = result.candidate.id
        current = existing.get(other)
        if (among is not None and other not in among) or (
            current is not None and current["status"] != WITHDRAWN
        ):
            continue
        _store(writes, ctx, profile, result, current)
        raised.add(other)
    await _withdraw_displaced(session, writes, ctx, profile.id, raised)
    await writes.flush(session)


def _review(
    writes: _Writes,
    ctx: MatcherContext,
    profile: ProfileVectors,
    result: Scored | None,
    match: RowMapping,
    mine: set[str],
) -> bool:
    """Keep, update or withdraw a standing suggested pair; True if it stays."""
    if result is None:
        _withdraw(writes, ctx, match, reason="no longer visible to each other")
        return False
    if result.blocked is not None:
        _withdraw(writes, ctx, match, reason=f"known relation: {result.blocked}")
        return False
    if result.score < ctx.threshold:
        _withdraw(writes, ctx, match, reason="score fell below the threshold")
        return False
    other = result.candidate.id
    ctx.standing.set(profile.id, other, result.score)
    if other not in mine and not ctx.standing.in_top_k(other, profile.id):
        _withdraw(writes, ctx, match, reason="out of both profiles' top-k")
        return False
    _store(writes, ctx, profile, result, match)
    return True


async def _withdraw_displaced(
    session: AsyncSession, writes: _Writes, ctx: MatcherContext, profile_id: str, raised: set[str]
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
            if match is not None and match["status"] == SUGGESTED and pair not in writes.rows:
                _withdraw(writes, ctx, match, reason="out of both profiles' top-k")
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


def _store(
    writes: _Writes,
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
    row = {
        "pair_id": data.pair_id,
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
    fresh = current is None or current["status"] == WITHDRAWN
    message = MatchSuggested(**envelope) if fresh else MatchUpdated(**envelope)
    writes.add(row, message)


def _withdraw(
    writes: _Writes,
    ctx: MatcherContext,
    match: RowMapping,
    *,
    reason: str,
    status: str = WITHDRAWN,
) -> None:
    version = match["version"] + 1
    ctx.standing.remove(str(match["profile_a"]), str(match["profile_b"]))
    row = {**match, "status": status, "version": version, "updated_at": _now()}
    data = MatchWithdrawnData(
        pair_id=match["pair_id"],
        profile_a=match["profile_a"],
        profile_b=match["profile_b"],
        hub_a=match["hub_a"],
        hub_b=match["hub_b"],
        version=version,
        reason=reason,
    )
    writes.add(
        row, MatchWithdrawn(source=ctx.source, subject=data.pair_id, hub=data.hub_a, data=data)
    )


async def on_profile_erased(
    session: AsyncSession, message: ProfileErased, ctx: MatcherContext
) -> None:
    profile_id = message.data.id
    ctx = ctx.begin(session)
    writes = _Writes()
    pairs = []
    for match in await repository.matches_of(session, profile_id, active_only=False):
        if match["status"] not in (WITHDRAWN, DECLINED_STATUS):
            _withdraw(writes, ctx, match, reason="profile erased")
        pairs.append(match["pair_id"])
    await enqueue_many(session, bus, topic=MATCHES.name, messages=writes.messages)
    # The compacted topic then forgets each pair entirely.
    for pair in pairs:
        await enqueue_tombstone(session, bus, topic=MATCHES.name, key=pair)
    await repository.forget_profile(session, profile_id)
    ctx.standing.forget(str(profile_id))
    ctx.later(lambda: ctx.index.remove(str(profile_id)))


# ------------------------------------------------------------------ registrations


async def on_registration(
    session: AsyncSession,
    message: RegistrationCreated | RegistrationWithdrawn,
    ctx: MatcherContext,
) -> None:
    """Co-registration changed: rescore the profile within the event's participants."""
    data = message.data
    active = isinstance(message, RegistrationCreated)
    if not await repository.project_registration(session, data, active=active, at=message.time):
        return  # stale or repeated
    ctx = ctx.begin(session)
    event_id, profile_id = str(data.event_id), str(data.profile_id)
    vectors = ctx.index.vectors
    was_registered = event_id in vectors.events_of(profile_id)
    if active:
        ctx.now(
            lambda: vectors.register(event_id, profile_id),
            lambda: None if was_registered else vectors.unregister(event_id, profile_id),
        )
    elif not await repository.registered(session, data.event_id, data.profile_id):
        ctx.now(
            lambda: vectors.unregister(event_id, profile_id),
            lambda: vectors.register(event_id, profile_id) if was_registered else None,
        )
    profile = ctx.index.get(profile_id)
    if profile is None:
        return  # the profile's own upsert will score it with this registration
    participants = ctx.index.vectors.participants(event_id) - {profile_id}
    await rescore(session, ctx, profile, among=participants)


def _event_state(row: RowMapping) -> EventState:
    ends_at = row["ends_at"]
    if ends_at is not None and ends_at.tzinfo is None:  # SQLite drops the zone; it was UTC
        ends_at = ends_at.replace(tzinfo=UTC)
    return EventState(ends_at, row["cancelled"])


async def on_event(
    session: AsyncSession,
    message: EventScheduled | EventUpdated | EventCancelled,
    ctx: MatcherContext,
) -> None:
    """An event was scheduled, moved or cancelled: if that changes whether co-registration
    at it counts, rescore its participants' pairs among themselves."""
    data = message.data
    cancelled = isinstance(message, EventCancelled)
    ends_at = None if isinstance(data, EventCancelledData) else data.ends_at
    if not await repository.project_event(
        session, data.id, data.version, ends_at=ends_at, cancelled=cancelled, at=message.time
    ):
        return  # stale or repeated
    stored = await repository.get_event(session, data.id)
    assert stored is not None
    ctx = ctx.begin(session)
    vectors, event_id, now = ctx.index.vectors, str(data.id), _now()
    previous = vectors.event_state(event_id)
    counted = vectors.upcoming(event_id, now)
    ctx.now(
        lambda: vectors.set_event(event_id, _event_state(stored)),
        lambda: vectors.set_event(event_id, previous),
    )
    if vectors.upcoming(event_id, now) == counted:
        return
    participants = vectors.participants(event_id)
    for profile_id in sorted(participants):
        profile = ctx.index.get(profile_id)
        if profile is not None:
            await rescore(session, ctx, profile, among=participants - {profile_id})


# ------------------------------------------------------------------ relations, learning


async def _relate(
    session: AsyncSession, ctx: MatcherContext, pair: str, relation: str
) -> tuple[uuid.UUID, uuid.UUID]:
    a, b = _pair_members(pair)
    await repository.set_relation(session, pair, a, b, relation, _now())
    ctx.later(lambda: ctx.index.vectors.set_relation(str(a), str(b), relation))
    ctx.standing.remove(str(a), str(b))
    return a, b


def _pair_members(pair: str) -> tuple[uuid.UUID, uuid.UUID]:
    first, _, second = pair.partition(":")
    a, b = uuid.UUID(first), uuid.UUID(second)
    if pair_id(a, b) != pair or a == b:
        raise ValueError(f"not a pair id: {pair!r}")
    return a, b


async def _decline(
    session: AsyncSession, ctx: MatcherContext, match: RowMapping, reason: str
) -> None:
    await _relate(session, ctx, match["pair_id"], DECLINED)
    if match["status"] in LISTED:
        writes = _Writes()
        _withdraw(writes, ctx, match, reason=f"declined: {reason}", status=DECLINED_STATUS)
        await writes.flush(session)
    else:
        await repository.update_match(session, match["pair_id"], {"status": DECLINED_STATUS})


async def _mark(session: AsyncSession, ctx: MatcherContext, match: RowMapping, status: str) -> None:
    if status == PARTNER_STATUS:
        await _relate(session, ctx, match["pair_id"], PARTNERS)
    else:
        ctx.standing.remove(str(match["profile_a"]), str(match["profile_b"]))
    await repository.update_match(
        session, match["pair_id"], {"status": status, "updated_at": _now()}
    )


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
    await repository.save_learned(session, after.as_dict(), _now())
    ctx.learned(after)
    log.info(
        "matcher.weights_learned",
        pair_id=pair,
        why=signal.why,
        change=learning.changes(before, after),
    )


async def on_meeting_outcome(
    session: AsyncSession, message: MeetingOutcomeRecorded, ctx: MatcherContext
) -> None:
    data = message.data
    try:
        _pair_members(data.pair_id)
    except ValueError as error:
        raise PoisonMessage(str(error)) from error
    claimed = await repository.claim_outcome(
        session,
        {
            "meeting_id": data.id,
            "pair_id": data.pair_id,
            "outcome": data.outcome.value,
            "version": data.version,
        },
    )
    if not claimed:
        return  # this meeting's outcome was already learned from
    ctx = ctx.begin(session)
    match = await repository.get_match(session, data.pair_id)
    if data.outcome.value in ("held", "follow_up", "agreement"):
        if match is not None and match["status"] != DECLINED_STATUS:
            await _mark(session, ctx, match, PARTNER_STATUS)
        elif match is None:
            await _relate(session, ctx, data.pair_id, PARTNERS)
    if match is not None:
        signal = learning.meeting_signal(data.outcome.value, data.rating)
        await _learn(session, ctx, dict(match["components"]), signal, data.pair_id)


# ------------------------------------------------------------------ API use cases


def _may_see(principal: Principal, profile: RowMapping) -> bool:
    return principal.may_read_hub(profile["hub"]) or profile["sharing"] == "network"


async def matches_for(
    session: AsyncSession, principal: Principal, profile_id: uuid.UUID, limit: int
) -> list[dict[str, Any]]:
    """The profile's listed matches, best first, each with a partner the caller may see."""
    profile = await repository.get_profile(session, profile_id)
    if profile is None or not _may_see(principal, profile):
        raise NotFound("profile not found")
    rows = await repository.matches_of(session, profile_id)
    others = await repository.profiles_by_id(session, [_other_id(row, profile_id) for row in rows])
    visible = [
        row
        for row in rows
        if (other := others.get(_other_id(row, profile_id))) is not None
        and _may_see(principal, other)
    ]
    return [_match_view(row, profile_id) for row in visible[:limit]]


def _other_id(row: RowMapping, profile_id: uuid.UUID) -> uuid.UUID:
    other: uuid.UUID = row["profile_b"] if row["profile_a"] == profile_id else row["profile_a"]
    return other


def _match_view(row: RowMapping, profile_id: uuid.UUID) -> dict[str, Any]:
    return {
        "pair_id": row["pair_id"],
        "profile_id": _other_id(row, profile_id),
        "score": row["score"],
        "components": row["components"],
        "explanation": row["explanation"],
        "status": row["status"],
        "event_id": row["event_id"],
    }


async def _visible_match(session: AsyncSession, principal: Principal, pair: str) -> RowMapping:
    """The match, if both its profiles are visible to the caller; NotFound otherwise (the
    same answer for unknown and hidden, so existence does not leak)."""
    match = await repository.get_match(session, pair)
    if match is None:
        raise NotFound("match not found")
    members = await repository.profiles_by_id(session, [match["profile_a"], match["profile_b"]])
    if len(members) != 2 or not all(_may_see(principal, row) for row in members.values()):
        raise NotFound("match not found")
    return match


async def match_for(session: AsyncSession, principal: Principal, pair: str) -> dict[str, Any]:
    match = await _visible_match(session, principal, pair)
    return {
        key: match[key]
        for key in (
            "pair_id",
            "profile_a",
            "profile_b",
            "hub_a",
            "hub_b",
            "version",
            "score",
            "components",
            "explanation",
            "status",
            "event_id",
        )
    }


async def record_feedback(
    session: AsyncSession,
    ctx: MatcherContext,
    principal: Principal,
    pair: str,
    outcome: str,
    reason: str | None,
) -> dict[str, Any]:
    """Store staff feedback on a pair and apply it: declined → withdrawn and never
    suggested again; met/agreement → already partners; accepted → kept. Every outcome
    nudges the learned weights."""
    match = await _visible_match(session, principal, pair)
    ctx = ctx.begin(session)
    if not (principal.may_write_hub(match["hub_a"]) or principal.may_write_hub(match["hub_b"])):
        raise Forbidden("only staff of the pair's hubs may give feedback")
    record = {
        "id": uuid.uuid4(),
        "pair_id": pair,
        "outcome": outcome,
        "reason": reason,
        "given_by": principal.subject,
        "hub": principal.hub,
        "created_at": _now(),
    }
    await repository.add_feedback(session, record)
    if outcome == "declined":
        await _decline(session, ctx, match, reason or "")
        status = DECLINED_STATUS
    elif outcome in ("met", "agreement"):
        status = PARTNER_STATUS
        await _mark(session, ctx, match, status)
    else:
        status = match["status"] if match["status"] in STICKY else ACCEPTED
        await _mark(session, ctx, match, status)
    signal = learning.FEEDBACK_SIGNALS[outcome]
    await _learn(session, ctx, dict(match["components"]), signal, pair)
    return {**record, "status": status}


def weights_view(ctx: MatcherContext, principal: Principal) -> dict[str, Any]:
    if principal.role is not Role.NETWORK_ADMIN:
        raise Forbidden("only a network admin may read the learned weights")
    return {
        "configured": ctx.configured_weights.as_dict(),
        "current": ctx.weights.as_dict(),
        "bounds": {"lower": learning.LOWER, "upper": learning.UPPER},
        "learning_rate": ctx.learning_rate,
    }
