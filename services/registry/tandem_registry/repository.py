"""Database access for the registry. Never commits: the edge owns the transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import (
    ColumnElement,
    Result,
    String,
    and_,
    bindparam,
    cast,
    delete,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_registry.domain.profiles import ProfileQuery
from tandem_registry.tables import bus, consents, erasures, hubs, profiles, staff
from tandem_shared.contracts import OrgKind, Sharing
from tandem_shared.db import dialect_name

# Stable pagination: creation order, the id breaking ties.
_ORDER = (profiles.c.created_at, profiles.c.id)


@dataclass(frozen=True)
class Hub:
    id: str
    name: str
    country: str
    region: str | None
    languages: list[str]
    created_at: datetime


@dataclass(frozen=True)
class StoredProfile:
    """A row of `profiles`: the public profile (`ProfileIn`'s fields, as JSON values)
    plus what the registry adds."""

    id: uuid.UUID
    hub: str
    version: int
    name: str
    kind: OrgKind
    subsectors: list[str]
    description: str
    offers: list[dict[str, Any]]
    needs: list[dict[str, Any]]
    looking_for: list[str]
    languages: list[str]
    country: str
    region: str | None
    city: str | None
    website: str | None
    contact: dict[str, Any] | None
    sharing: Sharing
    external_id: str | None
    text_languages: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> Self:
        return cls(**{**row, "kind": OrgKind(row["kind"]), "sharing": Sharing(row["sharing"])})

    def columns(self) -> dict[str, Any]:
        """Every column by name (for the pure functions that compare or render rows)."""
        return dict(vars(self))


def _profiles(rows: Result[Any]) -> list[StoredProfile]:
    return [StoredProfile.of(row) for row in rows.mappings()]


async def get_hub(session: AsyncSession, hub_id: str) -> Hub | None:
    row = (await session.execute(select(hubs).where(hubs.c.id == hub_id))).mappings().first()
    return None if row is None else Hub(**row)


async def insert_hub(session: AsyncSession, **values: Any) -> None:
    await session.execute(hubs.insert().values(**values))


async def staff_by_email(session: AsyncSession, email: str) -> RowMapping | None:
    query = select(staff).where(staff.c.email == email.lower())
    return (await session.execute(query)).mappings().first()


async def staff_id(session: AsyncSession, email: str) -> uuid.UUID | None:
    query = select(staff.c.id).where(staff.c.email == email.lower())
    found: uuid.UUID | None = (await session.execute(query)).scalar_one_or_none()
    return found


async def insert_staff(session: AsyncSession, **values: Any) -> None:
    await session.execute(staff.insert().values(**values))


async def set_password_hash(session: AsyncSession, staff_id: uuid.UUID, password_hash: str) -> None:
    await session.execute(
        update(staff).where(staff.c.id == staff_id).values(password_hash=password_hash)
    )


async def get_profile(session: AsyncSession, profile_id: uuid.UUID) -> StoredProfile | None:
    query = select(profiles).where(profiles.c.id == profile_id)
    row = (await session.execute(query)).mappings().first()
    return None if row is None else StoredProfile.of(row)


async def insert_profile(session: AsyncSession, values: dict[str, Any]) -> StoredProfile | None:
    """Insert unless (hub, external_id) is taken; None when it is. ON CONFLICT rather than
    a prior SELECT: two concurrent inserts both pass a SELECT, and the loser would then fail
    with a unique violation that aborts the transaction."""
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    statement = dialect.insert(profiles).on_conflict_do_nothing().returning(profiles)
    row = (await session.execute(statement, values)).mappings().first()
    return None if row is None else StoredProfile.of(row)


async def update_profile(
    session: AsyncSession, profile_id: uuid.UUID, values: dict[str, Any], updated_at: datetime
) -> StoredProfile | None:
    """Apply `values` with the next version and return the profile as stored; None
    (nothing changed) when a new external_id is taken — caught from the unique constraint
    inside a savepoint, so a concurrent writer cannot turn the conflict into an aborted
    transaction."""
    statement = (
        update(profiles)
        .where(profiles.c.id == profile_id)
        .values(**values, version=profiles.c.version + 1, updated_at=updated_at)
        .returning(profiles)
    )
    if "external_id" not in values:
        return StoredProfile.of((await session.execute(statement)).mappings().one())
    try:
        async with session.begin_nested():
            row = (await session.execute(statement)).mappings().one()
    except IntegrityError:
        return None
    return StoredProfile.of(row)


async def profile_id_by_external_id(
    session: AsyncSession, hub: str, external_id: str
) -> uuid.UUID | None:
    query = select(profiles.c.id).where(
        profiles.c.hub == hub, profiles.c.external_id == external_id
    )
    found: uuid.UUID | None = (await session.execute(query)).scalar_one_or_none()
    return found


async def profiles_by_external_ids(
    session: AsyncSession, hub: str, external_ids: Sequence[str]
) -> dict[str, StoredProfile]:
    query = select(profiles).where(
        profiles.c.hub == hub, profiles.c.external_id.in_(list(external_ids))
    )
    return {
        row["external_id"]: StoredProfile.of(row)
        for row in (await session.execute(query)).mappings()
    }


async def insert_profiles(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(profiles.insert(), list(rows))


async def replace_profiles(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Overwrite whole profiles (every key of each row; "id" selects the row) in one
    executemany; each row carries its own next version."""
    if not rows:
        return
    columns = [name for name in rows[0] if name != "id"]
    statement = (
        update(profiles)
        .where(profiles.c.id == bindparam("_id"))
        .values({name: bindparam(f"_{name}") for name in columns})
    )
    params = [{f"_{name}": value for name, value in row.items()} for row in rows]
    await session.execute(statement, params)


async def insert_consents(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(consents.insert(), list(rows))


async def delete_consents(session: AsyncSession, profile_id: uuid.UUID) -> None:
    await session.execute(delete(consents).where(consents.c.profile_id == profile_id))


async def delete_profile(session: AsyncSession, profile_id: uuid.UUID) -> None:
    await session.execute(delete(profiles).where(profiles.c.id == profile_id))


async def insert_erasure(session: AsyncSession, **values: Any) -> None:
    await session.execute(erasures.insert().values(**values))


async def delete_outbox_messages(session: AsyncSession, *, topic: str, key: str) -> None:
    """Forget earlier messages about `key` (their payloads hold the erased texts)."""
    outbox = bus.outbox
    await session.execute(delete(outbox).where(outbox.c.topic == topic, outbox.c.key == key))


async def hub_profiles(session: AsyncSession, hub: str) -> list[StoredProfile]:
    query = select(profiles).where(profiles.c.hub == hub).order_by(*_ORDER)
    return _profiles(await session.execute(query))


async def list_profiles(
    session: AsyncSession, filters: ProfileQuery, *, visible_to: str | None
) -> tuple[list[StoredProfile], int]:
    """One page of the profiles matching `filters` that hub `visible_to` may see (its own
    and network-shared ones; None: all), and how many match in total."""
    condition = and_(_visibility(visible_to), *_filter_conditions(filters))
    total = (
        await session.execute(select(func.count()).select_from(profiles).where(condition))
    ).scalar_one()
    query = (
        select(profiles)
        .where(condition)
        .order_by(*_ORDER)
        .offset((filters.page - 1) * filters.per_page)
        .limit(filters.per_page)
    )
    return _profiles(await session.execute(query)), total


def _visibility(hub: str | None) -> ColumnElement[bool]:
    if hub is None:
        return true()
    return or_(profiles.c.hub == hub, profiles.c.sharing == Sharing.NETWORK.value)


def _filter_conditions(filters: ProfileQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.kind is not None:
        conditions.append(profiles.c.kind == filters.kind.value)
    if filters.country is not None:
        conditions.append(profiles.c.country == filters.country)
    if filters.subsector is not None:
        # JSON arrays are stored as text on every backend: match the quoted element.
        conditions.append(
            _json_text(profiles.c.subsectors).contains(
                json.dumps(filters.subsector), autoescape=True
            )
        )
    if filters.q is not None:
        conditions.append(_text_search(filters.q))
    return conditions


def _json_text(column: Any) -> ColumnElement[str]:
    return cast(column, String)


def _text_search(q: str) -> ColumnElement[bool]:
    # JSON columns may hold non-ASCII text \u-escaped: look for both spellings there.
    escaped = json.dumps(q)[1:-1]
    plain = [profiles.c.name, profiles.c.description, profiles.c.city]
    structured = [_json_text(profiles.c.offers), _json_text(profiles.c.needs)]
    return or_(
        *(column.icontains(q, autoescape=True) for column in plain),
        *(
            column.icontains(term, autoescape=True)
            for column in structured
            for term in dict.fromkeys((q, escaped))
        ),
    )
