"""Registry use cases. Each writes its domain change and its message in the caller's
transaction (the outbox), so either both happen or neither does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_registry import repository
from tandem_registry.domain.accounts import HubIn
from tandem_registry.domain.consents import purposes
from tandem_registry.domain.export import profiles_csv
from tandem_registry.domain.imports import ImportRow, profile_changes
from tandem_registry.domain.profiles import ProfileIn, ProfilePatch, ProfileQuery
from tandem_registry.languages import TEXT_FIELDS, text_languages, with_languages
from tandem_registry.passwords import Passwords
from tandem_registry.repository import StoredProfile
from tandem_registry.tables import bus
from tandem_shared.auth import Principal, Role
from tandem_shared.bus.publisher import Publisher
from tandem_shared.contracts import (
    PROFILES,
    ProfileData,
    ProfileErased,
    ProfileErasedData,
    ProfileUpserted,
    Scope,
    Sharing,
    network_profile,
)
from tandem_shared.errors import Conflict, Forbidden, Invalid, NotFound

publisher = Publisher("registry", bus, owns=(PROFILES,))


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
    session: AsyncSession,
    passwords: Passwords,
    *,
    hub: str,
    email: str,
    password: str,
    role: Role,
) -> uuid.UUID:
    if await repository.get_hub(session, hub) is None:
        raise NotFound(f"hub {hub!r} does not exist")
    if await repository.staff_by_email(session, email) is not None:
        raise Conflict(f"an account for {email!r} exists")
    staff_id = uuid.uuid4()
    await repository.insert_staff(
        session,
        id=staff_id,
        hub=hub,
        email=email.lower(),
        password_hash=await passwords.hash(password),
        role=role.value,
        created_at=_now(),
    )
    return staff_id


@dataclass(frozen=True)
class Bootstrapped:
    hub_created: bool
    admin_created: bool


async def bootstrap(
    session: AsyncSession,
    passwords: Passwords,
    *,
    hub_id: str,
    new_hub: HubIn | None,
    admin: str,
    password: str,
) -> Bootstrapped:
    """A production's first step: its hub and its first hub admin, each created only if
    missing, so that a re-run changes nothing (an existing admin keeps its password). An
    account of that email in another hub or with another role is refused."""
    hub_created = False
    if await repository.get_hub(session, hub_id) is None:
        if new_hub is None:
            raise Invalid("hub", f"hub {hub_id!r} does not exist: give its name and country")
        hub_created = await ensure_hub(session, hub_id=hub_id, **new_hub.model_dump(exclude={"id"}))
    account = await repository.staff_by_email(session, admin)
    if account is None:
        await create_staff(
            session, passwords, hub=hub_id, email=admin, password=password, role=Role.HUB_ADMIN
        )
        return Bootstrapped(hub_created=hub_created, admin_created=True)
    if (account["hub"], account["role"]) != (hub_id, Role.HUB_ADMIN.value):
        raise Conflict(
            f"{admin!r} is already a {account['role']} of hub {account['hub']!r}; "
            "bootstrap changes no existing account"
        )
    return Bootstrapped(hub_created=hub_created, admin_created=False)


async def create_hub(session: AsyncSession, hub: HubIn) -> None:
    if not await ensure_hub(session, hub_id=hub.id, **hub.model_dump(exclude={"id"})):
        raise Conflict(f"hub {hub.id!r} exists")


async def reset_password(
    session: AsyncSession, passwords: Passwords, email: str, password: str
) -> None:
    account = await repository.staff_by_email(session, email)
    if account is None:
        raise NotFound(f"no account for {email!r}")
    await repository.set_password_hash(session, account["id"], await passwords.hash(password))


async def authenticate(
    session: AsyncSession, passwords: Passwords, email: str, password: str
) -> Principal | None:
    account = await repository.staff_by_email(session, email)
    if account is None:
        await passwords.hash(password)  # same cost whether or not the account exists
        return None
    if not await passwords.verify(account["password_hash"], password):
        return None
    if passwords.needs_rehash(account["password_hash"]):
        new_hash = await passwords.hash(password)
        await repository.set_password_hash(session, account["id"], new_hash)
    return Principal(subject=account["email"], hub=account["hub"], role=Role(account["role"]))


# --------------------------------------------------------------------------- profiles


def _profile_columns(profile: ProfileIn) -> dict[str, Any]:
    return profile.model_dump(mode="json")


def _upserted(profile: Mapping[str, Any]) -> ProfileUpserted:
    """The `profile.upserted` message of a profile's columns."""
    data = ProfileData.model_validate(with_languages(profile))
    return publisher.message(ProfileUpserted, hub=data.hub, subject=str(data.id), data=data)


async def _publish(
    session: AsyncSession, profile: StoredProfile, *, was_shared: bool = False
) -> StoredProfile:
    """Every profile on the hub's local topic; a shared one on its network topic too."""
    message = _upserted(profile.columns())
    await publisher.publish(session, message, key=str(profile.id))
    await _share(session, [message], was_shared={profile.id} if was_shared else set())
    return profile


