"""The printable table plan: slots down, tables across, the two organisations of each
meeting in the cell (pure; every text from users is HTML-escaped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
p.meta { margin: 0 0 1rem; color: #444; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: .35rem .5rem; vertical-align: top; font-size: .9rem; }
th { background: #eee; }
td.free { color: #aaa; text-align: center; }
@media print { body { margin: 0; } th { background: none; } }
"""


def render_table_plan(
    *,
    title: str,
    place: str | None,
    timezone: str,
    slots: Sequence[tuple[datetime, datetime]],
    tables: Sequence[str],
    cells: Mapping[tuple[int, str], tuple[str, str]],
) -> str:
    """`slots` are (start, end) in the event's zone; `cells` maps (slot, table) to the two
    organisation names meeting there."""
    header = "".join(f"<th>{escape(table)}</th>" for table in tables)
    rows = [_row(index, start, end, tables, cells) for index, (start, end) in enumerate(slots)]
    meta = " · ".join(escape(part) for part in (place, f"times in {timezone}") if part)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} — table plan</title>'
        f"<style>{_STYLE}</style></head><body>"
        f'<h1>{escape(title)} — table plan</h1><p class="meta">{meta}</p>'
        f"<table><thead><tr><th>Slot</th>{header}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></body></html>\n"
    )


def _row(
    index: int,
    start: datetime,
    end: datetime,
    tables: Sequence[str],
    cells: Mapping[tuple[int, str], tuple[str, str]],
) -> str:
    when = f"{start:%a %d %b} {start:%H:%M}-{end:%H:%M}"
    tds = []
    for table in tables:
        meeting = cells.get((index, table))
        if meeting is None:
            tds.append('<td class="free">—</td>')
        else:
            tds.append(f"<td>{escape(meeting[0])}<br>&amp; {escape(meeting[1])}</td>")
    # The API's slot number, so that the printed plan and a pin or a forbidden slot agree.
    return f"<tr><th>{index} · {escape(when)}</th>{''.join(tds)}</tr>"
