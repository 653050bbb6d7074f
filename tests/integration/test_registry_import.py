"""Bulk import over HTTP against PostgreSQL and the broker: good rows in, bad rows reported
with row/field/reason, idempotent by external_id (a re-import changes nothing, a changed row
gives one new version and one message), in the caller's hub only."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tandem_registry.tables import bus, profiles
from tandem_shared.contracts import parse_message
from tests.support.registry import CONTACT, Registry, museum

pytestmark = pytest.mark.integration
IMPORT = "/v1/profiles:import"


async def import_json(
    registry: Registry, rows: list[Any], auth: dict[str, str] | None = None
) -> Any:
    response = await registry.client.post(IMPORT, json=rows, headers=auth or registry.admin)
    assert response.status_code == 200, response.text
    return response.json()


async def outbox_ids(registry: Registry) -> list[Any]:
    return sorted(row["message_id"] for row in await registry.rows(bus.outbox))


def versions(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {row["external_id"]: row["version"] for row in rows}


async def test_good_rows_go_in_bad_rows_are_reported_and_reimport_changes_nothing(
    registry: Registry,
) -> None:
    rows: list[Any] = [
        museum(external_id="crm-1", contact=CONTACT),
        museum(external_id="crm-2", name="Muzeum Drugie", sharing="hub"),
        museum(name="no external id"),  # row 3
        museum(external_id="crm-4", country="Poland", subsectors=["opera"]),  # row 4
        museum(external_id="crm-1"),  # row 5: repeated
        "not an object",  # row 6
        museum(external_id="crm-7", surprise=True),  # row 7
    ]
    report = await import_json(registry, rows)
    assert (report["created"], report["updated"], report["unchanged"]) == (2, 0, 0)
    errors = {(error["row"], error["field"]) for error in report["errors"]}
    assert errors == {
        (3, "external_id"),
        (4, "country"),
        (4, "subsectors"),
        (5, "external_id"),
        (6, "row"),
        (7, "surprise"),
    }
    assert all(error["reason"] for error in report["errors"])
    stored = await registry.rows(profiles)
    assert versions(stored) == {"crm-1": 1, "crm-2": 1}
    assert {row["hub"] for row in stored} == {"demo"}
    [crm1] = [row for row in stored if row["external_id"] == "crm-1"]
    assert crm1["contact"]["email"] == CONTACT["email"]

    outbox = await outbox_ids(registry)
    again = await import_json(registry, rows[:2])
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert await outbox_ids(registry) == outbox  # no new message
    assert versions(await registry.rows(profiles)) == {"crm-1": 1, "crm-2": 1}

    changed = [rows[0], {**rows[1], "description": "Nowy opis"}]
    third = await import_json(registry, changed)
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 1)
    assert versions(await registry.rows(profiles)) == {"crm-1": 1, "crm-2": 2}
    assert len(await outbox_ids(registry)) == len(outbox) + 1

    records = await registry.messages(expect=3)
    messages = [parse_message(record.value) for record in records]
    # Different keys may sit in different partitions: only per-key order is promised.
    assert sorted((m.data.name, m.data.version) for m in messages) == [  # type: ignore[union-attr]
        ("Muzeum Drugie", 1),
        ("Muzeum Drugie", 2),
        ("Muzeum Okręgowe w Rzeszowie", 1),
    ]
    [latest] = [m for m in messages if m.data.version == 2]
    assert latest.data.description == "Nowy opis"  # type: ignore[union-attr]
    assert all(CONTACT["email"].encode() not in record.value for record in records)


async def test_csv_and_json_lines_imports(registry: Registry) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(
        [
            ["external_id", "name", "kind", "country", "subsectors", "offers", "needs",
             "contact_email", "version"],
            ["c-1", "Galeria Nowa", "heritage", "PL", "gallery; museum", "Wystawy;Warsztaty, kursy",
             json.dumps([{"text": "3D scans", "tags": ["3d"]}]), "anna@example.org", "7"],
            ["c-2", "Bad", "bank", "PL", "", "", "", "", ""],
            ["c-3", "Studio", "creative", "DE", "", "", "", "not-an-email", ""],
        ]
    )  # fmt: skip
    csv_body = buffer.getvalue()
    response = await registry.client.post(
        IMPORT, content=csv_body.encode(), headers={**registry.admin, "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 1
    assert {(e["row"], e["field"]) for e in report["errors"]} == {
        (2, "kind"),
        (3, "contact.email"),
    }
    [galeria] = await registry.rows(profiles)
    assert galeria["subsectors"] == ["gallery", "museum"]
    assert [offer["text"] for offer in galeria["offers"]] == ["Wystawy", "Warsztaty, kursy"]
    assert galeria["needs"] == [{"text": "3D scans", "tags": ["3d"]}]
    assert galeria["contact"]["email"] == "anna@example.org" and galeria["version"] == 1

    lines = "\n".join(
        [json.dumps(museum(external_id="l-1")), "{broken", "", json.dumps(museum(name="x"))]
    )
    response = await registry.client.post(
        IMPORT,
        content=lines.encode(),
        headers={**registry.admin, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 1
    assert {(e["row"], e["field"]) for e in report["errors"]} == {(2, "row"), (4, "external_id")}


async def test_unreadable_imports_are_refused_whole_and_change_nothing(registry: Registry) -> None:
    before = await registry.snapshot()
    cases = [
        ("application/json", b"{not json"),
        ("application/json", b'{"external_id": "x"}'),
        ("text/csv", b"external_id,colour\r\nx,red\r\n"),
        ("text/csv", b"\xff\xfe"),
    ]
    for content_type, body in cases:
        response = await registry.client.post(
            IMPORT, content=body, headers={**registry.admin, "Content-Type": content_type}
        )
        assert response.status_code == 422, (content_type, body, response.text)
        assert response.json()["detail"][0]["loc"][0] == "body"
    response = await registry.client.post(
        IMPORT, content=b"x", headers={**registry.admin, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert (await registry.client.post(IMPORT, json=[museum(external_id="x")])).status_code == 401
    assert await registry.snapshot() == before


async def test_an_import_writes_only_the_callers_hub(registry: Registry) -> None:
    """The same external_id in two hubs is two profiles; neither import touches the other's."""
    await import_json(registry, [museum(external_id="shared-1", name="Demo's")])
    report = await import_json(
        registry, [museum(external_id="shared-1", name="North's")], registry.north
    )
    assert report["created"] == 1
    stored = {row["hub"]: row for row in await registry.rows(profiles)}
    assert {hub: row["name"] for hub, row in stored.items()} == {
        "demo": "Demo's",
        "north": "North's",
    }
    assert {row["version"] for row in stored.values()} == {1}
