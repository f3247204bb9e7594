"""Faults injected on the wire, and the fallback policy they prove.

A fault answers a gateway request in place of the cassette and the network, at the httpx / httpx2
transport, so the app's own client code meets it exactly as it would meet a failing upstream:
an HTTP error with the gateway's (or the family's native) body, a transport exception of the httpx
module the request came through, or a 200 whose body is broken. Faults are never written into a
cassette (the interceptor answers them before the cassette is asked).

After the body of a fault case, :func:`check_policy` reads the call trail and the test's log
records and says, in the user's terms, where the app broke the route's policy (§7): no fallback
where one was required, a fallback that masks an auth failure, a fallback nobody logged, or a
failing model called again and again.

The fault kinds themselves (names, defaults) live in :mod:`pytest_anyint.kinds`, which ``config``
reads at plugin start-up without importing this module.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..kinds import ALL_KINDS, ANSWER_KINDS, BODY_KINDS, DEFAULT_MAX_ATTEMPTS, FAULT_KINDS, TRANSPORT_KINDS, listed  # noqa: F401 - re-exported

#: Named native error bodies beyond a family's default for a status: variant -> (family, status).
NATIVE_VARIANTS: dict[str, tuple[str, int]] = {
    "insufficient_quota": ("openai", 429),
    "api_key_invalid": ("gemini", 400),
}
#: The status an upstream answers when the error comes before the stream starts (stream-error on a
#: request that does not stream), per family.
STREAM_ERROR_STATUS: dict[str, int] = {"openai": 503, "anthropic": 529, "gemini": 503}

_INJECTED_REQUEST_ID = "req_anyint_injected"
_CREATED = 1_750_000_000


# --------------------------------------------------------------------------- what a fault sends


@dataclass(frozen=True)
class Wire:
    """What a fault puts on the wire: status, headers and body pieces.

    ``cut`` means the connection drops after the pieces (the reader gets ``RemoteProtocolError``);
    ``declared_length`` is the Content-Length a cut plain body announced.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: tuple[bytes, ...]
    cut: bool = False
    declared_length: int | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k == "content-type"), "application/json")


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _family_name(family: str | None) -> str:
    return family if family in ("openai", "anthropic", "gemini", "media", "music") else "openai"


def error_body(
    status: int,
    family: str | None,
    *,
    envelope: str = "gateway",
    variant: str | None = None,
    retry_after: float | None = None,
) -> dict[str, Any]:
    """The JSON body of an HTTP error: the gateway's envelope, or the family's own (families.py)."""
    from ..families import FAMILIES, gateway_error

    if envelope == "gateway":
        return gateway_error(status, family=family)
    name = _family_name(family)
    body = FAMILIES[name].native_error(status, variant)
    if name == "gemini" and retry_after is not None:
        delay = f"{retry_after:g}s"
        for detail in body["error"].get("details") or []:
            if detail.get("@type", "").endswith("google.rpc.RetryInfo"):
                detail["retryDelay"] = delay
                body["error"]["message"] = f"You exceeded your current quota. Please retry in {delay}."
    return body


def error_headers(retry_after: float | None = None, should_retry: bool | None = None) -> list[tuple[str, str]]:
    """Headers of an injected error: SDKs retry as they would, but never sleep (§7)."""
    headers = [
        ("content-type", "application/json"),
        ("retry-after-ms", "1"),
        ("x-request-id", _INJECTED_REQUEST_ID),  # the SDKs' request_id (OpenAI reads x-request-id,
        ("request-id", _INJECTED_REQUEST_ID),  # Anthropic request-id)
    ]
    if retry_after is not None:
        # For the app's own retry logic; the SDKs read retry-after-ms first, so they still do not sleep.
        headers.append(("retry-after", f"{retry_after:g}"))
    if should_retry is not None:
        headers.append(("x-should-retry", "true" if should_retry else "false"))
    return headers


def _success(family: str, model: str) -> dict[str, Any]:
    """A plausible complete answer, of which a truncated fault sends only the first half."""
    text = "Partial answer that never arrives in full."
    if family == "anthropic":
        return {
            "id": "msg_anyint_fault",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 8},
        }
    if family == "gemini":
        return {
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 8, "totalTokenCount": 13},
            "modelVersion": model,
            "responseId": "anyint-fault",
        }
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


