"""Database access for the matcher, in typed rows. Never commits: the edge owns the
transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    delete,
    func,
    insert,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_matcher.domain.pairs import LISTED, MatchStatus, Relation
from tandem_matcher.domain.scoring import EventState
from tandem_matcher.tables import (
    embeddings,
    events,
    feedback,
    journal,
    learned_weights,
    matches,
    outcomes,
    profiles,
    registrations,
    relations,
)
from tandem_shared.contracts import ProfileData, RegistrationData
from tandem_shared.db import dialect_name, insert_ignoring_conflict, upsert_if_newer


@dataclass(frozen=True)
class Row:
    def columns(self) -> dict[str, Any]:
        """The row's values by column name (shallow: JSON values are not copied)."""
        return {column.name: getattr(self, column.name) for column in fields(self)}


@dataclass(frozen=True)
class ProfileRow(Row):
    """The matcher's projection of a profile: what scoring reads of it."""

    id: uuid.UUID
    hub: str
    version: int
    name: str
    kind: str
    sharing: str
    looking_for: list[str]
    languages: list[str]
    country: str
    region: str | None
    website: str | None
    offers: list[dict[str, Any]]
    needs: list[dict[str, Any]]
    updated_at: datetime


@dataclass(frozen=True)
class ProfileSharing:
    """Who may see a profile: its hub's staff, or everyone when shared with the network."""

    id: uuid.UUID
    hub: str
    sharing: str


@dataclass(frozen=True)
class MatchRow(Row):
    pair_id: str
    profile_a: uuid.UUID
    profile_b: uuid.UUID
    hub_a: str
    hub_b: str
    version: int
    score: float
    components: dict[str, float]
    explanation: dict[str, Any]
    status: MatchStatus
    event_id: uuid.UUID | None
    updated_at: datetime

    def other(self, profile_id: uuid.UUID) -> uuid.UUID:
        """The pair's other profile."""
        return self.profile_b if self.profile_a == profile_id else self.profile_a


@dataclass(frozen=True)
class Registration:
    event_id: uuid.UUID
    profile_id: uuid.UUID


@dataclass(frozen=True)
class RelationRow:
    profile_a: uuid.UUID
    profile_b: uuid.UUID
    relation: Relation


@dataclass(frozen=True)
class FeedbackRow(Row):
    id: uuid.UUID
    pair_id: str
    outcome: str
    reason: str | None
    given_by: str
    hub: str
    created_at: datetime


