"""The matcher's in-memory context: the profile index, each profile's standing match
scores and the current weights, loaded from the tables at start and changed by the use
cases only as their transactions commit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher import repository
from tandem_matcher.domain.pairs import MatchStatus
from tandem_matcher.domain.scoring import ProfileVectors, Weights
from tandem_matcher.domain.topk import StagedTopScores, TopScores
from tandem_matcher.index import ProfileIndex
from tandem_matcher.service import embeddings


def now() -> datetime:
    return datetime.now(UTC)


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
    hub: str  # the hub this matcher serves: the source of its messages
    weights: Weights = field(default_factory=Weights)
    top: TopScores | None = None
    configured: Weights | None = None  # the weights learning is bounded around
    learning_rate: float = 0.0
    parent: MatcherContext | None = None  # set on a transaction's view
    seen: int = 0  # the last journal row applied to this (shared) state
    written: int = 0  # on a view: the journal row its transaction wrote
    _journal: list[dict[str, Any]] = field(default_factory=list)
    catching_up: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
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
            self,
            top=self.standing.staged(),
            parent=self,
            written=0,
            _journal=[],
            _on_commit=[],
            _on_rollback=[],
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

    def record(self, kind: str, **keys: Any) -> None:
        """Note a change to the shared state for the journal, which the other replicas
        replay (`service.replicas`); the standing scores' changes are noted by themselves."""
        if self.parent is not None:
            self._journal.append({"kind": kind, **keys})

    def journal_entries(self) -> list[dict[str, Any]]:
        """What this transaction's journal row says, in the order the changes apply."""
        entries = list(self._journal)
        if isinstance(self.top, StagedTopScores) and self.top.changes():
            entries.append({"kind": "standing", "changes": self.top.changes()})
        return entries

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
        if self.parent is not None:
            self.parent.seen = max(self.parent.seen, self.written)

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


async def load(session: AsyncSession, ctx: MatcherContext) -> tuple[int, int]:
    """The whole state from the tables (profiles, standing matches) and the journal
    position it reflects, read first: rows committed while loading are replayed on top,
    which changes nothing they had not already changed."""
    ctx.seen = await repository.journal_position(session)
    stored = await embeddings.preload(session, ctx.index)
    profiles = await _load_index(session, ctx.index)
    # Texts encoded now (none stored yet, or a new encoder) are stored for the next start.
    await embeddings.store(session, ctx.index, profiles, stored=stored)
    return len(profiles), await load_standing(session, ctx)


async def load_index(session: AsyncSession, index: ProfileIndex) -> int:
    """Fill the index from the tables: profiles, active registrations, pair relations."""
    return len(await _load_index(session, index))


async def _load_index(session: AsyncSession, index: ProfileIndex) -> list[ProfileVectors]:
    """`load_index`; the profiles' vectors."""
    profiles = []
    for row in await repository.all_profiles(session):
        profiles.append(await asyncio.to_thread(index.vectors_for, row.columns()))
        index.put(profiles[-1])
    for event_id, state in (await repository.all_events(session)).items():
        index.vectors.set_event(str(event_id), state)
    for registration in await repository.active_registrations(session):
        index.vectors.register(str(registration.event_id), str(registration.profile_id))
    for relation in await repository.all_relations(session):
        index.vectors.set_relation(
            str(relation.profile_a), str(relation.profile_b), relation.relation
        )
    return profiles


async def load_standing(session: AsyncSession, ctx: MatcherContext) -> int:
    """Every suggested pair's score, so each profile's k-th best is known at start, and
    the weights learned so far."""
    rows = await repository.matches_with_status(session, (MatchStatus.SUGGESTED,))
    for row in rows:
        ctx.standing.set(str(row.profile_a), str(row.profile_b), row.score)
    learned = await repository.learned(session)
    if learned:
        ctx.weights = Weights(**{**ctx.configured_weights.as_dict(), **learned})
    return len(rows)