class _Framing:
    """How one family frames a stream: its first events, the next one, its error event and its end."""

    def __init__(self, family: str, model: str, sse: bool) -> None:
        self.family = family
        self.model = model
        self.sse = sse

    @property
    def content_type(self) -> str:
        return "text/event-stream" if self.sse else "application/json"

    def _frame(self, obj: Any, first: bool = False) -> bytes:
        if self.family == "anthropic":
            return f"event: {obj['type']}\ndata: ".encode() + _json(obj) + b"\n\n"
        if self.family == "gemini":
            if self.sse:
                return b"data: " + _json(obj) + b"\r\n\r\n"
            return (b"[" if first else b",\r\n") + _json(obj)
        return b"data: " + _json(obj) + b"\n\n"

    def _objects(self) -> list[Any]:
        model = self.model
        if self.family == "anthropic":
            message = {**_success("anthropic", model), "content": [], "stop_reason": None, "usage": {"input_tokens": 5, "output_tokens": 1}}
            return [
                {"type": "message_start", "message": message},
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Partial"}},
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " answer that never"}},
            ]
        if self.family == "gemini":
            chunk = lambda text: {  # noqa: E731
                "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
                "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5},
                "modelVersion": model,
                "responseId": "anyint-fault",
            }
            return [chunk("Partial"), chunk(" answer that never")]
        chunk = lambda delta: {  # noqa: E731
            "id": "chatcmpl-anyint-fault",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}],
        }
        return [chunk({"role": "assistant", "content": ""}), chunk({"content": "Partial"}), chunk({"content": " answer that never"})]

    def start(self) -> list[bytes]:
        """The complete events that arrive before things go wrong."""
        objects = self._objects()[:-1]
        return [self._frame(obj, first=i == 0) for i, obj in enumerate(objects)]

    def next_event(self) -> bytes:
        """The event a truncated stream is cut in the middle of."""
        objects = self._objects()
        return self._frame(objects[-1], first=len(objects) == 1)

    def error_event(self) -> bytes:
        """The family's own in-stream error (after the 200): what the upstream would have answered."""
        from ..families import FAMILIES

        body = FAMILIES[self.family].native_error(STREAM_ERROR_STATUS[self.family], None)
        if self.family == "gemini" and not self.sse:
            return b",\r\n" + _json(body) + b"]"
        return self._frame(body)

    def end(self) -> list[bytes]:
        if self.family == "openai":
            return [b"data: [DONE]\n\n"]
        if self.family == "gemini" and not self.sse:
            return [b"]"]
        return []

    def malformed(self) -> list[bytes]:
        """A complete stream whose first event's JSON is cut short."""
        event = self._frame(self._objects()[0], first=True)
        if self.family == "gemini" and not self.sse:
            return [event[: len(event) // 2]]
        body_start = event.index(b"data: ") + len(b"data: ")
        cut = body_start + (len(event) - body_start) // 2
        terminator = b"\r\n\r\n" if self.family == "gemini" else b"\n\n"
        return [event[:cut] + terminator, *self.end()]


def body_fault_wire(kind: str, family: str | None, model: str | None, *, stream: bool, sse: bool = True) -> Wire:
    """The wire of a body fault (a 200 whose body is broken) for one request.

    Stream requests get the family's framing; requests that do not stream get a plain JSON body.
    ``stream-error`` on a request that does not stream answers the status the upstream would
    have sent had the error come before the 200 (503; 529 for Anthropic) with the native body.
    """
    if kind not in BODY_KINDS:
        raise ValueError(f"{kind!r} is not a body fault; expected one of {', '.join(BODY_KINDS)}")
    name = _family_name(family)
    framing_family = name if name in STREAM_ERROR_STATUS else "openai"
    model = model or "unknown-model"
    if stream:
        framing = _Framing(framing_family, model, sse)
        headers: tuple[tuple[str, str], ...] = (("content-type", framing.content_type), ("cache-control", "no-cache"))
        if kind == "empty-body":
            return Wire(200, headers, ())
        if kind == "malformed-json":
            return Wire(200, headers, tuple(framing.malformed()))
        if kind == "stream-error":
            return Wire(200, headers, (*framing.start(), framing.error_event()))
        following = framing.next_event()
        return Wire(200, headers, (*framing.start(), following[: len(following) // 2]), cut=True)
    plain = (("content-type", "application/json"),)
    if kind == "empty-body":
        return Wire(200, plain, (b"",))
    if kind == "stream-error":
        status = STREAM_ERROR_STATUS.get(name, 503)
        body = error_body(status, framing_family, envelope="native")
        return Wire(status, tuple(error_headers()), (_json(body),))
    full = _json(_success(framing_family, model))
    half = full[: len(full) // 2]
    if kind == "malformed-json":
        return Wire(200, plain, (half,))
    return Wire(200, plain, (half,), cut=True, declared_length=len(full))


# --------------------------------------------------------------------------- httpx glue

_BROKEN_STREAM_CLASSES: dict[str, type] = {}


def _broken_stream_class(httpx_mod: Any) -> type:
    """A byte stream (sync and async) of the given httpx module that ends in a dropped connection."""
    cls = _BROKEN_STREAM_CLASSES.get(httpx_mod.__name__)
    if cls is None:

        class BrokenStream(httpx_mod.SyncByteStream, httpx_mod.AsyncByteStream):  # type: ignore[misc, name-defined]
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


def _wants_sse(request: Any, family: str | None) -> bool:
    if family != "gemini":
        return True
    try:
        return request.url.params.get("alt") == "sse"
    except AttributeError:
        return True


# --------------------------------------------------------------------------- faults and the plan


@dataclass
class Fault:
    """One injection rule: which model's calls fail, how, and how many times."""

    model: str | None
    status: int | None = None
    kind: str | None = None
    times: int | None = None
    retry_after: float | None = None
    envelope: str = "gateway"
    should_retry: bool | None = None
    variant: str | None = None
    #: How many calls this fault has answered so far.
    used: int = 0
    #: The route's output_schema file, which an ``invalid-output`` answer breaks.
    output_schema: Path | None = None

    @property
    def label(self) -> int | str:
        """What the trail and the case ids call it: the status, or the kind."""
        return self.status if self.status is not None else str(self.kind)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

    def matches(self, model: str | None) -> bool:
        if self.exhausted:
            return False
        return self.model is None or self.model == model

    def wire(self, family: str | None, model: str | None, *, stream: bool, sse: bool = True,
             endpoint: str | None = None, request_json: Any = None) -> Wire:
        """The bytes this fault answers with (transport faults have none: see :func:`transport_error`).

        An answer fault is shaped by the request: its ``endpoint`` (chat completions or Responses,
        messages, generateContent) and the tools its ``request_json`` offers.
        """
        if self.status is not None:
            body = error_body(self.status, family, envelope=self.envelope, variant=self.variant, retry_after=self.retry_after)
            return Wire(self.status, tuple(error_headers(self.retry_after, self.should_retry)), (_json(body),))
        assert self.kind is not None
        if self.kind in ANSWER_KINDS:
            from .answers import answer_wire

            headers, chunks = answer_wire(
                self.kind, family, model, endpoint=endpoint or "", stream=stream, sse=sse,
                request_json=request_json, variant=self.variant, output_schema=self.output_schema,
            )
            return Wire(200, headers, chunks)
        return body_fault_wire(self.kind, family, model, stream=stream, sse=sse)

    def respond(self, call: Any, request: Any, httpx_mod: Any) -> Any:
        """Answer one intercepted request: an httpx Response, or raise the transport's exception."""
        if self.kind in TRANSPORT_KINDS:
            raise transport_error(self.kind, request, httpx_mod)
        request_json = None
        if self.kind in ANSWER_KINDS:
            from ..families import parse_json

            request_json = parse_json(getattr(request, "content", b""))
        wire = self.wire(call.family, call.model, stream=bool(call.stream), sse=_wants_sse(request, call.family),
                         endpoint=call.endpoint, request_json=request_json)
        return wire_response(wire, request, httpx_mod)

    def __str__(self) -> str:
        what = f"status {self.status}" if self.status is not None else str(self.kind)
        if self.variant:
            what += f" ({self.variant})"
        elif self.status is not None and self.envelope == "native":
            what += " (native body)"
        who = self.model or "any model"
        times = "every call" if self.times is None else f"{self.times} call(s), {self.used} used"
        return f"{what} on {who}, {times}"


def validate(
    *,
    status: int | None,
    kind: str | None,
    times: int | None,
    retry_after: float | None,
    envelope: str,
    should_retry: bool | None,
    variant: str | None,
) -> tuple[int | None, str]:
    """Check inject() arguments; returns the (status, envelope) a variant implies. ValueError on misuse."""
    if variant is not None and kind not in ANSWER_KINDS:
        key = variant.lower()
        if key not in NATIVE_VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; known native variants: {', '.join(NATIVE_VARIANTS)}")
        family, variant_status = NATIVE_VARIANTS[key]
        if kind is not None:
            raise ValueError(f"variant={variant!r} is an HTTP error body; it goes with status=, not kind=")
        if status is not None and status != variant_status:
            raise ValueError(f"variant {variant!r} is {family}'s {variant_status} body, not a {status}")
        status, envelope = variant_status, "native"
    if (status is None) == (kind is None):
        raise ValueError('inject() takes exactly one of status= (e.g. 503) or kind= (e.g. "timeout")')
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599):
        raise ValueError(f"status= must be an HTTP error status (400-599), got {status!r}")
    if kind is not None and kind not in ALL_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {listed()}")
    if envelope not in ("gateway", "native"):
        raise ValueError(f'envelope= must be "gateway" or "native", got {envelope!r}')
    if kind is not None and (retry_after is not None or should_retry is not None or envelope != "gateway"):
        raise ValueError(
            f"retry_after=, should_retry= and envelope= shape an HTTP error answer; they go with status=, "
            f"not kind={kind!r}"
        )
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError(f"times= must be a positive number of calls (or None for every call), got {times!r}")
    if retry_after is not None and (isinstance(retry_after, bool) or not isinstance(retry_after, (int, float)) or retry_after < 0):
        raise ValueError(f"retry_after= must be a number of seconds >= 0, got {retry_after!r}")
    if should_retry not in (None, True, False):
        raise ValueError(f"should_retry= must be True, False or None, got {should_retry!r}")
    return status, envelope


class FaultPlan:
    """The faults of one running case; the interceptor asks it first for every gateway request.

    In a fault case (``faults=`` on the marker) the plan starts with the case's fault on the
    primary, for the whole test. ``inject()`` adds more; the latest matching fault answers.
    """

    def __init__(self, session: Any = None, case: Any = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._label: str | None = getattr(case, "label", None)
        self._chain: tuple[str, ...] = ()
        #: The family of each model of the chain, and the route's output_schema (for answer faults).
        self._families: dict[str, str] = {}
        self._output_schema: Path | None = None
        if session is not None and case is not None:
            try:
                route = session.config.route(case.label)
                self._chain = tuple(m.model for m in route.chain)
                self._families = {m.model: m.family for m in route.chain}
                self._output_schema = route.output_schema
            except Exception:  # noqa: BLE001 - a bad label is reported by collection, not here
                self._chain = ()
        fault = getattr(case, "fault", None) if case is not None else None
        if fault is not None:
            self._faults.append(
                Fault(case.model, status=fault if isinstance(fault, int) else None, kind=None if isinstance(fault, int) else fault,
                      output_schema=self._output_schema if fault in ANSWER_KINDS else None)
            )

    @property
    def faults(self) -> list[Fault]:
        """The faults of this case, oldest first (the case's own fault, then each ``inject``)."""
        return list(self._faults)

    def inject(
        self,
        model: str | None = None,
        *,
        status: int | None = None,
        kind: str | None = None,
        times: int | None = None,
        retry_after: float | None = None,
        envelope: str = "gateway",
        should_retry: bool | None = None,
        variant: str | None = None,
    ) -> Fault:
        """Make calls to ``model`` (None: any model) fail with ``status`` or ``kind``.

        ``times=None`` fails every call; ``envelope="native"`` sends the upstream family's own error
        body; ``variant`` picks a named native body ("insufficient_quota", "api_key_invalid") and
        implies its status; ``retry_after`` adds a ``retry-after`` header (and Gemini's RetryInfo);
        ``should_retry=False`` adds ``x-should-retry: false``, which the SDKs obey.
        """
        status, envelope = validate(
            status=status, kind=kind, times=times, retry_after=retry_after, envelope=envelope,
            should_retry=should_retry, variant=variant,
        )
        if model is not None and self._chain and model not in self._chain:
            raise ValueError(
                f"inject({model!r}): {model} is not in route {self._label!r} (chain: {', '.join(self._chain)}), "
                f"so no call of this test can reach it"
            )
        if kind in ANSWER_KINDS:
            from .answers import check_family, check_variant

            variant = check_variant(kind, variant, self._output_schema, self._label)
            if model is not None:
                check_family(kind, self._families.get(model), model)
        fault = Fault(model, status, kind, times, retry_after, envelope, should_retry, variant.lower() if variant else None,
                      output_schema=self._output_schema if kind in ANSWER_KINDS else None)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, call: Any) -> Fault | None:
        """The fault that answers this call (the latest matching one), counting it as used."""
        with self._lock:
            for fault in reversed(self._faults):
                if fault.matches(call.model):
                    fault.used += 1
                    return fault
        return None

    def __repr__(self) -> str:
        return f"FaultPlan([{'; '.join(str(f) for f in self._faults)}])"


# --------------------------------------------------------------------------- the policy check

_MODEL_CHAR = r"A-Za-z0-9_\-"
#: Loggers of libraries, never of the app: their records cannot count as the app's fallback log.
_LIBRARY_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "anthropic", "google_genai", "google",
                    "urllib3", "asyncio", "vcr", "pytest_anyint")
_STANDARD_RECORD_KEYS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def describe_fault(fault: int | str) -> str:
    """What a fault did, as a verb phrase: '… returned 503', '… timed out'."""
    if isinstance(fault, int):
        return f"returned {fault}"
    if fault in ANSWER_KINDS:
        from .answers import DESCRIPTIONS

        return DESCRIPTIONS[fault]
    return {
        "timeout": "timed out",
        "connect": "could not be reached (connection refused)",
        "reset": "reset the connection",
        "malformed-json": "answered malformed JSON",
        "truncated-stream": "cut its answer off mid-body",
        "stream-error": "sent an error in the middle of its stream",
        "empty-body": "answered an empty body",
    }.get(fault, f"failed with {fault}")


def _rule(policy: Any, fault: int | str) -> str:
    if fault in policy.fallback_on:
        return f"policy: fallback_on includes {fault}"
    if fault in policy.never_fallback_on:
        return f"policy: never_fallback_on includes {fault}"
    if isinstance(fault, int):
        if fault >= 500:
            return f"policy: {fault} is in neither list, and a 5xx falls back"
        return f"policy: {fault} is in neither list, and a 4xx must surface"
    return "policy"


_SURFACE_REASONS = {
    400: "a bad request would fail on every model: it must surface, not be masked",
    401: "an auth failure must surface, not be masked",
    403: "a permission failure (subscription or key policy) must surface, not be masked",
    404: "a missing model or route is a configuration error: it must surface, not be masked",
}


def _surface_reason(fault: int | str) -> str:
    if fault in _SURFACE_REASONS:
        return _SURFACE_REASONS[fault]  # type: ignore[index]
    if isinstance(fault, int) and 400 <= fault < 500:
        return "a client error must surface, not be masked"
    return "the policy says this fault must surface, not be masked"


def _mentions(text: str, word: str) -> bool:
    pattern = rf"(?<![{_MODEL_CHAR}.]){re.escape(word)}(?![{_MODEL_CHAR}]|\.[A-Za-z0-9])"
    return re.search(pattern, text) is not None


def _record_text(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string still says what it says
        text = str(record.msg)
    extras = [str(v) for k, v in record.__dict__.items() if k not in _STANDARD_RECORD_KEYS]
    return " ".join([text, *extras])


def _is_library(record: logging.LogRecord) -> bool:
    name = record.name or ""
    return any(name == lib or name.startswith(lib + ".") for lib in _LIBRARY_LOGGERS)


def _walk(calls: Sequence[Any]) -> str:
    """The models the app called, in order, runs collapsed: 'gpt-5-mini ×3, then deepseek-v3.2-exp'."""
    runs: list[list[Any]] = []
    for model in (c.model for c in calls if c.model):
        if runs and runs[-1][0] == model:
            runs[-1][1] += 1
        else:
            runs.append([model, 1])
    if not runs:
        return "no model"
    return ", then ".join(f"{m} ×{n}" if n > 1 else str(m) for m, n in runs)


def _hammering(calls: Sequence[Any], limit: int) -> list[tuple[str, int]]:
    """Models the app called more than ``limit`` times in a row while every one of those calls failed."""
    worst: dict[str, int] = {}
    run_model, run = None, 0
    for call in calls:
        if not call.model:
            continue
        if call.model == run_model and call.failed:
            run += 1
        else:
            run_model, run = (call.model, 1) if call.failed else (None, 0)
        if run_model is not None and run > worst.get(run_model, 0):
            worst[run_model] = run
    return [(model, n) for model, n in worst.items() if n > limit]


def check_policy(
    route: Any,
    fault: int | str,
    trail: Iterable[Any],
    log_records: Sequence[logging.LogRecord],
    *,
    refused: bool = False,
    passed: bool | None = True,
) -> list[str]:
    """After a fault case's body: did the app fall back when it should, stop when it should, and log it?

    ``refused`` means the plugin already refused a request of the test (a cassette miss, a wrong
    model); then only a forbidden fallback is reported, since it explains the refusal. A test that
    made no call to the primary is reported only when its body passed (``passed``): a body that
    failed or skipped before calling the app has said why already.
    """
    policy = route.policy
    primary = route.primary.model
    calls = list(trail)
    head = f"route {route.label!r}, fault {fault}"
    failed_at = next((i for i, c in enumerate(calls) if c.model == primary and c.fault is not None), None)
    if failed_at is None:
        if refused or passed is not True or any(c.model == primary for c in calls):
            return []
        return [
            f"{head}: the test made no call to the primary {primary}, so the fault was never met and the "
            f"policy was not proven; call the app under test with anyint_route.model inside the test"
        ]
    primary_calls = sum(1 for c in calls if c.model == primary)
    went_to: list[str] = []
    for call in calls[failed_at + 1 :]:
        if call.model and call.model != primary and call.model not in went_to:
            went_to.append(call.model)
    what = f"primary {primary} {describe_fault(fault)}"
    problems: list[str] = []
    expect = policy.expects_fallback(fault)
    # An answer fault in neither list (None) leaves the choice to the app; a fallback it makes is still logged.
    free = expect is None
    if expect:
        required = route.required_fallback() or (route.fallbacks[0] if route.fallbacks else None)
        if required is not None and required.model not in went_to:
            times = f" ({primary_calls} calls)" if primary_calls > 1 else ""
            instead = f", it went to {', '.join(went_to)} instead" if went_to else ""
            which = ""
            if route.fallbacks and required.model != route.fallbacks[0].model:
                which = f"; {required.model} is the first fallback of the route's family ({route.family})"
            problems.append(
                f"{head}: {what}{times}, the app never tried {required.model}{instead} ({_rule(policy, fault)}{which})"
            )
    elif went_to and not free:
        problems.append(
            f"{head}: the app fell back on {fault} from {primary} to {', '.join(went_to)}: "
            f"{_surface_reason(fault)} ({_rule(policy, fault)})"
        )
    if refused:
        return problems
    limit = getattr(policy, "max_attempts_per_model", DEFAULT_MAX_ATTEMPTS)
    for model, count in _hammering(calls, limit):
        problems.append(
            f"{head}: the app called the failing {model} {count} times in a row ({_walk(calls)}) "
            f"(policy: max_attempts_per_model is {limit}, one call plus the SDKs' default two retries); "
            f"cap the SDK's max_retries and any retry loop of your own"
        )
    if (expect or free) and went_to and policy.require_fallback_log:
        problem = _log_problem(head, primary, went_to, fault, log_records)
        if problem:
            problems.append(problem)
    return problems


def _log_problem(head: str, primary: str, went_to: list[str], fault: int | str, records: Sequence[logging.LogRecord]) -> str | None:
    """None when some app log record names the primary, a fallback and (for HTTP faults) the status."""
    status = str(fault) if isinstance(fault, int) else None
    naming_both: list[str] = []
    for record in records:
        if _is_library(record):
            continue
        text = _record_text(record)
        if not _mentions(text, primary) or not any(_mentions(text, m) for m in went_to):
            continue
        if status is None or re.search(rf"(?<!\d){status}(?!\d)", text):
            return None
        naming_both.append(text)
    fallback = went_to[0]
    needs = f"{primary}, {fallback}" + (f" and the status {status}" if status else "")
    if naming_both:
        quoted = naming_both[0] if len(naming_both[0]) <= 120 else naming_both[0][:117] + "..."
        return (
            f"{head}: the app logged its fallback from {primary} to {fallback} without the status {status} "
            f"(\"{quoted}\") (policy: require_fallback_log); say why it fell back"
        )
    example = (
        f'log.warning("%s failed with %s, falling back to %s", primary, {status}, fallback)'
        if status
        else 'log.warning("%s failed (%s), falling back to %s", primary, error, fallback)'
    )
    return (
        f"{head}: the app fell back from {primary} to {fallback} but no log record of the test names "
        f"{needs} (policy: require_fallback_log); a fallback must be visible, e.g. {example}"
    )


__all__ = [
    "BODY_KINDS",
    "FAULT_KINDS",
    "NATIVE_VARIANTS",
    "TRANSPORT_KINDS",
    "Fault",
    "FaultPlan",
    "Wire",
    "body_fault_wire",
    "check_policy",
    "describe_fault",
    "error_body",
    "error_headers",
    "transport_error",
    "wire_response",
]
