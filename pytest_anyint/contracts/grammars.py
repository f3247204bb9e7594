"""Stream grammars: the order and termination rules of each family's server-sent events.

A schema checks one event; a grammar checks the stream as the SDK reads it: OpenAI's data-only
chunks ending in ``data: [DONE]``, Anthropic's ``message_start`` … ``message_stop`` with blocks
opened and closed in order, Gemini's chunks ending with a ``finishReason``, the Responses API's
``response.created`` … ``response.completed``. An error event after HTTP 200 is reported as the
upstream failure it is. Each grammar is fed ``(number, event name, data)`` once per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .violations import short

#: Stand-ins for event data that is not a JSON value.
DONE = object()  # data: [DONE]
BAD_JSON = object()  # data that is not JSON
PARTIAL = object()  # the cut-off last event of a truncated stream

#: (rule, detail) pairs a grammar reports.
Findings = list[tuple[str, str]]


class GenericGrammar:
    """No ordering rules: just the truncation check every stream gets."""

    skip_schema = False

    def __init__(self, family: str) -> None:
        self.family = family
        self.error_seen = False

    def step(self, number: int, name: str | None, data: Any) -> Findings:
        return []

    def finish(self, terminated: bool, count: int) -> Findings:
        if count == 0:
            return [("stream.empty", "stream has no events")]
        if not terminated:
            return [("stream.truncated", "stream was cut off mid-event (no blank line after the last event)")]
        return []


def _error_text(data: Any) -> str:
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return short(error)
    kind = error.get("type") or error.get("status") or error.get("code") or "error"
    return f"{kind}: {error.get('message', '')}".rstrip(": ")


class _OpenAIGrammar(GenericGrammar):
    """Data-only chunks, ending with ``data: [DONE]``; an error after 200 is ``{"error": …}``."""

    def __init__(self, family: str) -> None:
        super().__init__(family)
        self.done_at: int | None = None
        self.after_done = False

    def step(self, number: int, name: str | None, data: Any) -> Findings:
        self.skip_schema = False
        out = []
        if self.done_at is not None and not self.after_done:
            self.after_done = True
            out.append(("stream.order", f"event after data: [DONE] (which was event #{self.done_at})"))
        if data is DONE:
            self.done_at = self.done_at or number
            return out
        if isinstance(data, dict) and ("error" in data and "choices" not in data or data.get("error")):
            # the SDK raises on any truthy "error" key, choices or not
            self.error_seen = True
            self.skip_schema = "choices" not in data
            out.append(("stream.error-event", f"OpenAI stream sent an error after HTTP 200: {_error_text(data)}"))
        return out

    def finish(self, terminated: bool, count: int) -> Findings:
        base = super().finish(terminated, count)
        if base or self.error_seen:
            return base
        if self.done_at is None:
            return [("stream.done-missing", "OpenAI stream ended without data: [DONE]")]
        return []


class _AnthropicGrammar(GenericGrammar):
    """message_start, then per block start/delta…/stop, then message_delta, then message_stop;
    ``ping`` anywhere; an ``error`` event after HTTP 200 is an upstream failure (e.g. overloaded)."""

    def __init__(self, family: str) -> None:
        super().__init__(family)
        self.started = False
        self.stopped = False
        self.open: set[Any] = set()
        self.seen: set[Any] = set()
        self.order_reports = 0
        self.unnamed_reported = False

    def _order(self, detail: str) -> Findings:
        self.order_reports += 1
        return [("stream.order", detail)] if self.order_reports <= 3 else []

    def step(self, number: int, name: str | None, data: Any) -> Findings:
        self.skip_schema = False
        out: Findings = []
        if data is DONE:
            return self._order("Anthropic streams carry no data: [DONE]")
        kind = data.get("type") if isinstance(data, dict) else None
        kind = kind if isinstance(kind, str) else None
        if name and kind and name != kind:
            out.append(("stream.event-type", f"event: {name} carries data of type {kind!r}"))
        if not name and not self.unnamed_reported:
            # The SDK dispatches on the event: line alone; without it every event is skipped and the
            # app gets an empty answer.
            self.unnamed_reported = True
            out.append(("stream.event-name-missing", f"event #{number} has no event: line; the Anthropic SDK "
                        f"skips such events, so the app receives nothing (expected event: {kind or '<type>'})"))
        kind = name or kind
        if kind == "ping":
            return out
        if kind == "error":
            self.error_seen = True
            out.append(("stream.error-event", f"Anthropic stream sent an error event after HTTP 200: {_error_text(data)}"))
            return out
        index = data.get("index") if isinstance(data, dict) else None
        if type(index) is not int:
            index = _block_index(index)
        if self.stopped:
            out += self._order(f"{kind} after message_stop")
        elif kind == "message_start":
            if self.started:
                out += self._order("a second message_start")
            self.started = True
        elif not self.started and kind in _ANTHROPIC_FLOW:
            self.started = True  # report once, then follow the rest of the stream
            out += self._order(f"{kind} before message_start")
        if kind == "content_block_start":
            if index in self.seen:
                out += self._order(f"content_block_start for block {index}, which was already started")
            self.seen.add(index)
            self.open.add(index)
        elif kind == "content_block_delta":
            if index not in self.open:
                when = "after its content_block_stop" if index in self.seen else "before its content_block_start"
                out += self._order(f"content_block_delta for block {index} {when}")
        elif kind == "content_block_stop":
            if index not in self.open:
                when = "twice" if index in self.seen else "before its content_block_start"
                out += self._order(f"content_block_stop for block {index} {when}")
            self.open.discard(index)
        elif kind in ("message_delta", "message_stop"):
            if self.open:
                blocks = ", ".join(str(i) for i in sorted(self.open, key=str))
                out += self._order(f"{kind} while content block {blocks} was never stopped")
                self.open.clear()
            if kind == "message_stop":
                self.stopped = True
        return out

    def finish(self, terminated: bool, count: int) -> Findings:
        base = super().finish(terminated, count)
        if base or self.error_seen:
            return base
        if not self.stopped:
            return [("stream.message_stop-missing", "Anthropic stream ended without message_stop")]
        return []


_ANTHROPIC_FLOW = ("content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop")


def _block_index(value: Any) -> Any:
    """A block index as the grammar can track it: a list or object (a schema violation of its own)
    stands in as its JSON text, so it never breaks the bookkeeping."""
    if value is None or isinstance(value, (int, str, float, bool)):
        return value
    return short(value)


class _GeminiGrammar(GenericGrammar):
    """Each chunk is a full GenerateContentResponse; no [DONE]; the last one carries finishReason."""

    def __init__(self, family: str) -> None:
        super().__init__(family)
        self.finished = False
        self.blocked = False
        self.done_reported = False

    def step(self, number: int, name: str | None, data: Any) -> Findings:
        self.skip_schema = False
        if data is DONE:
            if self.done_reported:
                return []
            self.done_reported = True
            return [("stream.order", "Gemini streams carry no data: [DONE]")]
        if isinstance(data, dict):
            if "error" in data and "candidates" not in data:
                self.error_seen = True
                self.skip_schema = True
                return [("stream.error-event", f"Gemini stream sent an error after HTTP 200: {_error_text(data)}")]
            candidates = data.get("candidates")
            for candidate in candidates if isinstance(candidates, list) else ():
                if isinstance(candidate, dict) and candidate.get("finishReason"):
                    self.finished = True
            feedback = data.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                self.blocked = True
        return []

    def finish(self, terminated: bool, count: int) -> Findings:
        base = super().finish(terminated, count)
        if base or self.error_seen or self.finished or self.blocked:
            return base
        return [("stream.finish-missing", "Gemini stream ended without a chunk carrying finishReason (cut off?)")]


_RESPONSES_START = ("response.created", "response.queued")
_RESPONSES_END = ("response.completed", "response.failed", "response.incomplete")


class _ResponsesGrammar(GenericGrammar):
    """Responses API events: ``response.created`` first, a terminal ``response.completed`` (or
    ``.failed`` / ``.incomplete``) last; the SDK's ``get_final_response()`` needs that terminal event,
    so a stream without one is cut off. An ``error`` event after HTTP 200 is an upstream failure."""

    def __init__(self, family: str) -> None:
        super().__init__(family)
        self.started = False
        self.ended_at: int | None = None
        self.order_reported = False

    def _order(self, detail: str) -> Findings:
        if self.order_reported:
            return []
        self.order_reported = True
        return [("stream.order", detail)]

    def step(self, number: int, name: str | None, data: Any) -> Findings:
        self.skip_schema = False
        if data is DONE:
            return []  # not sent by OpenAI; the SDK stops reading at it, which is harmless after the end
        kind = data.get("type") if isinstance(data, dict) else None
        kind = kind if isinstance(kind, str) else None
        out: Findings = []
        if name and kind and name != kind:
            out.append(("stream.event-type", f"event: {name} carries data of type {kind!r}"))
        kind = kind or name
        if kind == "error":
            self.error_seen = True
            message = data.get("message") if isinstance(data, dict) else None
            code = data.get("code") if isinstance(data, dict) else None
            out.append(("stream.error-event", "Responses stream sent an error event after HTTP 200: "
                        f"{code or 'error'}: {short(message) if not isinstance(message, str) else message}"))
            return out
        if self.ended_at is not None:
            return out + self._order(f"{kind} after the terminal event #{self.ended_at}")
        if not self.started:
            self.started = True
            if kind not in _RESPONSES_START:
                out += self._order(f"the stream starts with {kind!r} instead of response.created")
        if kind in _RESPONSES_END:
            self.ended_at = number
        return out

    def finish(self, terminated: bool, count: int) -> Findings:
        base = super().finish(terminated, count)
        if base or self.error_seen or self.ended_at is not None:
            return base
        return [("stream.completed-missing", "Responses stream ended without response.completed (or "
                 ".failed / .incomplete): the SDK never gets the final response (cut off?)")]


GRAMMARS: dict[str, Callable[[str], GenericGrammar]] = {
    "openai": _OpenAIGrammar,
    "anthropic": _AnthropicGrammar,
    "gemini": _GeminiGrammar,
    "responses": _ResponsesGrammar,
}
