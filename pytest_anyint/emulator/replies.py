"""What the emulator sends back, and what it knows of a routed request.

A :class:`Reply` is a JSON body, a stream of framed events, or a transport-level misdeed (a reset,
a held connection). Faults arrive as the fault engine's :class:`~pytest_anyint.faults.wire.Wire`
and become a Reply here (:func:`from_wire`), so the emulator puts on its socket exactly the status,
headers and pieces the interceptor puts into an httpx response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..envelopes import gateway_error
from ..families import Family, StreamForm, dump_json
from ..faults.wire import Wire, error_headers

_EPOCH = 1_750_000_000


@dataclass
class Reply:
    """What to send back: a JSON body, a stream of framed events, or a transport-level misdeed."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    #: Stream pieces, each sent as one HTTP chunk (None: a Content-Length body).
    events: list[bytes] | None = None
    #: The stream's event objects and framing, kept so a fault can break this very answer.
    objects: list[Any] | None = None
    #: Drop the connection after the body or the events: no terminator, no last chunk.
    cut: bool = False
    #: The Content-Length a cut plain body announced (more than it sends).
    declared_length: int | None = None
    #: "reset" (RST, no response) or "timeout" (hold, then drop).
    action: str | None = None
    #: A stream that never ends: after the events, keep-alive comments until the client leaves.
    endless: bool = False

    @property
    def answer(self) -> Any:
        """The complete answer a body fault breaks: the stream's event objects, or the JSON body."""
        if self.objects is not None:
            return self.objects
        return self.body


@dataclass
class Routed:
    """A routed request: what the route handlers need."""

    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    body: Any
    family: Family
    model: str | None
    params: dict[str, str]
    stream: bool
    form: StreamForm | None


def json_reply(status: int, obj: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status=status, body=dump_json(obj), headers=dict(headers or {}))


def stream_reply(form: StreamForm, objects: list[Any]) -> Reply:
    """A complete stream of these event objects, framed as the family frames it."""
    return Reply(content_type=form.content_type, events=form.frame(objects), objects=objects)


def injected_headers() -> dict[str, str]:
    """The headers of an injected error (the fault engine's), so SDKs never sleep and get a request id."""
    return {k: v for k, v in error_headers() if k != "content-type"}


def error_reply(status: int, family: str | None, message: str | None = None) -> Reply:
    """The emulator's own error answer on a route: the gateway envelope (Anthropic types on /anthropic/*)."""
    return json_reply(status, gateway_error(status, message, family), injected_headers())


def from_wire(wire: Wire) -> Reply:
    """A fault's wire as the emulator sends it: the same status, headers and pieces."""
    headers = {k: v for k, v in wire.headers if k not in ("content-type", "cache-control")}
    if wire.stream:
        return Reply(status=wire.status, content_type=wire.content_type, headers=headers, events=list(wire.chunks), cut=wire.cut)
    return Reply(status=wire.status, body=wire.body, content_type=wire.content_type, headers=headers, cut=wire.cut,
                 declared_length=wire.declared_length)


def answer_text(answer: Any) -> str:
    """An answer as the assistant's text: text as it is, anything else as its JSON."""
    return answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)


def digest(*parts: Any) -> str:
    """A stable hash of a request's parts: the seed of every id and timestamp the emulator makes."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def created(seed: str) -> int:
    return _EPOCH + int(seed[:8], 16) % 10_000_000


def uuid_of(seed: str) -> str:
    return f"{seed[:8]}-{seed[8:12]}-{seed[12:16]}-{seed[16:20]}-{seed[20:32]}"


def words(text: str) -> int:
    return len(text.split())


__all__ = [
    "Reply",
    "Routed",
    "answer_text",
    "created",
    "digest",
    "error_reply",
    "from_wire",
    "injected_headers",
    "json_reply",
    "stream_reply",
    "uuid_of",
    "words",
]
