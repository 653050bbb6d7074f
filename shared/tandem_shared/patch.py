"""Fields of partial updates (PATCH bodies)."""

from __future__ import annotations

from typing import Any

from pydantic import Field


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def left_out_unless_sent(**constraints: Any) -> Any:
    """A field a patch may leave out: only the fields sent are applied (`model_fields_set`),
    so its default (None) is never read; sent, it obeys the constraints and null is refused
    by the field's type. The default stays out of the OpenAPI schema: a placeholder there
    (`""` under `minLength: 1`) would break the schema's own rules."""
    return Field(None, json_schema_extra=_without_default, **constraints)
