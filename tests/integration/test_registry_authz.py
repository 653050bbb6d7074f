"""The authorisation matrix: two hubs x three roles x every registry endpoint (token,
create, read, list, patch, delete, export, import), against PostgreSQL.

Each caller works on a network-shared and a hub-only profile of its own hub and of the
other hub. Whatever the role, writes land in the caller's own hub only (the other hub's
rows and messages are byte-for-byte unchanged) and no response to the other hub carries
a contact."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tandem_registry.tables import bus, erasures, profiles
from tandem_shared.auth import Role
from tests.support import login
from tests.support.registry import PASSWORD, Registry, add_staff, museum

pytestmark = pytest.mark.integration
HUBS = ("demo", "north")
CALLERS = [(hub, role) for hub in HUBS for role in Role]


def contact(hub: str, sharing: str) -> dict[str, str]:
    return {"name": f"Contact {hub} {sharing}", "email": f"{sharing}@{hub}.example"}


@dataclass
class Matrix:
    registry: Registry
    auth: dict[tuple[str, Role], dict[str, str]]
    accounts: dict[tuple[str, Role], tuple[str, str]]  # email, password
    # profile ids by (hub, sharing)
    profiles: dict[tuple[str, str], str] = field(default_factory=dict)
    answers: list[httpx.Response] = field(default_factory=list)

    async def call(self, who: tuple[str, Role], method: str, url: str, **kwargs: Any) -> Any:
        response = await self.registry.client.request(method, url, headers=self.auth[who], **kwargs)
        self.answers.append(response)
        return response

    async def hub_state(self, hub: str) -> dict[str, Any]:
        """The hub's profile rows, erasure records and outgoing messages."""
        async with self.registry.app.state.runtime.sessionmaker() as session:
            rows = (await session.execute(select(profiles).where(profiles.c.hub == hub))).mappings()
            own = sorted((dict(row) for row in rows), key=lambda row: str(row["id"]))
            keys = [str(row["id"]) for row in own]
            outbox = bus.outbox
            messages = await session.execute(
                select(outbox.c.message_id, outbox.c.payload).where(outbox.c.key.in_(keys))
            )
            erased = await session.execute(select(erasures).where(erasures.c.hub == hub))
            return {
                "profiles": own,
                "messages": sorted(map(tuple, messages.all())),
                "erasures": [tuple(row) for row in erased.all()],
            }


@pytest.fixture
async def matrix(registry: Registry) -> Matrix:
    """Both hubs with an account of every role; each hub with a network-shared and a
    hub-only profile that has a contact."""
    accounts = {("demo", Role.HUB_ADMIN): ("admin@demo.local", "tandem-dev")}
    auth: dict[tuple[str, Role], dict[str, str]] = {("demo", Role.HUB_ADMIN): registry.admin}
    for hub in HUBS:
        for role in Role:
            if (hub, role) in auth:
                continue
            email = f"matrix-{role.value}@{hub}.example"
            await add_staff(registry.app, hub=hub, email=email, role=role)
            accounts[hub, role] = (email, PASSWORD)
            auth[hub, role] = await login(registry.client, email, PASSWORD)
    matrix = Matrix(registry=registry, auth=auth, accounts=accounts)
    for hub in HUBS:
        for sharing in ("network", "hub"):
            body = museum(
                name=f"{hub} {sharing}", sharing=sharing, contact=contact(hub, sharing),
                external_id=f"{hub}-{sharing}",
            )  # fmt: skip
            created = await registry.post(body, auth[hub, Role.HUB_ADMIN])
            matrix.profiles[hub, sharing] = created["id"]
    return matrix


async def test_every_role_signs_in_and_wrong_passwords_are_refused(matrix: Matrix) -> None:
    client = matrix.registry.client
    for hub, role in CALLERS:
        email, password = matrix.accounts[hub, role]
        good = await client.post("/v1/auth/token", data={"username": email, "password": password})
        assert good.status_code == 200, (hub, role)
        bad = await client.post("/v1/auth/token", data={"username": email, "password": "wrong-pw"})
        assert bad.status_code == 401, (hub, role)