async def _share(
    session: AsyncSession, messages: Sequence[ProfileUpserted], *, was_shared: set[uuid.UUID]
) -> None:
    """The hub's network topic: a profile while the hub shares it with the network, and
    its withdrawal (`profile.erased` and a tombstone) once it stops. A profile that was
    never shared is never named there, not even by its id."""
    # Its own envelope (message id) on the network topic: the outbox keys by message id.
    shared = [
        (str(m.data.id), m.model_copy(update={"id": uuid.uuid4()}))
        for m in messages
        if network_profile(m.data) is not None
    ]
    await publisher.publish_many(session, shared, scope=Scope.NETWORK)
    for message in messages:
        if message.data.id in was_shared and network_profile(message.data) is None:
            data = message.data
            await _withdraw_from_network(session, data.id, data.hub, data.version, _now())


async def _withdraw_from_network(
    session: AsyncSession, profile_id: uuid.UUID, hub: str, version: int, when: datetime
) -> None:
    """For other hubs a profile no longer shared is gone: they erase their copies."""
    key = str(profile_id)
    data = ProfileErasedData(id=profile_id, hub=hub, version=version, erased_at=when)
    erased = publisher.message(ProfileErased, hub=hub, subject=key, data=data)
    await publisher.publish(session, erased, key=key, scope=Scope.NETWORK)
    await publisher.publish_tombstone(session, PROFILES, hub=hub, key=key, scope=Scope.NETWORK)


def _was_shared(columns: Mapping[str, Any] | None) -> bool:
    return columns is not None and Sharing(columns["sharing"]) is Sharing.NETWORK


async def _actor(session: AsyncSession, principal: Principal) -> str:
    """Who acts, for the audit tables: the staff account id, not its email (no personal
    data in the logs); the subject itself for callers without an account (the CLI)."""
    account = await repository.staff_id(session, principal.subject)
    return str(account) if account else principal.subject


def _consent_rows(
    actor: str, hub: str, changes: Sequence[tuple[Mapping[str, Any] | None, Mapping[str, Any]]]
) -> list[dict[str, Any]]:
    """Consent audit rows for (before, after) pairs of profiles (`after` holds the id)."""
    now = _now()
    return [
        {"id": uuid.uuid4(), "profile_id": after["id"], "hub": hub, "purpose": purpose.value,
         "recorded_by": actor, "recorded_at": now}
        for before, after in changes
        for purpose in purposes(before, after)
    ]  # fmt: skip


def _taken(external_id: str | None) -> Conflict:
    return Conflict(f"a profile with external_id {external_id!r} exists in this hub")


async def _check_external_id(
    session: AsyncSession, hub: str, external_id: str | None, *, own_id: uuid.UUID | None = None
) -> None:
    if not external_id:
        return
    existing = await repository.profile_id_by_external_id(session, hub, external_id)
    if existing is not None and existing != own_id:
        raise _taken(external_id)


async def create_profile(
    session: AsyncSession, principal: Principal, profile: ProfileIn
) -> StoredProfile:
    await _check_external_id(session, principal.hub, profile.external_id)
    now = _now()
    columns = _profile_columns(profile)
    stored = await repository.insert_profile(
        session,
        {
            **columns,
            "text_languages": await asyncio.to_thread(text_languages, columns),
            "id": uuid.uuid4(),
            "hub": principal.hub,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        },
    )
    if stored is None:  # a concurrent request took the external_id after our check
        raise _taken(profile.external_id)
    actor = await _actor(session, principal)
    await repository.insert_consents(
        session, _consent_rows(actor, principal.hub, [(None, stored.columns())])
    )
    return await _publish(session, stored)


async def read_profile(
    session: AsyncSession, principal: Principal, profile_id: uuid.UUID
) -> StoredProfile:
    profile = await repository.get_profile(session, profile_id)
    if profile is None or not (
        principal.may_read_hub(profile.hub) or profile.sharing is Sharing.NETWORK
    ):
        raise NotFound("profile not found")
    return profile


def public_view(profile: StoredProfile, principal: Principal) -> dict[str, Any]:
    """The profile as the caller may see it: contact details (personal data) only for its
    own hub; a network_admin reads other hubs' profiles but not their contacts."""
    view = with_languages(profile.columns())
    if profile.hub != principal.hub:
        view["contact"] = None
    return view


async def _writable_profile(
    session: AsyncSession, principal: Principal, profile_id: uuid.UUID
) -> StoredProfile:
    """The profile if the caller's hub owns it; 404 where the caller cannot even see it."""
    profile = await read_profile(session, principal, profile_id)
    if not principal.may_write_hub(profile.hub):
        raise Forbidden("only the profile's own hub may change it")
    return profile


