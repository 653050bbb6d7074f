"""Registry use cases. Each writes its domain change and its message in the caller's
transaction (the outbox), so either both happen or neither does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from tandem_shared.auth import Principal, Role
from tandem_shared.bus.outbox import enqueue
from tandem_shared.contracts import PROFILES, ProfileData, ProfileUpserted

from tandem_registry import repository
from tandem_registry.domain.profiles import ProfileIn
from tandem_registry.tables import bus

_hasher = PasswordHasher()


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- hubs & staff


async def ensure_hub(
    session: AsyncSession,
    *,
    hub_id: str,
    name: str,
    country: str,
    languages: list[str],
    region: str | None = None,
) -> bool:
    if await repository.get_hub(session, hub_id) is not None:
        return False
    await repository.insert_hub(
        session,
        id=hub_id,
        name=name,
        country=country,
        region=region,
        languages=languages,
        created_at=_now(),
    )
    return True


async def create_staff(
    session: AsyncSession, *, hub: str, email: str, password: str, role: Role
) -> uuid.UUID:
    if await repository.get_hub(session, hub) is None:
        raise NotFound(f"hub {hub!r} does not exist")
    staff_id = uuid.uuid4()
    await repository.insert_staff(
        session,
        id=staff_id,
        hub=hub,
        email=email.lower(),
        password_hash=_hasher.hash(password),
        role=role.value,
        created_at=_now(),
    )
    return staff_id


async def authenticate(session: AsyncSession, email: str, password: str) -> Principal | None:
    account = await repository.staff_by_email(session, email)
    if account is None:
        _hasher.hash(password)  # same cost whether or not the account exists
        return None
    try:
        _hasher.verify(account["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(account["password_hash"]):
        await repository.set_password_hash(session, account["id"], _hasher.hash(password))
    return Principal(subject=account["email"], hub=account["hub"], role=Role(account["role"]))


# --------------------------------------------------------------------------- profiles


def _profile_columns(profile: ProfileIn) -> dict[str, Any]:
    return profile.model_dump(mode="json")


def _profile_message(row: RowMapping, *, source: str) -> ProfileUpserted:
    data = ProfileData.model_validate(dict(row))
    return ProfileUpserted(source=source, subject=str(row["id"]), hub=row["hub"], data=data)


async def create_profile(
    session: AsyncSession, principal: Principal, profile: ProfileIn, *, source: str
) -> RowMapping:
    if profile.external_id and await repository.profile_by_external_id(
        session, principal.hub, profile.external_id
    ):
        raise Conflict(f"a profile with external_id {profile.external_id!r} exists in this hub")
    now = _now()
    profile_id = uuid.uuid4()
    await repository.insert_profile(
        session,
        {
            **_profile_columns(profile),
            "id": profile_id,
            "hub": principal.hub,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        },
    )
    return await _publish_current(session, profile_id, source=source)


async def _publish_current(
    session: AsyncSession, profile_id: uuid.UUID, *, source: str
) -> RowMapping:
    row = await repository.get_profile(session, profile_id)
    assert row is not None
    await enqueue(
        session,
        bus,
        topic=PROFILES.name,
        key=str(profile_id),
        message=_profile_message(row, source=source),
    )
    return row


async def read_profile(
    session: AsyncSession, principal: Principal, profile_id: uuid.UUID
) -> RowMapping:
    row = await repository.get_profile(session, profile_id)
    visible = row is not None and (
        principal.may_read_hub(row["hub"]) or row["sharing"] == "network"
    )
    if not visible:
        raise NotFound("profile not found")
    assert row is not None
    return row


def public_view(row: RowMapping, principal: Principal) -> dict[str, Any]:
    """The profile as the caller may see it: contact details only for its own hub."""
    view = dict(row)
    if not principal.may_read_hub(row["hub"]):
        view["contact"] = None
    return view
