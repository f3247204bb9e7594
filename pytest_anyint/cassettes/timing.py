"""Stream timing: when each event of a recorded stream arrived, the time to the first content
event (TTFT), and replaying a stream at its recorded pace.

A stream's value to a user is often how soon its first words appear, and an app's timeouts and
progress indicators depend on the pace of the rest. Recording keeps, in the response's ``timing``,
each SSE event's offset from the request start (``events_s``, one space-separated string: a
2,000-event stream stays one YAML scalar) and the offset of the first event that carries answer
text (``ttft_s``). Replay reads ``ttft_s`` for the call trail without parsing the stream, and only
``--anyint-pace`` reads ``events_s``. Both are volatile (a re-record with other timings changes no
file).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from .. import sse

#: The family's reader of a stream's answer text (``Family.stream_text``).
StreamText = Callable[[Iterable[Any]], str]


def event_offsets(body: bytes, marks: Sequence[tuple[int, float]]) -> list[float]:
    """Each SSE event's arrival, in seconds from the request start: when the chunk holding its last
    byte arrived. ``marks`` are ``(bytes received so far, seconds since the request start)`` per
    chunk, in order."""
    offsets: list[float] = []
    if not marks:
        return offsets
    end = 0
    mark = 0
    for raw in sse.split_raw(body.decode("utf-8", "replace")):
        end += len(raw.encode("utf-8"))
        while mark < len(marks) - 1 and marks[mark][0] < end:
            mark += 1
        offsets.append(round(marks[mark][1], 4))
    return offsets


def first_content_offset(body: bytes, offsets: Sequence[float], stream_text: StreamText) -> float | None:
    """The offset of the first event whose JSON carries answer text (the family decides what that
    is), or None when no event does (an empty or failed stream)."""
    for raw, offset in zip(sse.split_raw(body.decode("utf-8", "replace")), offsets):
        event = sse.parse_event(raw)
        if event is None or event.is_done:
            continue
        try:
            payload = event.json()
        except ValueError:
            continue
        try:
            if stream_text([payload]):
                return offset
        except (TypeError, AttributeError, KeyError, IndexError):
            continue  # a drifted shape: contracts and drift report it
    return None


def stream_timing(body: bytes, marks: Sequence[tuple[int, float]], stream_text: StreamText | None) -> dict[str, Any]:
    """The timing keys a recorded stream adds to its response: ``events_s`` and, when an event
    carries answer text, ``ttft_s``."""
    offsets = event_offsets(body, marks)
    if not offsets:
        return {}
    out: dict[str, Any] = {"events_s": " ".join(f"{offset:g}" for offset in offsets)}
    ttft = first_content_offset(body, offsets, stream_text) if stream_text is not None else None
    if ttft is not None:
        out["ttft_s"] = ttft
    return out


def recorded_ttft(timing: Mapping[str, Any]) -> float | None:
    """The stored time to the first content event, or None (not a stream, recorded before it was
    kept, or hand-edited into something that is not a number)."""
    value = timing.get("ttft_s")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def recorded_offsets(timing: Mapping[str, Any], events: int) -> list[float] | None:
    """The stored event offsets when they describe this stream (one non-negative number per event,
    never decreasing), else None: the stream is then replayed without waiting."""
    value = timing.get("events_s")
    if not isinstance(value, str):
        return None
    try:
        offsets = [float(part) for part in value.split()]
    except ValueError:
        return None
    if len(offsets) != events or any(b < a for a, b in zip(offsets, offsets[1:])) or (offsets and offsets[0] < 0):
        return None
    return offsets


def pace_factor(text: str) -> float:
    """``--anyint-pace=FACTOR`` as a number, or argparse's one-line usage error."""
    import argparse
    import math

    try:
        factor = float(text)
    except ValueError:
        factor = -1.0
    if not math.isfinite(factor) or factor < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a pace factor: expected a number of 0 or more (1: the recorded pace, "
            f"0.5: twice as fast, 0: no waiting)"
        )
    return factor


class _Paced:
    """The events of a recorded stream, each handed over when its recorded offset (times the pace
    factor) has passed since the stream was created; sync and async alike."""

    def __init__(self, pieces: list[bytes], due: list[float]) -> None:
        self._pieces = pieces
        self._due = due
        self._start = time.monotonic()

    def _wait(self, due: float) -> float:
        return max(0.0, self._start + due - time.monotonic())

    def __iter__(self) -> Iterator[bytes]:
        for piece, due in zip(self._pieces, self._due):
            delay = self._wait(due)
            if delay:
                time.sleep(delay)
            yield piece

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import anyio  # httpx's own dependency: sleeps under asyncio and trio alike

        for piece, due in zip(self._pieces, self._due):
            delay = self._wait(due)
            if delay:
                await anyio.sleep(delay)
            yield piece


_PACED_CLASSES: dict[int, type] = {}


def paced_stream(httpx_module: Any, body: bytes, timing: Mapping[str, Any], factor: float) -> Any:
    """An httpx stream (of ``httpx_module``: httpx or httpx2) that hands over a recorded stream's
    events at their recorded pace times ``factor``; None when there is nothing to pace by (no or
    unusable offsets, a factor of 0)."""
    if factor <= 0:
        return None
    raws = sse.split_raw(body.decode("utf-8", "replace"))
    offsets = recorded_offsets(timing, len(raws))
    if not offsets:
        return None
    pieces = [raw.encode("utf-8") for raw in raws]
    if b"".join(pieces) != body:  # not UTF-8 throughout: pacing would change the bytes
        return None
    cls = _PACED_CLASSES.get(id(httpx_module))
    if cls is None:
        cls = type("PacedStream", (_Paced, httpx_module.SyncByteStream, httpx_module.AsyncByteStream), {})
        _PACED_CLASSES[id(httpx_module)] = cls
    return cls(pieces, [offset * factor for offset in offsets])
