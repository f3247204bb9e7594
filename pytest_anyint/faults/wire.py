"""What a fault puts on the wire: error bodies and headers, broken bodies and broken streams.

One shape for both places a fault is answered: the interceptor turns a :class:`Wire` into an
httpx (or httpx2) response in-process (:func:`wire_response`), and the emulator writes the same
status, headers and pieces to a real socket. Bodies and framing come from the family table
(:mod:`pytest_anyint.families`), so an injected fault looks exactly like the family's own answer
gone wrong.

A broken stream is cut from a complete answer: the injected fault cuts a canned one
(:func:`canned_answer`), the emulator cuts the answer it would have sent. Either way the stream's
opening events and ``after_events`` content events arrive, then the break.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..envelopes import INJECTED_REQUEST_ID
from ..families import FAMILIES, Family, StreamForm, dump_json, gateway_error
from ..kinds import BODY_KINDS, TRANSPORT_KINDS

#: Named native error bodies beyond a family's default for a status: variant -> (family, status).
NATIVE_VARIANTS: dict[str, tuple[str, int]] = {
    "insufficient_quota": ("openai", 429),
    "api_key_invalid": ("gemini", 400),
}
#: Content events a broken stream delivers before its break when ``after_events`` is not given.
DEFAULT_AFTER_EVENTS = 1

_CREATED = 1_750_000_000
#: The text of a canned answer, one piece per content event: the first sentence, then more.
_CANNED_PIECES = ("The first sentence arrives.", " The second one too.", " Then more of the answer")


@dataclass(frozen=True)
class Wire:
    """What a fault puts on the wire: status, headers and body pieces.

    ``cut`` means the connection drops after the pieces (the reader gets ``RemoteProtocolError``);
    ``declared_length`` is the Content-Length a cut plain body announced. ``stream`` says whether
    the pieces are a stream's events (sent as they come) or one plain body.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: tuple[bytes, ...]
    cut: bool = False
    declared_length: int | None = None
    stream: bool = False

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k == "content-type"), "application/json")


def family_of(name: str | None) -> Family:
    """The family whose shapes a fault uses; requests of no known family get OpenAI's."""
    return FAMILIES.get(name or "openai") or FAMILIES["openai"]


def _stream_family(name: str | None) -> Family:
    """The family whose stream framing a fault uses: media and music do not stream, so OpenAI's."""
    family = family_of(name)
    return family if family.name in ("openai", "anthropic", "gemini") else FAMILIES["openai"]


def error_body(
    status: int,
    family: str | None,
    *,
    envelope: str = "gateway",
    variant: str | None = None,
    retry_after: float | None = None,
) -> dict[str, Any]:
    """The JSON body of an HTTP error: the gateway's envelope, or the family's own."""
    if envelope == "gateway":
        return gateway_error(status, family=family)
    chosen = family_of(family)
    body = chosen.native_error(status, variant)
    if chosen.name == "gemini" and retry_after is not None:
        delay = f"{retry_after:g}s"
        for detail in body["error"].get("details") or []:
            if detail.get("@type", "").endswith("google.rpc.RetryInfo"):
                detail["retryDelay"] = delay
                body["error"]["message"] = f"You exceeded your current quota. Please retry in {delay}."
    return body


def error_headers(retry_after: float | None = None, should_retry: bool | None = None) -> list[tuple[str, str]]:
    """Headers of an injected error: SDKs retry as they would, but never sleep."""
    headers = [
        ("content-type", "application/json"),
        ("retry-after-ms", "1"),
        ("x-request-id", INJECTED_REQUEST_ID),  # the SDKs' request_id (OpenAI reads x-request-id,
        ("request-id", INJECTED_REQUEST_ID),  # Anthropic request-id)
    ]
    if retry_after is not None:
        # For the app's own retry logic; the SDKs read retry-after-ms first, so they still do not sleep.
        headers.append(("retry-after", f"{retry_after:g}"))
    if should_retry is not None:
        headers.append(("x-should-retry", "true" if should_retry else "false"))
    return headers


def error_wire(
    status: int,
    family: str | None,
    *,
    envelope: str = "gateway",
    variant: str | None = None,
    retry_after: float | None = None,
    should_retry: bool | None = None,
) -> Wire:
    """An HTTP error answer: the status, its JSON body and the injected-error headers."""
    body = error_body(status, family, envelope=envelope, variant=variant, retry_after=retry_after)
    return Wire(status, tuple(error_headers(retry_after, should_retry)), (dump_json(body),))


