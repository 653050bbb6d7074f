"""The registry's pure pieces: partial updates, list filters, the CSV export and the admin
CLI's hub and account rules."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from tandem_registry.domain.accounts import HubIn, PasswordIn, StaffIn
from tandem_registry.domain.consents import Purpose, purposes
from tandem_registry.domain.export import COLUMNS, profiles_csv
from tandem_registry.domain.imports import (
    MAX_ROWS,
    ImportFormatError,
    parse_import,
    profile_changes,
)
from tandem_registry.domain.profiles import ProfileIn, ProfilePatch, ProfileQuery

pytestmark = pytest.mark.unit


def error_fields(model: Any, data: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return {".".join(str(part) for part in error["loc"]) for error in caught.value.errors()}


def test_a_patch_holds_only_the_fields_sent() -> None:
    patch = ProfilePatch.model_validate({"city": None, "subsectors": ["museum", "museum"]})
    assert patch.changes() == {"city": None, "subsectors": ["museum"]}
    assert ProfilePatch.model_validate({}).changes() == {}


def test_a_patch_follows_the_profile_rules() -> None:
    bad = {"name": None, "kind": "bank", "country": "pl", "languages": ["EN"], "extra": 1}
    assert error_fields(ProfilePatch, bad) == set(bad)
    assert error_fields(ProfilePatch, {"offers": [{"text": ""}]}) == {"offers.0.text"}
    assert set(ProfilePatch.model_fields) == set(ProfileIn.model_fields)


def test_list_filters_are_validated() -> None:
    query = ProfileQuery.model_validate({"subsector": "museum", "country": "PL", "q": "3D"})
    assert (query.page, query.per_page) == (1, 20)
    bad = {"subsector": "opera", "country": "Poland", "kind": "bank", "q": "", "per_page": 101}
    assert error_fields(ProfileQuery, bad) == set(bad)


def profile_row(**changes: Any) -> dict[str, Any]:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    row = ProfileIn.model_validate(
        {"name": "Muzeum", "kind": "heritage", "country": "PL", "languages": ["pl", "en"]}
    ).model_dump(mode="json")
    return {**row, "id": uuid.uuid4(), "hub": "demo", "version": 1, "created_at": now,
            "updated_at": now, **changes}  # fmt: skip


def test_the_export_has_the_documented_columns_and_survives_any_text() -> None:
    offers = [{"text": 'Skanowanie 3D, "fotogrametria"\nnowa linia', "tags": ["3d"]}]
    contact = {"name": "Anna", "email": "anna@example.org", "phone": None}
    rows = [profile_row(offers=offers, contact=contact), profile_row(contact=None)]
    parsed = list(csv.DictReader(io.StringIO(profiles_csv(rows))))
    assert tuple(parsed[0]) == COLUMNS
    assert json.loads(parsed[0]["offers"]) == offers
    assert parsed[0]["languages"] == "pl;en" and parsed[0]["created_at"].startswith("2026-01-02")
    assert (parsed[0]["contact_email"], parsed[0]["contact_phone"]) == ("anna@example.org", "")
    assert parsed[1]["contact_name"] == "" and parsed[1]["region"] == ""
    assert profiles_csv([]) == ",".join(COLUMNS) + "\r\n"


def test_hub_and_account_rules() -> None:
    hub = HubIn(id="north-2", name="North", country="DE", languages=["de", "de"])
    assert hub.languages == ["de"]
    bad_hub = {"id": "North", "name": "", "country": "DEU", "region": "x", "languages": ["d"]}
    assert error_fields(HubIn, bad_hub) == set(bad_hub)
    staff = StaffIn(hub="north", email="ada@north.example", password="long-enough")
    assert staff.role.value == "staff"
    bad_staff = {"hub": "", "email": "nope", "password": "short", "role": "king"}
    assert error_fields(StaffIn, bad_staff) == set(bad_staff)
    assert error_fields(PasswordIn, {"password": "x" * 201}) == {"password"}


def test_an_export_imports_back_to_the_same_profiles() -> None:
    offers = [{"text": "Skanowanie 3D; fotogrametria", "tags": ["3d"]}]
    contact = {"name": "Anna", "email": "anna@example.org", "phone": None}
    row = profile_row(external_id="crm-1", offers=offers, contact=contact, subsectors=["museum"])
    parsed = parse_import(profiles_csv([row]).encode(), "csv")
    assert parsed.errors == []
    [(number, profile)] = parsed.rows
    assert number == 1
    assert profile_changes(row, profile) == {}


def test_import_rows_are_checked_one_by_one() -> None:
    body = "\n".join(
        [
            json.dumps({"name": "A", "kind": "heritage", "country": "PL", "external_id": "a"}),
            "[1, 2",
            json.dumps({"name": "B", "kind": "heritage", "country": "PL"}),
            json.dumps({"name": "A2", "kind": "heritage", "country": "PL", "external_id": "a"}),
        ]
    )
    parsed = parse_import(body.encode(), "jsonl")
    assert [number for number, _ in parsed.rows] == [1]
    assert [(e.row, e.field) for e in parsed.errors] == [
        (2, "row"),
        (3, "external_id"),
        (4, "external_id"),
    ]
    with pytest.raises(ImportFormatError):
        parse_import(b'{"a": 1}', "json")
    with pytest.raises(ImportFormatError):
        parse_import(b"name,shoe_size\nA,42\n", "csv")
    too_many = json.dumps([{}] * (MAX_ROWS + 1)).encode()
    with pytest.raises(ImportFormatError):
        parse_import(too_many, "json")


def test_consents_are_needed_for_new_contacts_and_new_network_sharing() -> None:
    contact = {"name": "Anna", "email": None, "phone": None}
    new = {"contact": contact, "sharing": "network"}
    assert purposes(None, new) == [Purpose.CONTACT_STORAGE, Purpose.NETWORK_SHARING]
    assert purposes(None, {"contact": None, "sharing": "hub"}) == []
    assert purposes(new, new) == []
    assert purposes(new, {**new, "contact": {**contact, "name": "Jan"}}) == [
        Purpose.CONTACT_STORAGE
    ]
    assert purposes({**new, "sharing": "hub"}, new) == [Purpose.NETWORK_SHARING]
    assert purposes(new, {**new, "contact": None, "sharing": "hub"}) == []