def _insert(session: AsyncSession, table: Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (both dialects the matcher runs on)."""
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    return dialect.insert(table)


def _match(row: RowMapping) -> MatchRow:
    return MatchRow(**{**row, "status": MatchStatus(row["status"])})


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite drops the zone of a stored time; it was UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


# ------------------------------------------------------------------ profiles


async def project_profile(session: AsyncSession, data: ProfileData) -> bool:
    values = data.model_dump(
        mode="json",
        include={
            "hub",
            "version",
            "name",
            "kind",
            "sharing",
            "looking_for",
            "languages",
            "country",
            "region",
            "website",
            "offers",
            "needs",
        },
    )
    values["updated_at"] = data.updated_at
    return await upsert_if_newer(session, profiles, key={"id": data.id}, values=values)


async def all_profiles(session: AsyncSession) -> list[ProfileRow]:
    return [ProfileRow(**row) for row in (await session.execute(select(profiles))).mappings()]


async def sharing_of(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ProfileSharing]:
    query = select(profiles.c.id, profiles.c.hub, profiles.c.sharing)
    rows = (await session.execute(query.where(profiles.c.id.in_(ids)))).mappings()
    return {row["id"]: ProfileSharing(**row) for row in rows}


async def forget_profile(session: AsyncSession, profile_id: uuid.UUID) -> None:
    """Erasure: the profile and everything the matcher knows about its pairs."""
    pair_mentions = f"%{profile_id}%"
    for table in (matches, relations):
        await session.execute(
            delete(table).where(
                or_(table.c.profile_a == profile_id, table.c.profile_b == profile_id)
            )
        )
    await session.execute(delete(feedback).where(feedback.c.pair_id.like(pair_mentions)))
    await session.execute(delete(outcomes).where(outcomes.c.pair_id.like(pair_mentions)))
    await session.execute(delete(registrations).where(registrations.c.profile_id == profile_id))
    await session.execute(delete(profiles).where(profiles.c.id == profile_id))


# ------------------------------------------------------------------ matches


async def matches_of(
    session: AsyncSession, profile_id: uuid.UUID, *, listed_only: bool = True
) -> list[MatchRow]:
    """The profile's matches, best first: only the listed ones, or all (history too)."""
    query = select(matches).where(
        or_(matches.c.profile_a == profile_id, matches.c.profile_b == profile_id)
    )
    if listed_only:
        query = query.where(matches.c.status.in_(LISTED))
    rows = (await session.execute(query.order_by(matches.c.score.desc()))).mappings()
    return [_match(row) for row in rows]


async def get_match(session: AsyncSession, pair_id: str) -> MatchRow | None:
    query = select(matches).where(matches.c.pair_id == pair_id)
    row = (await session.execute(query)).mappings().first()
    return None if row is None else _match(row)


async def matches_by_pair(session: AsyncSession, pair_ids: Sequence[str]) -> dict[str, MatchRow]:
    """The stored matches among `pair_ids`, in one query."""
    if not pair_ids:
        return {}
    query = select(matches).where(matches.c.pair_id.in_(sorted(set(pair_ids))))
    return {row["pair_id"]: _match(row) for row in (await session.execute(query)).mappings()}


async def matches_with_status(
    session: AsyncSession, statuses: Sequence[MatchStatus]
) -> list[MatchRow]:
    query = select(matches).where(matches.c.status.in_(statuses))
    return [_match(row) for row in (await session.execute(query)).mappings()]


class MatchVersionConflict(Exception):
    """A match row was not at the version its writer read: another writer got there first.
    Not a refusal of the message: the transaction rolls back and is tried again."""


async def upsert_matches(session: AsyncSession, rows: Sequence[MatchRow]) -> None:
    """Write whole match rows (new or changed) in one statement: a rescore touches many
    pairs, and one round trip per pair was most of its cost. Optimistic: each row replaces
    only the version before it (version 1 only a missing row), so two writers that read
    the same version never both publish the next one (`MatchVersionConflict`)."""
    if not rows:
        return
    statement = _insert(session, matches)
    statement = statement.on_conflict_do_update(
        index_elements=[matches.c.pair_id],
        set_={
            column.name: statement.excluded[column.name]
            for column in matches.columns
            if column.name != "pair_id"
        },
        where=matches.c.version == statement.excluded.version - 1,
    ).returning(matches.c.pair_id)
    # One statement still: SQLAlchemy batches a multi-row INSERT .. RETURNING.
    result = await session.execute(statement, [row.columns() for row in rows])
    written = set(result.scalars())
    missed = sorted({row.pair_id for row in rows} - written)
    if missed:
        raise MatchVersionConflict(f"pairs changed meanwhile: {', '.join(missed[:5])}")


async def changed_since(session: AsyncSession, since: datetime) -> int:
    """How many matches were written at or after `since`."""
    query = select(func.count()).select_from(matches).where(matches.c.updated_at >= since)
    return int((await session.execute(query)).scalar_one())


async def set_status(
    session: AsyncSession, pair_id: str, status: MatchStatus, *, at: datetime | None
) -> None:
    """Change a match's status; `at` (when given) becomes its `updated_at`."""
    values: dict[str, Any] = {"status": status}
    if at is not None:
        values["updated_at"] = at
    await session.execute(update(matches).where(matches.c.pair_id == pair_id).values(values))


# ------------------------------------------------------------------ registrations


async def project_registration(
    session: AsyncSession, data: RegistrationData, *, active: bool, at: datetime
) -> bool:
    """Store the registration's latest state; False for a stale or repeated message. A
    withdrawal of the same version as the stored registration still wins (a producer
    may not bump the version when it withdraws)."""
    statement = _insert(session, registrations).values(
        id=data.id,
        event_id=data.event_id,
        profile_id=data.profile_id,
        version=data.version,
        active=active,
        updated_at=at,
    )
    new = statement.excluded
    withdrawal = and_(
        registrations.c.version == new.version, registrations.c.active, not_(new.active)
    )
    statement = statement.on_conflict_do_update(
        index_elements=[registrations.c.id],
        set_={name: new[name] for name in ("event_id", "profile_id", "version", "active")}
        | {"updated_at": new.updated_at},
        where=or_(registrations.c.version < new.version, withdrawal),
    ).returning(registrations.c.id)
    return (await session.execute(statement)).first() is not None


async def active_registrations(session: AsyncSession) -> list[Registration]:
    query = select(registrations.c.event_id, registrations.c.profile_id).where(
        registrations.c.active.is_(True)
    )
    return [Registration(**row) for row in (await session.execute(query)).mappings()]


async def registered(session: AsyncSession, event_id: uuid.UUID, profile_id: uuid.UUID) -> bool:
    """Whether the profile still has another active registration to the event."""
    query = select(registrations.c.id).where(
        registrations.c.event_id == event_id,
        registrations.c.profile_id == profile_id,
        registrations.c.active.is_(True),
    )
    return (await session.execute(query.limit(1))).first() is not None


# ------------------------------------------------------------------ events


async def project_event(
    session: AsyncSession,
    event_id: uuid.UUID,
    version: int,
    *,
    ends_at: datetime | None,
    cancelled: bool,
    at: datetime,
) -> EventState | None:
    """Store the event's end and cancellation and return its stored state; None for a
    stale or repeated version. A cancellation (no `ends_at`) keeps the stored end time."""
    statement = _insert(session, events).values(
        id=event_id, version=version, ends_at=ends_at, cancelled=cancelled, updated_at=at
    )
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[events.c.id],
        set_={
            "version": new.version,
            "ends_at": func.coalesce(new.ends_at, events.c.ends_at),
            "cancelled": new.cancelled,
            "updated_at": new.updated_at,
        },
        where=events.c.version < new.version,
    ).returning(events.c.ends_at, events.c.cancelled)
    row = (await session.execute(statement)).first()
    return None if row is None else EventState(_utc(row.ends_at), row.cancelled)


