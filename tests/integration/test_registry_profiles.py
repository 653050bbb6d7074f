"""The registry's profile contract over HTTP against PostgreSQL and the real broker: update,
list, the two-hub authorisation rules, erasure and export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import pytest

from tandem_registry.tables import consents, erasures, profiles, staff
from tandem_shared.contracts import parse_message
from tests.support import complementary_profiles
from tests.support.registry import CONTACT, Registry, museum

pytestmark = pytest.mark.integration


# --------------------------------------------------------------------------- update


async def test_update_increments_the_version_and_publishes_each_change_in_order(
    registry: Registry,
) -> None:
    created = await registry.post(museum(contact=CONTACT))
    # The detected language of each text comes back with it.
    assert [item["language"] for item in created["offers"] + created["needs"]] == ["pl", "pl"]
    assert created["description_language"] is None  # no description
    url = f"/v1/profiles/{created['id']}"
    patches = [
        {"name": "Muzeum Regionalne"},
        {"description": "Kolekcja rzemiosła", "subsectors": ["museum", "crafts"]},
        {"name": "Muzeum Regionalne"},  # no change: no new version, no message
        {},
    ]
    versions = []
    for patch in patches:
        response = await registry.client.patch(url, json=patch, headers=registry.admin)
        assert response.status_code == 200, response.text
        versions.append(response.json()["version"])
    assert versions == [2, 3, 3, 3]

    current = (await registry.client.get(url, headers=registry.admin)).json()
    assert current["name"] == "Muzeum Regionalne"
    assert current["subsectors"] == ["museum", "crafts"]
    assert current["contact"]["email"] == CONTACT["email"]
    assert current["needs"] == created["needs"] and current["updated_at"] > created["updated_at"]

    records = await registry.messages(expect=4, timeout=8)
    messages = [parse_message(record.value) for record in records]
    assert [(m.type, m.data.version) for m in messages] == [
        ("profile.upserted", 1),
        ("profile.upserted", 2),
        ("profile.upserted", 3),
    ]
    assert messages[-1].data.name == "Muzeum Regionalne"  # type: ignore[union-attr]
    assert messages[0].data.needs[0].language == "pl"  # type: ignore[union-attr]
    assert all(CONTACT["email"].encode() not in record.value for record in records)


async def test_rejected_patches_change_nothing(registry: Registry) -> None:
    first = await registry.post(museum(external_id="crm-1"))
    second = await registry.post(museum(external_id="crm-2"))
    url = f"/v1/profiles/{second['id']}"
    before = await registry.snapshot()
    bad = {"surprise": 1, "name": None, "country": "Poland", "subsectors": ["opera"]}
    response = await registry.client.patch(url, json=bad, headers=registry.admin)
    assert response.status_code == 422
    errors = {tuple(error["loc"]): error["msg"] for error in response.json()["detail"]}
    assert set(errors) == {("body", name) for name in bad}
    assert "ISO 3166-1" in errors[("body", "country")]
    bodies: list[Any] = [
        None,
        [],
        "text",
        {"kind": None},
        {"offers": [{"text": ""}]},
        {"website": "not a url"},
    ]
    for body in bodies:
        rejected = await registry.client.patch(url, json=body, headers=registry.admin)
        assert rejected.status_code == 422, body
    conflict = await registry.client.patch(
        url, json={"external_id": first["external_id"]}, headers=registry.admin
    )
    assert conflict.status_code == 409
    assert (await registry.client.patch(url, json={"name": "x"})).status_code == 401
    assert await registry.snapshot() == before


async def test_concurrent_creates_with_one_external_id_make_one_profile(
    registry: Registry,
) -> None:
    """The unique (hub, external_id) race: every loser answers 409, never 500."""
    body = museum(external_id="crm-race")
    responses = await asyncio.gather(
        *(registry.client.post("/v1/profiles", json=body, headers=registry.admin) for _ in range(8))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 7, [response.text for response in responses]
    rows = await registry.rows(profiles)
    assert [row["external_id"] for row in rows] == ["crm-race"]

    other = await registry.post(museum(external_id="crm-other"))
    patches = await asyncio.gather(
        *(
            registry.client.patch(
                f"/v1/profiles/{profile_id}",
                json={"external_id": "crm-new"},
                headers=registry.admin,
            )
            for profile_id in (rows[0]["id"], other["id"])
        )
    )
    assert sorted(response.status_code for response in patches) == [200, 409]
    ids = sorted(row["external_id"] for row in await registry.rows(profiles))
    assert ids in (["crm-new", "crm-other"], ["crm-new", "crm-race"])


# --------------------------------------------------------------------------- list


async def test_list_filters_and_stable_pagination(registry: Registry) -> None:
    made = [
        await registry.post(museum(name=f"Muzeum {n}", country="PL" if n % 2 else "CZ"))
        for n in range(5)
    ]
    _, studio = complementary_profiles()
    made.append(await registry.post(studio))

    async def listed(auth: dict[str, str] | None = None, **params: Any) -> Any:
        response = await registry.client.get(
            "/v1/profiles", params=params, headers=auth or registry.admin
        )
        assert response.status_code == 200, response.text
        return response.json()

    def names(page: Any) -> list[str]:
        return [item["name"] for item in page["items"]]

    everything = await listed()
    assert everything["total"] == 6 and names(everything) == [p["name"] for p in made]
    pages = [await listed(page=page, per_page=4) for page in (1, 2, 3)]
    assert [names(page) for page in pages] == [names(everything)[:4], names(everything)[4:], []]
    assert {page["total"] for page in pages} == {6}

    assert names(await listed(kind="creative")) == [studio["name"]]
    assert names(await listed(subsector="ar_vr")) == [studio["name"]]
    assert names(await listed(country="CZ")) == ["Muzeum 0", "Muzeum 2", "Muzeum 4"]
    assert (await listed(country="CZ", kind="heritage", per_page=2))["total"] == 3
    assert (await listed(q="PHOTOGRAMMETRIE"))["total"] == 1  # offers text, any case
    assert (await listed(q="digitalizacji 3D"))["total"] == 5  # Polish needs text
    assert (await listed(q="muzeum 3"))["total"] == 1
    assert (await listed(q="100%_"))["total"] == 0  # LIKE wildcards are literal

    for params in ({"subsector": "opera"}, {"country": "pl"}, {"per_page": 0}, {"page": 0}):
        response = await registry.client.get("/v1/profiles", params=params, headers=registry.admin)
        assert response.status_code == 422, params
        assert response.json()["detail"][0]["loc"][-1] == next(iter(params))


# --------------------------------------------------------------------------- two hubs


async def test_other_hubs_see_shared_profiles_without_contact_and_never_write(
    registry: Registry,
) -> None:
    private = await registry.post(museum(name="Private", sharing="hub", contact=CONTACT))
    shared = await registry.post(museum(name="Shared", contact=CONTACT))
    north_own = await registry.post(museum(name="North own", sharing="hub"), registry.north)
    before = await registry.snapshot()

    async def call(method: str, profile: Any, auth: dict[str, str]) -> int:
        body = {"name": "hijacked"} if method == "PATCH" else None
        response = await registry.client.request(
            method, f"/v1/profiles/{profile['id']}", json=body, headers=auth
        )
        return response.status_code

    for auth in (registry.north, registry.network):
        assert await call("PATCH", shared, auth) == 403
        assert await call("DELETE", shared, auth) == 403
    for method in ("GET", "PATCH", "DELETE"):
        assert await call(method, private, registry.north) == 404
        assert await call(method, north_own, registry.admin) == 404
    assert await call("PATCH", private, registry.network) == 403
    assert await registry.snapshot() == before

    seen = (
        await registry.client.get(f"/v1/profiles/{shared['id']}", headers=registry.north)
    ).json()
    assert seen["name"] == "Shared" and seen["contact"] is None
    north_list = (await registry.client.get("/v1/profiles", headers=registry.north)).json()
    assert [(p["name"], p["contact"]) for p in north_list["items"]] == [
        ("Shared", None),
        ("North own", None),
    ]
    network_list = (await registry.client.get("/v1/profiles", headers=registry.network)).json()
    assert [p["name"] for p in network_list["items"]] == ["Private", "Shared", "North own"]
    assert all(p["contact"] is None for p in network_list["items"])
    own_list = (await registry.client.get("/v1/profiles", headers=registry.admin)).json()
    assert [p["contact"] for p in own_list["items"]] == [CONTACT, CONTACT]


# --------------------------------------------------------------------------- erasure


async def test_erasure_leaves_no_personal_data_and_publishes_erased_then_tombstone(
    registry: Registry,
) -> None:
    created = await registry.post(museum(name="Pracownia Anny Nowak", contact=CONTACT))
    url = f"/v1/profiles/{created['id']}"
    patched = await registry.client.patch(url, json={"city": "Rzeszów"}, headers=registry.admin)
    assert patched.status_code == 200
    assert len(await registry.messages(expect=2)) == 2  # both upserts are out

    response = await registry.client.delete(url, headers=registry.admin)
    assert response.status_code == 204 and response.content == b""
    assert (await registry.client.get(url, headers=registry.admin)).status_code == 404
    assert (await registry.client.delete(url, headers=registry.admin)).status_code == 404

    snapshot = await registry.snapshot()
    dump = json.dumps(snapshot, default=str)
    for personal in ("Anna", "Nowak", CONTACT["email"], CONTACT["phone"], "Rzeszów"):
        assert personal not in dump, personal
    assert await registry.rows(profiles) == [] and await registry.rows(consents) == []
    [logged] = await registry.rows(erasures)
    assert (str(logged["profile_id"]), logged["hub"]) == (created["id"], "demo")
    [admin] = [row for row in await registry.rows(staff) if row["email"] == "admin@demo.local"]
    assert logged["erased_by"] == str(admin["id"]) and logged["erased_at"] is not None

    records = await registry.messages(expect=4)
    assert [record.key.decode() for record in records] == [created["id"]] * 4
    erased = parse_message(records[2].value)
    assert erased.type == "profile.erased" and erased.data.version == 3
    assert records[3].value is None


# --------------------------------------------------------------------------- consents


async def test_storing_a_contact_or_sharing_with_the_network_records_a_consent(
    registry: Registry,
) -> None:
    async def recorded() -> list[tuple[str, str]]:
        rows = sorted(await registry.rows(consents), key=lambda row: row["recorded_at"])
        return [(str(row["profile_id"]), row["purpose"]) for row in rows]

    [admin] = [row for row in await registry.rows(staff) if row["email"] == "admin@demo.local"]
    shared = await registry.post(museum(contact=CONTACT))  # network-shared, with a contact
    private = await registry.post(museum(sharing="hub"))
    assert await recorded() == [
        (shared["id"], "contact_storage"),
        (shared["id"], "network_sharing"),
    ]
    assert {row["recorded_by"] for row in await registry.rows(consents)} == {str(admin["id"])}

    async def patch(profile: Any, body: dict[str, Any]) -> None:
        url = f"/v1/profiles/{profile['id']}"
        response = await registry.client.patch(url, json=body, headers=registry.admin)
        assert response.status_code == 200, response.text

    await patch(shared, {"name": "Muzeum Nowe", "sharing": "network"})  # nothing new
    await patch(private, {"sharing": "network", "contact": {"name": "Jan"}})
    await patch(shared, {"contact": {**CONTACT, "phone": None}})
    assert (await recorded())[2:] == [
        (private["id"], "contact_storage"),
        (private["id"], "network_sharing"),
        (shared["id"], "contact_storage"),
    ]

    imported = museum(external_id="crm-9", contact=CONTACT, sharing="hub")
    response = await registry.client.post(
        "/v1/profiles:import", json=[imported], headers=registry.admin
    )
    assert response.json()["created"] == 1
    assert [purpose for _, purpose in await recorded()][5:] == ["contact_storage"]

    await registry.client.delete(f"/v1/profiles/{shared['id']}", headers=registry.admin)
    assert all(profile_id != shared["id"] for profile_id, _ in await recorded())
    assert len(await recorded()) == 3


# --------------------------------------------------------------------------- export


async def test_export_is_the_hubs_own_profiles_as_csv(registry: Registry) -> None:
    tricky = 'Line one, with "quotes"\nline two; ąęłóż'
    first = await registry.post(museum(description=tricky, contact=CONTACT, region="PL82"))
    second = await registry.post(museum(name="Second", sharing="hub"))
    await registry.post(museum(name="Not ours"), registry.north)

    response = await registry.client.get("/v1/profiles/export", headers=registry.admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows] == [first["id"], second["id"]]
    row = rows[0]
    assert row["description"] == tricky and row["name"] == first["name"]
    assert row["subsectors"] == "museum" and row["languages"] == "pl;en"
    # The export holds what was sent (it imports back): texts and tags, no detected language.
    sent_needs = [{"text": need["text"], "tags": need["tags"]} for need in first["needs"]]
    assert json.loads(row["needs"]) == sent_needs
    assert (row["contact_name"], row["contact_email"], row["contact_phone"]) == (
        CONTACT["name"],
        CONTACT["email"],
        CONTACT["phone"],
    )
    assert (row["region"], row["city"], row["version"]) == ("PL82", "", "1")
    assert rows[1]["contact_email"] == "" and rows[1]["sharing"] == "hub"

    north = await registry.client.get("/v1/profiles/export", headers=registry.north)
    assert [r["name"] for r in csv.DictReader(io.StringIO(north.text))] == ["Not ours"]
    assert (await registry.client.get("/v1/profiles/export")).status_code == 401