async def update_profile(
    session: AsyncSession, principal: Principal, profile_id: uuid.UUID, patch: ProfilePatch
) -> StoredProfile:
    """Apply the sent fields; a patch that changes nothing keeps the version and publishes
    nothing, every real change gets the next version and one `profile.upserted`."""
    profile = await _writable_profile(session, principal, profile_id)
    before = profile.columns()
    changes = {name: value for name, value in patch.changes().items() if before[name] != value}
    if not changes:
        return profile
    if TEXT_FIELDS.intersection(changes):
        merged = {**before, **changes}
        changes["text_languages"] = await asyncio.to_thread(text_languages, merged)
    if "external_id" in changes:
        await _check_external_id(session, profile.hub, changes["external_id"], own_id=profile.id)
    updated = await repository.update_profile(session, profile_id, changes, _now())
    if updated is None:
        raise _taken(changes.get("external_id"))
    actor = await _actor(session, principal)
    await repository.insert_consents(
        session, _consent_rows(actor, profile.hub, [(before, updated.columns())])
    )
    return await _publish(session, updated, was_shared=_was_shared(before))


async def list_profiles(
    session: AsyncSession, principal: Principal, filters: ProfileQuery
) -> dict[str, Any]:
    visible_to = None if principal.role is Role.NETWORK_ADMIN else principal.hub
    found, total = await repository.list_profiles(session, filters, visible_to=visible_to)
    return {
        "items": [public_view(profile, principal) for profile in found],
        "total": total,
        "page": filters.page,
        "per_page": filters.per_page,
    }


async def erase_profile(session: AsyncSession, principal: Principal, profile_id: uuid.UUID) -> None:
    """GDPR erasure: the row goes, earlier messages about it go from the outbox, the log
    records who (staff account id) and when, and the topic gets `profile.erased` then a
    tombstone."""
    profile = await _writable_profile(session, principal, profile_id)
    now = _now()
    key = str(profile_id)
    actor = await _actor(session, principal)
    await repository.delete_consents(session, profile_id)
    await repository.delete_profile(session, profile_id)
    for scope in PROFILES.scopes():
        topic = PROFILES.topic(profile.hub, scope)
        await repository.delete_outbox_messages(session, topic=topic, key=key)
    await repository.insert_erasure(
        session,
        id=uuid.uuid4(),
        profile_id=profile_id,
        hub=profile.hub,
        erased_by=actor,
        erased_at=now,
    )
    data = ProfileErasedData(
        id=profile_id, hub=profile.hub, version=profile.version + 1, erased_at=now
    )
    erased = publisher.message(ProfileErased, hub=profile.hub, subject=key, data=data)
    await publisher.publish(session, erased, key=key)
    await publisher.publish_tombstone(session, PROFILES, hub=profile.hub, key=key)
    if profile.sharing is Sharing.NETWORK:
        await _withdraw_from_network(session, profile_id, profile.hub, data.version, now)


# --------------------------------------------------------------------------- import


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: ImportCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


IMPORT_BATCH = 500


async def import_profiles(
    session: AsyncSession,
    principal: Principal,
    rows: Sequence[ImportRow],
) -> ImportCounts:
    """Create or update the caller's hub's profiles by external_id, in batches (one
    SELECT, one multi-row INSERT and one executemany UPDATE per batch). A profile
    identical to the stored one is left alone: same version, no message."""
    counts = ImportCounts()
    actor = await _actor(session, principal)
    for start in range(0, len(rows), IMPORT_BATCH):
        counts.add(
            await _import_batch(session, principal.hub, rows[start : start + IMPORT_BATCH], actor)
        )
    return counts


async def _import_batch(
    session: AsyncSession, hub: str, rows: Sequence[ImportRow], actor: str
) -> ImportCounts:
    stored = await repository.profiles_by_external_ids(
        session, hub, [row.external_id for row in rows]
    )
    now = _now()
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    # (new columns, the profile's columns before), in row order, for the messages
    written: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for row in rows:
        found = stored.get(row.external_id)
        old = None if found is None else found.columns()
        if old is not None and not profile_changes(old, row):
            continue
        columns = _profile_columns(row)
        if found is None:
            values = {**columns, "id": uuid.uuid4(), "hub": hub, "version": 1,
                      "created_at": now, "updated_at": now}  # fmt: skip
            new.append(values)
        else:
            values = {**columns, "id": found.id, "version": found.version + 1, "updated_at": now}
            changed.append(values)
        written.append((values, old))
    detected = await asyncio.to_thread(lambda: [text_languages(values) for values, _ in written])
    for (values, _), languages in zip(written, detected, strict=True):
        values["text_languages"] = languages
    try:
        async with session.begin_nested():
            await repository.insert_profiles(session, new)
    except IntegrityError as error:
        raise Conflict("another import or request created some of these profiles; retry") from error
    await repository.replace_profiles(session, changed)
    before_after = [(old, values) for values, old in written]
    await repository.insert_consents(session, _consent_rows(actor, hub, before_after))
    messages = [
        (str(values["id"]), _upserted({**(old or {}), **values})) for values, old in written
    ]
    await publisher.publish_many(session, messages)
    shared_before = {values["id"] for values, old in written if _was_shared(old)}
    await _share(session, [message for _, message in messages], was_shared=shared_before)
    return ImportCounts(created=len(new), updated=len(changed), unchanged=len(rows) - len(written))


async def export_profiles(session: AsyncSession, principal: Principal) -> str:
    """The caller's own hub's profiles as CSV (contact included: they are its own)."""
    found = await repository.hub_profiles(session, principal.hub)
    return profiles_csv(profile.columns() for profile in found)