async def all_events(session: AsyncSession) -> dict[uuid.UUID, EventState]:
    rows = await session.execute(select(events.c.id, events.c.ends_at, events.c.cancelled))
    return {row.id: EventState(_utc(row.ends_at), row.cancelled) for row in rows}


# ------------------------------------------------------------------ relations, feedback


async def all_relations(session: AsyncSession) -> list[RelationRow]:
    query = select(relations.c.profile_a, relations.c.profile_b, relations.c.relation)
    return [
        RelationRow(row.profile_a, row.profile_b, Relation(row.relation))
        for row in await session.execute(query)
    ]


async def set_relation(
    session: AsyncSession,
    pair: str,
    a: uuid.UUID,
    b: uuid.UUID,
    relation: Relation,
    at: datetime,
) -> None:
    statement = _insert(session, relations).values(
        pair_id=pair, profile_a=a, profile_b=b, relation=relation, updated_at=at
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[relations.c.pair_id],
            set_={"relation": statement.excluded.relation, "updated_at": at},
        )
    )


async def add_feedback(session: AsyncSession, row: FeedbackRow) -> None:
    await session.execute(feedback.insert().values(row.columns()))


async def claim_outcome(
    session: AsyncSession, meeting_id: uuid.UUID, pair_id: str, outcome: str, version: int
) -> bool:
    """Record a meeting's outcome once; False if that meeting's outcome was seen before."""
    values = {"meeting_id": meeting_id, "pair_id": pair_id, "outcome": outcome}
    return await insert_ignoring_conflict(session, outcomes, {**values, "version": version})


