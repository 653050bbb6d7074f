"""Rows into records: every repository function returns the domain's frozen dataclasses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Row

R = TypeVar("R")


def record(kind: type[R], row: Row[Any]) -> R:
    """A row of a table as its record (the record's fields are the table's columns)."""
    return kind(**row._mapping)


def maybe(kind: type[R], row: Row[Any] | None) -> R | None:
    return None if row is None else record(kind, row)


def records(kind: type[R], rows: Iterable[Row[Any]]) -> list[R]:
    return [record(kind, row) for row in rows]