# --------------------------------------------------------------------------- canned answers


def _pieces(count: int) -> list[str]:
    """``count`` pieces of answer text, the canned sentences first."""
    extra = [f" Sentence {n} of the answer." for n in range(len(_CANNED_PIECES) + 1, count + 1)]
    return [*_CANNED_PIECES, *extra][: max(count, 1)]


def canned_answer(family: str | None, model: str, *, stream: bool, content_events: int = 2) -> Any:
    """A plausible complete answer of the family: a JSON body, or a stream's event objects.

    A stream carries ``content_events`` pieces of text, so a break after any of them but the last
    still falls inside the answer. A broken fault sends only part of it.
    """
    name = _stream_family(family).name
    pieces = _pieces(content_events)
    text = "".join(pieces)
    if name == "anthropic":
        message = {
            "id": "msg_anyint_fault",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 8},
        }
        if not stream:
            return message
        opening = {**message, "content": [], "stop_reason": None, "usage": {"input_tokens": 5, "output_tokens": 1}}
        return [
            {"type": "message_start", "message": opening},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            *({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}} for p in pieces),
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 8}},
            {"type": "message_stop"},
        ]
    if name == "gemini":

        def response(part: str, final: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {"content": {"parts": [{"text": part}], "role": "model"}, "index": 0}
            usage: dict[str, Any] = {"promptTokenCount": 5, "totalTokenCount": 5}
            if final:
                candidate["finishReason"] = "STOP"
                usage = {"promptTokenCount": 5, "candidatesTokenCount": 8, "totalTokenCount": 13}
            return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": "anyint-fault"}

        if not stream:
            return response(text, True)
        return [response(p, i == len(pieces) - 1) for i, p in enumerate(pieces)]
    if not stream:
        return {
            "id": "chatcmpl-anyint-fault",
            "object": "chat.completion",
            "created": _CREATED,
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text, "refusal": None}, "logprobs": None, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13},
        }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-anyint-fault",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    return [chunk({"role": "assistant", "content": ""}), *(chunk({"content": p}) for p in pieces), chunk({}, "stop")]


# --------------------------------------------------------------------------- broken bodies


def _cut_at(form: StreamForm, events: Sequence[Any], after_events: int) -> int:
    """How many events arrive before the break: every opening event, then ``after_events`` content events."""
    seen = 0
    for index, event in enumerate(events):
        if form.family.content_event(event):
            if seen == after_events:
                return index
            seen += 1
        elif seen and seen == after_events:
            return index  # the answer's content is over: the break comes before its closing events
    return len(events)


