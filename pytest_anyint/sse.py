"""Server-sent events: split a stream body into raw events and parse them.

Cassettes keep a stream as its list of raw events (line endings included) so that joining them
gives back the exact bytes; contracts and drift read the parsed events.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_EVENT_END = re.compile(r"(\r\n|\r|\n)(\r\n|\r|\n)")
_LINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SSEEvent:
    """One event: its ``event:`` name (None when absent), its joined ``data:`` and raw text."""

    event: str | None
    data: str
    raw: str

    @property
    def is_done(self) -> bool:
        return self.data.strip() == "[DONE]"

    def json(self) -> Any:
        """The data as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.data)


def split_raw(text: str) -> list[str]:
    """Cut a stream into raw events, each keeping its terminating blank line; lossless."""
    pieces: list[str] = []
    start = 0
    for match in _EVENT_END.finditer(text):
        end = match.end()
        pieces.append(text[start:end])
        start = end
    if start < len(text):
        pieces.append(text[start:])  # an unterminated tail (a truncated stream) is kept as is
    return pieces


def parse_event(raw: str) -> SSEEvent | None:
    """Parse one raw event; None for a comment-only or empty block."""
    name: str | None = None
    data: list[str] = []
    seen = False
    for line in _LINE.split(raw):
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            name, seen = value, True
        elif field == "data":
            data.append(value)
            seen = True
    if not seen:
        return None
    return SSEEvent(name, "\n".join(data), raw)


def parse(text: str) -> list[SSEEvent]:
    events = []
    for raw in split_raw(text):
        event = parse_event(raw)
        if event is not None:
            events.append(event)
    return events


def is_terminated(text: str) -> bool:
    """Whether a stream ends on a complete event (a blank line), not mid-event."""
    return bool(text) and _EVENT_END.search(text[-4:]) is not None


def is_event_stream(content_type: str | None) -> bool:
    return bool(content_type) and "text/event-stream" in content_type.lower()
