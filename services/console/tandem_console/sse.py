"""Server-sent events, both ways (pure): reading the notifier's stream line by line and
writing the events the console relays to the browser."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Event:
    event: str = "message"
    data: str = ""
    id: str | None = None


@dataclass
class Parser:
    """Feed it the stream's lines (without their line ends); it returns each complete event
    once its blank line arrives. Comments (keep-alives) and `retry` are skipped."""

    _event: str = "message"
    _data: list[str] = field(default_factory=list)
    _id: str | None = None
    _dispatchable: bool = False

    def feed(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        value = value.removeprefix(" ") if colon else ""
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\x00" not in value:
            self._id = value
        else:
            return None
        self._dispatchable = True
        return None

    def _dispatch(self) -> Event | None:
        if not self._dispatchable or not self._data:
            self._reset()
            return None
        found = Event(self._event or "message", "\n".join(self._data), self._id)
        self._reset()
        return found

    def _reset(self) -> None:
        self._event, self._data, self._dispatchable = "message", [], False


def encode(event: str, data: str, id: str | None = None) -> str:
    """One event in the wire format; multi-line data becomes several `data:` lines."""
    lines = [f"event: {event}"]
    if id is not None:
        lines.append(f"id: {id}")
    lines.extend(f"data: {line}" for line in data.replace("\r\n", "\n").split("\n"))
    return "\n".join(lines) + "\n\n"
