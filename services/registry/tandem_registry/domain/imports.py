"""Bulk import of profiles (pure: parsing and validation, no I/O).

An import is a list of complete profiles, each with its `external_id` (which makes the
import idempotent: unknown -> created, known and different -> updated, known and the
same -> unchanged). Every row is checked on its own; a bad row is reported as
`{row, field, reason}` and the good rows still go in.

Formats (`row` numbers count records from 1):

- JSON: an array of profile objects (the `POST /v1/profiles` shape).
- JSON lines (`application/x-ndjson`): one profile object per line; `row` is the line.
- CSV (`text/csv`, UTF-8, a header row). Columns, every one optional but `external_id`,
  `name`, `kind` and `country`; an empty cell means "not set":

| column | content |
|---|---|
| `external_id` | required: the hub's own id of the organisation |
| `name`, `kind`, `description`, `country`, `region` | as in the profile |
| `city`, `website`, `sharing` | as in the profile |
| `subsectors`, `looking_for`, `languages` | codes separated by `;` |
| `offers`, `needs` | texts separated by `;`, or a JSON array of `{"text", "tags"}` (as |
| | the export writes it: for texts holding `;`, or with tags) |
| `contact_name`, `contact_email`, `contact_phone` | the contact (personal data) |
| `id`, `version`, `created_at`, `updated_at` | ignored, so an export can be imported back |

Other columns are refused (the whole file: a misspelt column would silently drop data).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError

from tandem_registry.domain.profiles import ProfileIn
from tandem_shared.errors import Invalid

MAX_ROWS = 10_000
FORMATS = ("json", "jsonl", "csv")

_CODE_LISTS = ("subsectors", "looking_for", "languages")
_TEXT_LISTS = ("offers", "needs")
_CONTACT = ("contact_name", "contact_email", "contact_phone")
_PLAIN = tuple(
    name for name in ProfileIn.model_fields if name not in {*_CODE_LISTS, *_TEXT_LISTS, "contact"}
)
_IGNORED = ("id", "version", "created_at", "updated_at")
CSV_COLUMNS = (*_PLAIN, *_CODE_LISTS, *_TEXT_LISTS, *_CONTACT)


class ImportRow(ProfileIn):
    """A profile in an import: `external_id` is required (it identifies the row)."""

    external_id: str = Field(min_length=1, max_length=200)


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str


class ImportFormatError(Invalid):
    """The file as a whole cannot be read (not a per-row problem): 422 on `field`."""


@dataclass(frozen=True)
class ParsedImport:
    rows: list[tuple[int, ImportRow]]  # (row number, profile), in file order
    errors: list[RowError]


def parse_import(body: bytes, fmt: str) -> ParsedImport:
    """Read `body` in `fmt` (json | jsonl | csv) and validate every row."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFormatError("body", "the file must be UTF-8 text") from error
    if fmt == "json":
        records = _json_records(text)
    elif fmt == "jsonl":
        records = _jsonl_records(text)
    elif fmt == "csv":
        records = _csv_records(text)
    else:
        raise ImportFormatError("format", f"unknown format {fmt!r}; use one of {FORMATS}")
    return validate_records(records)


def validate_records(records: Iterable[tuple[int, Any]]) -> ParsedImport:
    """Validate each (row, raw profile); a repeated external_id is an error on the later row."""
    rows: list[tuple[int, ImportRow]] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    for number, record in records:
        if len(rows) + len(errors) >= MAX_ROWS:
            raise ImportFormatError("body", f"at most {MAX_ROWS} rows per import")
        if isinstance(record, RowError):
            errors.append(record)
            continue
        try:
            profile = ImportRow.model_validate(record)
        except ValidationError as error:
            errors.extend(_row_errors(number, error))
            continue
        if profile.external_id in first_row:
            reason = f"external_id repeated (first on row {first_row[profile.external_id]})"
            errors.append(RowError(number, "external_id", reason))
            continue
        first_row[profile.external_id] = number
        rows.append((number, profile))
    return ParsedImport(rows=rows, errors=errors)


def _row_errors(number: int, error: ValidationError) -> list[RowError]:
    return [
        RowError(number, ".".join(str(part) for part in problem["loc"]) or "row", problem["msg"])
        for problem in error.errors()
    ]


# --------------------------------------------------------------------------- JSON


def _json_records(text: str) -> list[tuple[int, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFormatError("body", f"not JSON: {error}") from error
    if not isinstance(data, list):
        raise ImportFormatError("body", "a JSON import is an array of profile objects")
    return list(enumerate(data, start=1))


def _jsonl_records(text: str) -> list[tuple[int, Any]]:
    records: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            records.append((number, RowError(number, "row", f"not JSON: {error.msg}")))
    return records


# --------------------------------------------------------------------------- CSV


def _csv_records(text: str) -> list[tuple[int, Any]]:
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        header = reader.fieldnames
    except csv.Error as error:
        raise ImportFormatError("body", f"not CSV: {error}") from error
    if not header:
        raise ImportFormatError("body", "a CSV import needs a header row")
    unknown = [name for name in header if name not in {*CSV_COLUMNS, *_IGNORED}]
    if unknown:
        raise ImportFormatError("columns", f"unknown columns {unknown}; known: {list(CSV_COLUMNS)}")
    records: list[tuple[int, Any]] = []
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return records
        except csv.Error as error:
            raise ImportFormatError("body", f"not CSV (row {number}): {error}") from error
        records.append((number, _csv_record(number, cells)))


def _csv_record(number: int, cells: dict[str | Any, Any]) -> dict[str, Any] | RowError:
    if None in cells:  # more cells than the header has columns
        return RowError(number, "row", "more cells than columns")
    values = {name: value for name, value in cells.items() if value not in (None, "")}
    record: dict[str, Any] = {name: values[name] for name in _PLAIN if name in values}
    for name in _CODE_LISTS:
        if name in values:
            record[name] = [part.strip() for part in values[name].split(";") if part.strip()]
    for name in _TEXT_LISTS:
        if name in values:
            parsed = _text_list(values[name])
            if parsed is None:
                return RowError(number, name, "not a JSON array of {text, tags}")
            record[name] = parsed
    contact = {name.removeprefix("contact_"): values[name] for name in _CONTACT if name in values}
    if contact:
        record["contact"] = contact
    return record


def _text_list(cell: str) -> list[Any] | None:
    if cell.lstrip().startswith("["):
        try:
            parsed = json.loads(cell)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, list) else None
    return [{"text": part.strip()} for part in cell.split(";") if part.strip()]


def profile_changes(stored: dict[str, Any], profile: ProfileIn) -> dict[str, Any]:
    """The columns where `profile` (a complete profile: absent fields mean their
    defaults) differs from the stored row."""
    wanted = profile.model_dump(mode="json")
    return {name: value for name, value in wanted.items() if stored.get(name) != value}


def format_errors(errors: Sequence[RowError]) -> list[dict[str, Any]]:
    return [{"row": e.row, "field": e.field, "reason": e.reason} for e in errors]
