"""What the emulator accepts off the wire: bounded request bodies and bounded JSON.

The emulator is a real server on a real port, so anything can connect to it: a client with a
broken ``Content-Length``, a chunked body with a bad size line, a 400 MB upload, JSON nested ten
thousand deep. Each gets a 4xx answer in the gateway's envelope, never a traceback or an
unbounded buffer. Kept apart from :mod:`pytest_anyint.emulator` so the limits are easy to find.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

#: Largest request body the emulator reads (Anthropic's own limit for Messages is 32 MB).
MAX_BODY_BYTES = 32 * 1024 * 1024
#: Deepest JSON nesting the emulator parses; real requests stay far below it.
MAX_JSON_DEPTH = 64
#: Longest chunk-size line of a chunked body (hex digits plus extensions).
_MAX_CHUNK_LINE = 1024
_DIGITS = re.compile(rb"^[0-9]+$")
_HEX = re.compile(rb"^[0-9A-Fa-f]{1,16}$")


class Reader(Protocol):
    """What the body readers need of a socket file: ``read`` and ``readline`` with a size bound."""

    def read(self, size: int | None = ..., /) -> bytes: ...

    def readline(self, size: int | None = ..., /) -> bytes: ...


class BadRequest(Exception):
    """A request the emulator refuses before routing it: ``status`` and a one-line ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _too_large(limit: int) -> BadRequest:
    return BadRequest(413, f"Request body too large: the emulator accepts at most {limit} bytes")


def read_body(headers: Mapping[str, str], rfile: Reader, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, read within ``limit``; BadRequest for a malformed length or chunk framing."""
    encoding = (headers.get("transfer-encoding") or "").lower()
    if "chunked" in encoding:
        return _read_chunked(rfile, limit)
    raw_length = (headers.get("content-length") or "").strip()
    if not raw_length:
        return b""
    if not _DIGITS.match(raw_length.encode("ascii", "replace")):
        raise BadRequest(400, f"Malformed Content-Length header: expected a number of bytes, got {raw_length[:40]!r}")
    length = int(raw_length)
    if length > limit:
        raise _too_large(limit)
    data = rfile.read(length) if length else b""
    if len(data) < length:
        raise BadRequest(400, f"Request body ended after {len(data)} of the {length} bytes its Content-Length announced")
    return data


def _read_chunked(rfile: Reader, limit: int) -> bytes:
    data = bytearray()
    while True:
        line = rfile.readline(_MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\n") or len(line) > _MAX_CHUNK_LINE:
            raise BadRequest(400, "Malformed chunked body: a chunk-size line is missing, cut off or too long")
        size_text = line.split(b";", 1)[0].strip()
        if not _HEX.match(size_text):
            shown = size_text[:20].decode("ascii", "replace")
            raise BadRequest(400, f"Malformed chunked body: chunk size {shown!r} is not a hexadecimal number")
        size = int(size_text, 16)
        if size == 0:
            for _ in range(100):  # trailer fields, then the empty line
                trailer = rfile.readline(_MAX_CHUNK_LINE + 1)
                if trailer in (b"\r\n", b"\n", b""):
                    return bytes(data)
            raise BadRequest(400, "Malformed chunked body: too many trailer lines")
        if len(data) + size > limit:
            raise _too_large(limit)
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise BadRequest(400, "Malformed chunked body: the body ended inside a chunk")
        data += chunk
        if rfile.readline(3) not in (b"\r\n", b"\n"):
            raise BadRequest(400, "Malformed chunked body: a chunk is longer than its size line says")


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (iterative: no recursion of its own)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def parse_body(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON of a body (None when empty or not JSON); BadRequest when it nests too deep."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except RecursionError:
        raise BadRequest(400, f"Request JSON nests deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError):
        return None
    if _depth_exceeds(value, max_depth):
        raise BadRequest(400, f"Request JSON nests deeper than {max_depth} levels")
    return value


__all__ = ["BadRequest", "MAX_BODY_BYTES", "MAX_JSON_DEPTH", "parse_body", "read_body"]
