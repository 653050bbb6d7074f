"""The CSV export of a hub's profiles (pure: the csv module only).

One row per profile, a header row first, in creation order. Columns:

| column | content |
|---|---|
| `id`, `external_id` | the profile's UUID; the hub's own id (may be empty) |
| `name`, `kind`, `description` | as in the profile |
| `subsectors`, `looking_for`, `languages` | codes separated by `;` |
| `offers`, `needs` | JSON arrays of `{"text", "tags"}` (texts may hold any character) |
| `country`, `region`, `city`, `website` | as in the profile (empty when unset) |
| `contact_name`, `contact_email`, `contact_phone` | the contact (personal data; empty when unset) |
| `sharing`, `version`, `created_at`, `updated_at` | as in the profile (ISO 8601 times) |
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

COLUMNS = (
    "id",
    "external_id",
    "name",
    "kind",
    "subsectors",
    "description",
    "offers",
    "needs",
    "looking_for",
    "languages",
    "country",
    "region",
    "city",
    "website",
    "contact_name",
    "contact_email",
    "contact_phone",
    "sharing",
    "version",
    "created_at",
    "updated_at",
)
_CODE_LISTS = ("subsectors", "looking_for", "languages")
_TEXT_LISTS = ("offers", "needs")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def export_row(profile: Mapping[Any, Any]) -> dict[str, str]:
    contact = profile.get("contact") or {}
    row = {column: _cell(profile.get(column)) for column in COLUMNS}
    row.update({column: ";".join(profile[column]) for column in _CODE_LISTS})
    row.update({column: json.dumps(profile[column], ensure_ascii=False) for column in _TEXT_LISTS})
    row.update({f"contact_{part}": _cell(contact.get(part)) for part in ("name", "email", "phone")})
    return row


def profiles_csv(profiles: Iterable[Mapping[Any, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(export_row(profile) for profile in profiles)
    return buffer.getvalue()
