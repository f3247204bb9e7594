"""One parsed server-sent event (``sse.SSEEvent``), in a module of its own.

A frozen dataclass builds six methods by ``exec`` at import on Python 3.11; ``sse`` loads this
module when it parses its first stream, so a process that meets no stream never pays for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
        """The data as JSON (parsed once: usage and contracts both read it); ValueError when not JSON."""
        try:
            return self.__dict__["_json"]
        except KeyError:
            pass
        value = json.loads(self.data)
        object.__setattr__(self, "_json", value)
        return value