async def learned(session: AsyncSession) -> dict[str, float]:
    rows = await session.execute(select(learned_weights.c.component, learned_weights.c.value))
    return {row.component: row.value for row in rows}


async def save_learned(session: AsyncSession, weights: dict[str, float], at: datetime) -> None:
    """Store the learned weights, counting each component's updates."""
    statement = _insert(session, learned_weights)
    statement = statement.on_conflict_do_update(
        index_elements=[learned_weights.c.component],
        set_={
            "value": statement.excluded.value,
            "updates": learned_weights.c.updates + 1,
            "updated_at": statement.excluded.updated_at,
        },
    )
    rows = [
        {"component": component, "value": value, "updates": 1, "updated_at": at}
        for component, value in weights.items()
    ]
    await session.execute(statement, rows)


# ------------------------------------------------------------------ replicas


# The advisory lock every writer of the matcher's state holds until its transaction ends:
# replicas apply their changes one transaction at a time, each after catching up on the
# journal, as a single replica would.
INDEX_LOCK = "tandem-matcher-index"


async def lock_index(session: AsyncSession) -> None:
    """Wait for the index lock (PostgreSQL; SQLite has one writer at a time anyway)."""
    if dialect_name(session) == "postgresql":
        lock = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
        await session.execute(lock, {"key": INDEX_LOCK})


async def journal_position(session: AsyncSession) -> int:
    """The last committed journal row's sequence number (0 for none)."""
    query = select(func.coalesce(func.max(journal.c.seq), 0))
    return int((await session.execute(query)).scalar_one())


async def journal_since(session: AsyncSession, seq: int) -> list[tuple[int, list[Any]]]:
    """The journal rows after `seq`, in commit order."""
    query = select(journal.c.seq, journal.c.entries).where(journal.c.seq > seq)
    rows = await session.execute(query.order_by(journal.c.seq))
    return [(row.seq, row.entries) for row in rows]


def append_journal(connection: Connection, entries: list[Any], at: datetime) -> int:
    """Append one transaction's entries (sync: it runs in the session's `before_commit`);
    the new row's sequence number."""
    statement = insert(journal).values(entries=entries, written_at=at).returning(journal.c.seq)
    return int(connection.execute(statement).scalar_one())


async def prune_journal(session: AsyncSession, before: datetime) -> int:
    """Drop journal rows written before `before`; how many."""
    result = await session.execute(delete(journal).where(journal.c.written_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def get_profile(session: AsyncSession, profile_id: uuid.UUID) -> ProfileRow | None:
    row = (await session.execute(select(profiles).where(profiles.c.id == profile_id))).mappings()
    found = row.first()
    return None if found is None else ProfileRow(**found)


# ------------------------------------------------------------------ embeddings


async def stored_embeddings(
    session: AsyncSession, encoder: str, keys: Sequence[str] | None = None
) -> dict[str, bytes]:
    """The stored embeddings of `encoder` (only those of `keys` when given), by text key."""
    query = select(embeddings.c.text_hash, embeddings.c.vector).where(
        embeddings.c.encoder == encoder
    )
    if keys is not None:
        if not keys:
            return {}
        query = query.where(embeddings.c.text_hash.in_(sorted(set(keys))))
    return {row.text_hash: row.vector for row in await session.execute(query)}


async def store_embeddings(session: AsyncSession, encoder: str, vectors: dict[str, bytes]) -> None:
    """Store embeddings by text key; ones stored before are kept (the same text and
    encoder give the same vector)."""
    if not vectors:
        return
    statement = _insert(session, embeddings).on_conflict_do_nothing()
    rows = [
        {"encoder": encoder, "text_hash": key, "vector": vector} for key, vector in vectors.items()
    ]
    await session.execute(statement, rows)
