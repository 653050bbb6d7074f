"""Bar charts drawn as SVG by the server (pure): geometry only; the template draws it and
labels it, and a table next to it carries the same figures for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LABEL_WIDTH = 220  # where the bars start (the labels sit left of it)
TRACK = 320  # the longest bar
ROW = 36


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as people read it (a count, a percentage)
    y: int
    length: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    track: int = TRACK


def bar_chart(rows: Sequence[tuple[str, float, str]], maximum: float | None = None) -> Chart:
    """(label, value, shown) rows as horizontal bars scaled to `maximum` (default: the
    largest value; an all-zero chart draws no bar at all)."""
    top = maximum if maximum is not None else max((value for _, value, _ in rows), default=0.0)
    bars = [
        Bar(
            label=label,
            value=value,
            shown=shown,
            y=10 + index * ROW,
            length=round(TRACK * min(value, top) / top, 1) if top > 0 else 0.0,
        )
        for index, (label, value, shown) in enumerate(rows)
    ]
    return Chart(bars=bars, width=LABEL_WIDTH + TRACK + 80, height=20 + ROW * len(rows))
