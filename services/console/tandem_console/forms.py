"""Forms ↔ the services' JSON (pure): what a submitted form asks the API for, what an
API record looks like in a form, and which form field an API's 422 points at."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

FormValues = Mapping[str, Sequence[str]]
_SEPARATORS = re.compile(r"[\s,;]+")


def form_values(form: Any) -> dict[str, list[str]]:
    """A submitted form (Starlette's FormData) as every field's text values; uploads dropped."""
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}


def first(values: FormValues, name: str) -> str:
    found = values.get(name) or [""]
    return found[0].strip()


def optional(values: FormValues, name: str) -> str | None:
    return first(values, name) or None


def codes(text: str) -> list[str]:
    """Codes typed into one field, separated by commas, semicolons or spaces."""
    return [code for code in _SEPARATORS.split(text.strip()) if code]


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def text_items(text: str, existing: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """One offer or need per line; a line left as it was keeps its tags."""
    tags = {str(item.get("text")): list(item.get("tags") or []) for item in existing}
    return [{"text": line, "tags": tags.get(line, [])} for line in lines(text)]


def form_field(path: str) -> str:
    """The form field an API error path points at: `contact.email` → `contact_email`,
    `offers.2.text` → `offers`, `sessions.1.slots` → `sessions`; `""` → `form`."""
    parts = path.split(".") if path else []
    if not parts:
        return "form"
    if parts[0] == "contact" and len(parts) > 1:
        return f"contact_{parts[1]}"
    return parts[0]


def field_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """API errors by path → errors by form field (the first one of each field)."""
    found: dict[str, str] = {}
    for path, reason in errors.items():
        found.setdefault(form_field(path), reason)
    return found


# --------------------------------------------------------------------------- organisations


def organisation_payload(
    values: FormValues, existing: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The registry's profile JSON from the organisation form (every field: a PATCH
    that clears a field sends it empty)."""
    before = existing or {}
    contact = {key: optional(values, f"contact_{key}") for key in ("name", "email", "phone")}
    return {
        "name": first(values, "name"),
        "kind": first(values, "kind"),
        "subsectors": [code for code in values.get("subsectors", []) if code],
        "description": first(values, "description"),
        "offers": text_items(first(values, "offers"), before.get("offers", [])),
        "needs": text_items(first(values, "needs"), before.get("needs", [])),
        "looking_for": [code for code in values.get("looking_for", []) if code],
        "languages": [code.lower() for code in codes(first(values, "languages"))],
        "country": first(values, "country").upper(),
        "region": optional(values, "region"),
        "city": optional(values, "city"),
        "website": optional(values, "website"),
        "contact": contact if any(contact.values()) else None,
        "sharing": first(values, "sharing") or "hub",
        "external_id": optional(values, "external_id"),
    }


def organisation_form(profile: Mapping[str, Any]) -> dict[str, Any]:
    """A stored profile as the form's field values."""
    contact = profile.get("contact") or {}
    return {
        **{key: profile.get(key) or "" for key in ("name", "kind", "description", "country")},
        **{key: profile.get(key) or "" for key in ("region", "city", "website", "external_id")},
        "subsectors": list(profile.get("subsectors") or []),
        "looking_for": list(profile.get("looking_for") or []),
        "languages": ", ".join(profile.get("languages") or []),
        "offers": "\n".join(item["text"] for item in profile.get("offers") or []),
        "needs": "\n".join(item["text"] for item in profile.get("needs") or []),
        "sharing": profile.get("sharing") or "hub",
        "contact_name": contact.get("name") or "",
        "contact_email": contact.get("email") or "",
        "contact_phone": contact.get("phone") or "",
    }


def organisation_form_values(values: FormValues) -> dict[str, Any]:
    """What the person typed, to show again next to the errors."""
    form: dict[str, Any] = {key: first(values, key) for key in values}
    form["subsectors"] = list(values.get("subsectors", []))
    form["looking_for"] = list(values.get("looking_for", []))
    form["offers"] = "\n".join(lines(first(values, "offers")))
    form["needs"] = "\n".join(lines(first(values, "needs")))
    return form


IMPORT_TYPES = {
    ".csv": "text/csv",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".json": "application/json",
}


def import_media_type(filename: str) -> str | None:
    """The registry's import media type for an uploaded file, by its extension."""
    lowered = filename.lower()
    return next((kind for ext, kind in IMPORT_TYPES.items() if lowered.endswith(ext)), None)


# --------------------------------------------------------------------------- events

SESSION_ROWS = 3  # empty session rows offered on the form (more after saving)


def local_input(moment: str | None, zone: str) -> str:
    """An API time as a datetime-local input's value in the event's zone."""
    if not moment:
        return ""
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def tables_value(text: str) -> list[str] | int:
    """Tables: a count ("12") or labels separated by commas ("A1, A2, Window")."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    return [label.strip() for label in text.split(",") if label.strip()]


def _int(text: str) -> int | str:
    """A number typed into a form; kept as text if it is not one (the API says why)."""
    try:
        return int(text)
    except ValueError:
        return text


def sessions_payload(values: FormValues) -> list[dict[str, Any]]:
    """The filled session rows (session_N_starts_at, ..._slot_minutes, ..._break_minutes,
    ..._slots); a row without a start time is an unused one."""
    found = []
    for index in range(50):
        start = first(values, f"session_{index}_starts_at")
        if not start:
            if f"session_{index}_starts_at" not in values:
                break
            continue
        found.append(
            {
                "starts_at": start,
                "slot_minutes": _int(first(values, f"session_{index}_slot_minutes") or "20"),
                "break_minutes": _int(first(values, f"session_{index}_break_minutes") or "0"),
                "slots": _int(first(values, f"session_{index}_slots") or "1"),
            }
        )
    return found


def event_payload(values: FormValues) -> dict[str, Any]:
    """The events service's JSON from the event form. Times are local to the event's zone
    (datetime-local inputs, no offset), which is how the API reads naive times."""
    capacity = first(values, "capacity")
    return {
        "title": first(values, "title"),
        "kind": first(values, "kind"),
        "description": first(values, "description"),
        "online": first(values, "online") == "true",
        "venue": optional(values, "venue"),
        "address": optional(values, "address"),
        "url": optional(values, "url"),
        "timezone": first(values, "timezone"),
        "starts_at": first(values, "starts_at"),
        "ends_at": first(values, "ends_at"),
        "capacity": _int(capacity) if capacity else None,
        "languages": [code.lower() for code in codes(first(values, "languages"))],
        "sectors": [code for code in values.get("sectors", []) if code],
        "sessions": sessions_payload(values),
        "tables": tables_value(first(values, "tables")),
    }


def event_form(event: Mapping[str, Any]) -> dict[str, Any]:
    """A stored event as the form's field values (times in its zone)."""
    zone = str(event.get("timezone") or "UTC")
    form: dict[str, Any] = {
        **{key: event.get(key) or "" for key in ("title", "kind", "description", "venue")},
        **{key: event.get(key) or "" for key in ("address", "url", "timezone")},
        "online": bool(event.get("online")),
        "starts_at": local_input(event.get("starts_at"), zone),
        "ends_at": local_input(event.get("ends_at"), zone),
        "capacity": event.get("capacity") or "",
        "languages": ", ".join(event.get("languages") or []),
        "sectors": list(event.get("sectors") or []),
        "tables": ", ".join(event.get("tables") or []),
    }
    for index, session in enumerate(event.get("sessions") or []):
        form[f"session_{index}_starts_at"] = local_input(session["starts_at"], zone)
        form[f"session_{index}_slot_minutes"] = session["slot_minutes"]
        form[f"session_{index}_break_minutes"] = session["break_minutes"]
        form[f"session_{index}_slots"] = session["slots"]
    return form


def session_rows(form: Mapping[str, Any]) -> int:
    """How many session rows the form shows: the filled ones and SESSION_ROWS spare."""
    filled = 0
    while form.get(f"session_{filled}_starts_at"):
        filled += 1
    return filled + SESSION_ROWS