def broken_stream(kind: str, form: StreamForm, events: Sequence[Any], *, after_events: int = DEFAULT_AFTER_EVENTS) -> tuple[bytes, ...]:
    """The pieces of a stream body fault, cut from a complete stream's event objects.

    ``truncated-stream`` delivers the opening events and ``after_events`` content events, then half
    of the next event (the connection drops there); ``stream-error`` delivers the same and then
    the family's own in-stream error; ``malformed-json`` sends the whole stream with the first
    event's JSON cut short; ``empty-body`` sends no event at all.
    """
    if kind == "empty-body":
        return ()
    if kind == "malformed-json":
        first = form.event(events[0], 0) if events else form.event({}, 0)
        if not form.sse:
            return (first[: len(first) // 2],)
        body_start = first.index(b"data: ") + len(b"data: ")
        cut = body_start + (len(first) - body_start) // 2
        terminator = first[len(first.rstrip(b"\r\n")) :]
        return (first[:cut] + terminator, *form.end(1))
    count = _cut_at(form, events, after_events)
    delivered = [form.event(event, i) for i, event in enumerate(events[:count])]
    if kind == "stream-error":
        family = form.family
        error = form.event(family.native_error(family.stream_error_status, None), count)
        return (*delivered, error, *form.close(count + 1))
    if count < len(events):
        following = form.event(events[count], count)
        return (*delivered, following[: len(following) // 2])
    return tuple(delivered)


def body_fault_wire(
    kind: str,
    family: str | None,
    model: str | None,
    *,
    stream: bool,
    form: StreamForm | None = None,
    answer: Any = None,
    after_events: int | None = None,
) -> Wire:
    """The wire of a body fault (a 200 whose body is broken) for one request.

    Stream requests get the family's framing (``form``; Gemini without ``alt=sse``: a JSON array);
    requests that do not stream get a plain JSON body. ``answer`` is the complete answer to break
    (a JSON body, or a stream's event objects); without it a canned one. ``stream-error`` on a
    request that does not stream answers the status the upstream would have sent had the error
    come before the 200 (503; 529 for Anthropic) with the family's native body.
    """
    if kind not in BODY_KINDS:
        raise ValueError(f"{kind!r} is not a body fault; expected one of {', '.join(BODY_KINDS)}")
    chosen = _stream_family(family)
    model = model or "unknown-model"
    after = DEFAULT_AFTER_EVENTS if after_events is None else after_events
    if stream:
        if form is None or form.family is not chosen:
            form = StreamForm(chosen)
        if answer is None:
            answer = canned_answer(chosen.name, model, stream=True, content_events=after + 1)
        headers: tuple[tuple[str, str], ...] = (("content-type", form.content_type), ("cache-control", "no-cache"))
        chunks = broken_stream(kind, form, list(answer), after_events=after)
        return Wire(200, headers, chunks, cut=kind == "truncated-stream", stream=True)
    plain = (("content-type", "application/json"),)
    if kind == "empty-body":
        return Wire(200, plain, (b"",))
    if kind == "stream-error":
        status = chosen.stream_error_status
        return error_wire(status, chosen.name, envelope="native")
    full = answer if isinstance(answer, bytes) else dump_json(canned_answer(chosen.name, model, stream=False) if answer is None else answer)
    half = full[: max(1, len(full) // 2)]
    if kind == "malformed-json":
        return Wire(200, plain, (half,))
    return Wire(200, plain, (half,), cut=True, declared_length=len(full))


# --------------------------------------------------------------------------- httpx glue

_BROKEN_STREAM_CLASSES: dict[str, type] = {}


def _broken_stream_class(httpx_mod: Any) -> type:
    """A byte stream (sync and async) of the given httpx module that ends in a dropped connection."""
    cls = _BROKEN_STREAM_CLASSES.get(httpx_mod.__name__)
    if cls is None:

        class BrokenStream(httpx_mod.SyncByteStream, httpx_mod.AsyncByteStream):
            def __init__(self, chunks: Sequence[bytes], error: Callable[[], BaseException]) -> None:
                self._chunks = chunks
                self._error = error

            def __iter__(self):  # type: ignore[no-untyped-def]
                yield from self._chunks
                raise self._error()

            async def __aiter__(self):  # type: ignore[no-untyped-def]
                for chunk in self._chunks:
                    yield chunk
                raise self._error()

        cls = _BROKEN_STREAM_CLASSES[httpx_mod.__name__] = BrokenStream
    return cls


def wire_response(wire: Wire, request: Any, httpx_mod: Any) -> Any:
    """An httpx (or httpx2) Response for a wire; a cut wire raises RemoteProtocolError when read."""
    headers = list(wire.headers)
    if not wire.cut:
        return httpx_mod.Response(wire.status, headers=headers, content=wire.body, request=request)
    received = sum(len(c) for c in wire.chunks)
    if wire.declared_length is not None:
        headers.append(("content-length", str(wire.declared_length)))
        detail = f"received {received} bytes, expected {wire.declared_length}"
    else:
        headers.append(("transfer-encoding", "chunked"))
        detail = "incomplete chunked read"
    message = f"peer closed connection without sending complete message body ({detail})"
    stream = _broken_stream_class(httpx_mod)(wire.chunks, lambda: httpx_mod.RemoteProtocolError(message, request=request))
    return httpx_mod.Response(wire.status, headers=headers, stream=stream, request=request)


def transport_error(kind: str, request: Any, httpx_mod: Any) -> Exception:
    """What the real transport of ``httpx_mod`` raises for a timeout, a refused connect or a reset."""
    if kind == "timeout":
        return httpx_mod.ReadTimeout("timed out", request=request)
    if kind == "connect":
        return httpx_mod.ConnectError("[Errno 111] Connection refused", request=request)
    if kind == "reset":
        return httpx_mod.ReadError("[Errno 104] Connection reset by peer", request=request)
    raise ValueError(f"{kind!r} is not a transport fault; expected one of {', '.join(TRANSPORT_KINDS)}")


__all__ = [
    "DEFAULT_AFTER_EVENTS",
    "NATIVE_VARIANTS",
    "Wire",
    "body_fault_wire",
    "broken_stream",
    "canned_answer",
    "error_body",
    "error_headers",
    "error_wire",
    "family_of",
    "transport_error",
    "wire_response",
]