@pytest.mark.parametrize(("hub", "role"), CALLERS, ids=[f"{h}-{r.value}" for h, r in CALLERS])
async def test_the_matrix(matrix: Matrix, hub: str, role: Role) -> None:
    who = (hub, role)
    other = next(name for name in HUBS if name != hub)
    mine = {sharing: matrix.profiles[hub, sharing] for sharing in ("network", "hub")}
    theirs = {sharing: matrix.profiles[other, sharing] for sharing in ("network", "hub")}
    network_admin = role is Role.NETWORK_ADMIN
    before = await matrix.hub_state(other)

    # --- read: own profiles with contact; the other hub's shared one (and, for a
    # network_admin, its hub-only one) without; otherwise 404 (existence must not leak).
    for sharing, profile_id in mine.items():
        response = await matrix.call(who, "GET", f"/v1/profiles/{profile_id}")
        assert response.status_code == 200
        assert response.json()["contact"]["email"] == contact(hub, sharing)["email"]
    shared = await matrix.call(who, "GET", f"/v1/profiles/{theirs['network']}")
    assert shared.status_code == 200 and shared.json()["contact"] is None
    hidden = await matrix.call(who, "GET", f"/v1/profiles/{theirs['hub']}")
    assert hidden.status_code == (200 if network_admin else 404)

    # --- list: what the caller may see, the other hub's without contacts.
    listed = await matrix.call(who, "GET", "/v1/profiles", params={"per_page": 100})
    assert listed.status_code == 200
    seen = {item["id"]: item for item in listed.json()["items"]}
    expected = {*mine.values(), theirs["network"], *([theirs["hub"]] if network_admin else [])}
    assert set(seen) == expected
    assert all(seen[i]["contact"] is None for i in theirs.values() if i in seen)

    # --- writes across hubs: refused whatever the role (403 where the caller sees the
    # profile, 404 where it does not).
    refused = 403 if network_admin else 404
    for method, body in (("PATCH", {"name": "taken over"}), ("DELETE", None)):
        for sharing, profile_id in theirs.items():
            response = await matrix.call(
                who, method, f"/v1/profiles/{profile_id}", **({"json": body} if body else {})
            )
            assert response.status_code == (403 if sharing == "network" else refused), (
                method,
                sharing,
            )
    # Creating and importing write into the caller's hub, never the other, even when the
    # external_id is one the other hub uses.
    created = await matrix.call(
        who, "POST", "/v1/profiles", json=museum(external_id=f"{other}-hub")
    )
    assert created.status_code == 201 and created.json()["hub"] == hub
    imported = await matrix.call(
        who,
        "POST",
        "/v1/profiles:import",
        json=[museum(external_id=f"{other}-network", name="imported", contact=contact(hub, "x"))],
    )
    assert imported.status_code == 200
    assert (imported.json()["created"], imported.json()["errors"]) == (1, [])
    assert await matrix.hub_state(other) == before

    # --- export: the caller's own hub only.
    export = await matrix.call(who, "GET", "/v1/profiles/export")
    assert export.status_code == 200
    assert f"{hub} network" in export.text and f"{other} network" not in export.text

    # --- writes in the own hub: allowed for every role.
    patched = await matrix.call(who, "PATCH", f"/v1/profiles/{mine['hub']}", json={"city": "Bonn"})
    assert patched.status_code == 200 and patched.json()["version"] == 2
    erased = await matrix.call(who, "DELETE", f"/v1/profiles/{mine['network']}")
    assert erased.status_code == 204
    assert await matrix.hub_state(other) == before

    # --- no response carried the other hub's contact data.
    for sharing in ("network", "hub"):
        leaked = contact(other, sharing)
        for answer in matrix.answers:
            assert leaked["email"] not in answer.text and leaked["name"] not in answer.text, (
                answer.request.method,
                answer.request.url,
            )


async def test_requests_without_a_valid_token_are_refused(matrix: Matrix) -> None:
    client = matrix.registry.client
    profile_id = matrix.profiles["demo", "network"]
    before = await matrix.registry.snapshot()
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/v1/profiles", {"json": museum()}),
        ("GET", "/v1/profiles", {}),
        ("GET", f"/v1/profiles/{profile_id}", {}),
        ("PATCH", f"/v1/profiles/{profile_id}", {"json": {"name": "x"}}),
        ("DELETE", f"/v1/profiles/{profile_id}", {}),
        ("GET", "/v1/profiles/export", {}),
        ("POST", "/v1/profiles:import", {"json": [museum(external_id="x")]}),
    ]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        for method, url, kwargs in calls:
            response = await client.request(method, url, headers=headers, **kwargs)
            assert response.status_code == 401, (method, url, headers)
    assert await matrix.registry.snapshot() == before
