"""The family table: every fact about the gateway's API families, in one place.

Everything else (the interceptor, recording, contracts, faults, the emulator, reports) asks this
module where a family lives on the gateway, how it authenticates, where a request names its model
and whether it asks for a stream, how to read the answer's text, token usage and served model,
how a stream is framed on the wire (events, end, in-stream error) and how an error looks.

A ground module: the standard library and the ground modules :mod:`pytest_anyint.auth` (key
forms, SDK set-up) and :mod:`pytest_anyint.envelopes` (error bodies), whose names it re-exports.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from .auth import (
    ANTHROPIC_FORMS,
    ANTHROPIC_PINNED,
    ANTHROPIC_VERSION,
    AUTH_CONFIDENCES,
    BEARER,
    GEMINI_FORMS,
    AuthForm,
    PinnedHeader,
    async_transport,
    genai_takes_aiohttp,
)
from .envelopes import (
    GATEWAY_ERRORS,
    anthropic_native_error,
    gateway_error,
    gemini_native_error,
    media_native_error,
    music_native_error,
    openai_native_error,
)
from .text import lazy_pattern

DEFAULT_BASE_URL = "https://gateway.api.anyint.ai"
#: The key placed in clients and the environment in replay mode, so SDK clients can be built.
PLACEHOLDER_KEY = "anyint-replay-placeholder-key"

# --------------------------------------------------------------------------- model in request

#: The model of a Gemini call path, whose ID may hold "/" (``models/my-org/custom-1:generateContent``).
_gemini_model_in_path = lazy_pattern(r"/models/([^:?]+):")


def _model_from_body(body: Any) -> str | None:
    if isinstance(body, dict):
        model = body.get("model") or body.get("model_name")
        if isinstance(model, str):
            return model
    return None


def _model_from_gemini_path(path: str, body: Any) -> str | None:
    match = _gemini_model_in_path().search(path)
    return match.group(1) if match else None


# --------------------------------------------------------------------------- output text


def _openai_text(body: Any) -> str | None:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else None


def _openai_stream_text(events: Iterable[Any]) -> str:
    parts: list[str] = []
    for event in events:
        for choice in (event or {}).get("choices") or []:
            piece = (choice.get("delta") or {}).get("content")
            if isinstance(piece, str):
                parts.append(piece)
    return "".join(parts)


def _anthropic_text(body: Any) -> str | None:
    blocks = body.get("content") if isinstance(body, dict) else None
    if not isinstance(blocks, list):
        return None
    return "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")


def _anthropic_stream_text(events: Iterable[Any]) -> str:
    parts: list[str] = []
    for event in events:
        if isinstance(event, dict) and event.get("type") == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                parts.append(delta.get("text", ""))
    return "".join(parts)


def _gemini_text(body: Any) -> str | None:
    try:
        parts = body["candidates"][0]["content"]["parts"]
    except (KeyError, IndexError, TypeError):
        return None
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict) and not p.get("thought"))


def _gemini_stream_text(events: Iterable[Any]) -> str:
    return "".join(_gemini_text(event) or "" for event in events)


def _no_text(body: Any) -> str | None:
    return None


def _no_stream_text(events: Iterable[Any]) -> str:
    return ""


# --------------------------------------------------------------------------- token usage


# The family table's records are NamedTuples: cheap to build at import (a frozen dataclass execs
# six methods on Python 3.11), immutable and compared by value, as the frozen dataclasses were.
class Usage(NamedTuple):
    """Token counts normalised across families: ``input`` always includes cached tokens."""

    input: int = 0
    output: int = 0
    cached: int = 0


def _n(value: Any) -> int:
    """A token count; anything else (a drifted string, null) counts 0: the contract check reports it."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _openai_usage(body: Any) -> Usage | None:
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details")
    cached = _n(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return Usage(_n(usage.get("prompt_tokens")), _n(usage.get("completion_tokens")), cached)


def _anthropic_usage(body: Any) -> Usage | None:
    if isinstance(body, dict) and body.get("type") == "message_start":
        body = body.get("message")
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return None
    # Anthropic reports cache tokens in addition to input_tokens.
    created = _n(usage.get("cache_creation_input_tokens"))
    read = _n(usage.get("cache_read_input_tokens"))
    return Usage(_n(usage.get("input_tokens")) + created + read, _n(usage.get("output_tokens")), read)


def _gemini_usage(body: Any) -> Usage | None:
    usage = body.get("usageMetadata") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return None
    output = _n(usage.get("candidatesTokenCount")) + _n(usage.get("thoughtsTokenCount"))
    return Usage(_n(usage.get("promptTokenCount")), output, _n(usage.get("cachedContentTokenCount")))


def _no_usage(body: Any) -> Usage | None:
    return None


def stream_usage(family: Family, events: Iterable[Any]) -> Usage | None:
    """The last usage a stream reports (cumulative in every family), merged for Anthropic."""
    found: Usage | None = None
    for event in events:
        usage = family.usage(event)
        if usage is None:
            continue
        if found is not None and family.name == "anthropic":
            # message_start carries input, message_delta the cumulative output.
            usage = Usage(max(found.input, usage.input), max(found.output, usage.output), max(found.cached, usage.cached))
        found = usage
    return found


# --------------------------------------------------------------------------- served model and stream events


def _str_at(body: Any, key: str) -> str | None:
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _served_model(body: Any, inner: str, wraps: Callable[[str], bool]) -> str | None:
    """``model`` of an answer, or of the answer a stream event wraps (Anthropic's ``message_start``
    holds a ``message``, each OpenAI Responses event a ``response``)."""
    if isinstance(body, dict) and isinstance(body.get("type"), str) and wraps(body["type"]):
        body = body.get(inner)
    return _str_at(body, "model")


def _openai_content_event(event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    for choice in event.get("choices") or []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and (delta.get("content") or delta.get("tool_calls") or delta.get("refusal")):
            return True
    return False


def dump_json(obj: Any) -> bytes:
    """Compact JSON bytes, as the upstreams send them (no spaces, UTF-8 kept)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _named_sse_event(obj: Any) -> bytes:
    """Anthropic names every event after its data's ``type`` (the SDK dispatches on the name)."""
    return f"event: {obj['type']}\ndata: ".encode() + dump_json(obj) + b"\n\n"


# --------------------------------------------------------------------------- the table


class Family(NamedTuple):
    """One API family the gateway publishes, and how to talk to it."""

    name: str
    #: Where the family lives on the gateway; a target's ``base_url`` is gateway + this.
    base_path: str
    #: Path prefixes on the gateway that belong to this family (most specific wins).
    path_prefixes: tuple[str, ...]
    #: "bearer" (Authorization: Bearer) or "x-api-key" (plus anthropic-version).
    auth_style: str
    #: Where the request names its model: in the JSON body or in the URL path.
    model_from_request: Callable[[str, Any], str | None]
    #: The assistant's text in a JSON response, and in a list of parsed stream events.
    text: Callable[[Any], str | None]
    stream_text: Callable[[Iterable[Any]], str]
    usage: Callable[[Any], Usage | None]
    #: The upstream provider's own error body for a status (``envelope="native"``).
    native_error: Callable[[int, str | None], dict[str, Any]]
    #: The model that actually answered, as one JSON body or stream event names it.
    served_model: Callable[[Any], str | None] = lambda body: None
    #: Whether a parsed stream event carries a piece of the answer (not an opening or closing event).
    content_event: Callable[[Any], bool] = lambda event: False
    #: How one SSE event is framed (data-only, named events, CRLF line ends).
    sse_event: Callable[[Any], bytes] = lambda obj: b"data: " + dump_json(obj) + b"\n\n"
    #: What ends a complete SSE stream (OpenAI's ``data: [DONE]``); nothing for the others.
    sse_done: bytes = b""
    #: The status an upstream answers when its error comes before a stream's 200.
    stream_error_status: int = 503
    models_path: str | None = None
    #: Every form the key may take on this family, the documented one first.
    auth_forms: tuple[AuthForm, ...] = (BEARER,)
    #: Headers the gateway documents with one value (anthropic-version).
    pinned_headers: tuple[PinnedHeader, ...] = ()
    #: (the official SDK, the provider's own host it calls when no base URL is given).
    sdk_default: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"Family({self.name!r})"

    def stream_form(self, query: str | bytes = "") -> StreamForm:
        """How this family frames a stream answering a request with this query string."""
        if self.name == "gemini":
            return StreamForm(self, sse=_query_value(query, "alt") == "sse")
        return StreamForm(self)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The auth headers as the gateway documents them for this family."""
        if self.auth_style == "x-api-key":
            return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
        return {"Authorization": f"Bearer {api_key}"}

    @property
    def documented_auth(self) -> AuthForm:
        return self.auth_forms[0]

    @property
    def auth_header_names(self) -> tuple[str, ...]:
        """Lower-case names of the headers of the documented auth form on this family."""
        return self.documented_auth.headers

    def auth_form(self, sent: Collection[str]) -> AuthForm | None:
        """The first accepted form whose headers are all in ``sent`` (lower-case names), or None."""
        for form in self.auth_forms:
            if not [name for name in form.headers if name not in sent]:  # not all(...): asked per request
                return form
        return None

    def presented_key(self, headers: Mapping[str, str]) -> str | None:
        """The key a request carries in an accepted form (``headers`` with lower-case names), or None."""
        form = self.auth_form(headers)
        if form is None:
            return None
        value = headers.get(form.headers[0], "")
        if form.headers[0] == "authorization":
            scheme, _, token = value.partition(" ")
            return token if scheme.lower() == "bearer" else None
        return value

    def base_url(self, gateway_url: str) -> str:
        return gateway_url.rstrip("/") + self.base_path

    def sdk_kwargs(self, gateway_url: str, api_key: str) -> dict[str, Any]:
        """Keyword arguments that point this family's official SDK at the gateway correctly."""
        base_url = self.base_url(gateway_url)
        if self.name == "anthropic":
            # The SDK sends Bearer and a newer anthropic-version by default; the gateway documents
            # x-api-key with 2023-06-01. default_headers sets both and drops the Bearer copy of the key.
            headers: dict[str, Any] = dict(self.auth_headers(api_key))
            try:
                from anthropic import Omit

                headers["Authorization"] = Omit()
            except ImportError:  # no anthropic SDK installed: nobody will use these kwargs with it
                pass
            return {"base_url": base_url, "api_key": api_key, "default_headers": headers}
        if self.name == "gemini":
            # google-genai defaults to api_version v1 (not a published route) and x-goog-api-key; its
            # async client takes aiohttp when that is installed, which no interceptor sees: a transport
            # of its own in async_client_args keeps it on httpx2 (httpx without httpx2).
            http_options: dict[str, Any] = {"base_url": base_url, "api_version": "v1beta", "headers": self.auth_headers(api_key)}
            transport = async_transport() if genai_takes_aiohttp() else None
            if transport is not None:
                http_options["async_client_args"] = {"transport": transport}
            return {"api_key": api_key, "http_options": http_options}
        return {"base_url": base_url, "api_key": api_key}


FAMILIES: dict[str, Family] = {
    "openai": Family(
        name="openai",
        base_path="/openai/v1",
        path_prefixes=("/openai/",),
        auth_style="bearer",
        model_from_request=lambda path, body: _model_from_body(body),
        text=_openai_text,
        stream_text=_openai_stream_text,
        usage=_openai_usage,
        native_error=openai_native_error,
        served_model=lambda body: _served_model(body, "response", lambda kind: kind.startswith("response.")),
        content_event=_openai_content_event,
        sse_done=b"data: [DONE]\n\n",
        models_path="/openai/v1/models",
        sdk_default=("openai", "api.openai.com"),
    ),
    "anthropic": Family(
        name="anthropic",
        base_path="/anthropic",
        path_prefixes=("/anthropic/",),
        auth_style="x-api-key",
        model_from_request=lambda path, body: _model_from_body(body),
        text=_anthropic_text,
        stream_text=_anthropic_stream_text,
        usage=_anthropic_usage,
        native_error=anthropic_native_error,
        served_model=lambda body: _served_model(body, "message", lambda kind: kind == "message_start"),
        content_event=lambda event: isinstance(event, dict) and event.get("type") == "content_block_delta",
        sse_event=_named_sse_event,
        stream_error_status=529,
        models_path="/anthropic/v1/models",
        auth_forms=ANTHROPIC_FORMS,
        pinned_headers=ANTHROPIC_PINNED,
        sdk_default=("anthropic", "api.anthropic.com"),
    ),
    "gemini": Family(
        name="gemini",
        base_path="/gemini",
        path_prefixes=("/gemini/",),
        auth_style="bearer",
        model_from_request=_model_from_gemini_path,
        text=_gemini_text,
        stream_text=_gemini_stream_text,
        usage=_gemini_usage,
        native_error=gemini_native_error,
        served_model=lambda body: _str_at(body, "modelVersion"),
        content_event=lambda event: isinstance(event, dict) and "candidates" in event,
        sse_event=lambda obj: b"data: " + dump_json(obj) + b"\r\n\r\n",
        auth_forms=GEMINI_FORMS,
        sdk_default=("google-genai", "generativelanguage.googleapis.com"),
    ),
    "media": Family(
        name="media",
        base_path="",
        path_prefixes=("/dashscope/", "/transtreams/", "/openai/v1/videos", "/openai/v1/images"),
        auth_style="bearer",
        model_from_request=lambda path, body: _model_from_body(body),
        text=_no_text,
        stream_text=_no_stream_text,
        usage=_no_usage,
        native_error=media_native_error,
    ),
    "music": Family(
        name="music",
        base_path="",
        path_prefixes=("/suno/",),
        auth_style="bearer",
        model_from_request=lambda path, body: _model_from_body(body),
        text=_no_text,
        stream_text=_no_stream_text,
        usage=_no_usage,
        native_error=music_native_error,
    ),
}

FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)

_PREFIXES = sorted(
    ((prefix, family) for family in FAMILIES.values() for prefix in family.path_prefixes),
    key=lambda item: len(item[0]),
    reverse=True,
)


def family_for_path(path: str) -> Family | None:
    """The family a gateway path belongs to (the longest matching prefix), or None."""
    for prefix, family in _PREFIXES:
        if path.startswith(prefix):
            return family
    return None


# --------------------------------------------------------------------------- streams on the wire


class StreamForm(NamedTuple):
    """How one answer stream is put on the wire: the family's SSE framing, or Gemini's JSON array.

    Gemini streams as SSE only with ``?alt=sse``; without it, ``streamGenerateContent`` answers
    one JSON array whose elements arrive as they are ready (``[{...}``, ``,\\r\\n{...}``, ``]``).
    """

    family: Family
    sse: bool = True

    @property
    def content_type(self) -> str:
        return "text/event-stream" if self.sse else "application/json"

    def event(self, obj: Any, index: int = 0) -> bytes:
        """Event number ``index`` (0-based) of the stream, framed."""
        if self.sse:
            return self.family.sse_event(obj)
        return (b"[" if index == 0 else b",\r\n") + dump_json(obj)

    def end(self, count: int) -> list[bytes]:
        """What completes a stream of ``count`` events: ``data: [DONE]``, the array's ``]``, or nothing."""
        if self.sse:
            return [self.family.sse_done] if self.family.sse_done else []
        return [b"]"] if count else [b"[]"]

    def close(self, count: int) -> list[bytes]:
        """What a stream that ends in an error still needs to stay well-formed: only the array's ``]``."""
        return [] if self.sse else self.end(count)

    def frame(self, objects: Iterable[Any]) -> list[bytes]:
        """A complete stream: every event framed, then the end."""
        chunks = [self.event(obj, i) for i, obj in enumerate(objects)]
        return chunks + self.end(len(chunks))


def _query_value(query: str | bytes, name: str) -> str | None:
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    values = parse_qs(text, keep_blank_values=True).get(name)
    return values[-1] if values else None


class RequestFacts(NamedTuple):
    """What a gateway request says about itself: its family, the model it names, whether it streams."""

    family: Family | None
    model: str | None
    stream: bool
    #: The stream's framing (for Gemini: SSE only with ``alt=sse``); meaningful when ``stream``.
    form: StreamForm | None
    #: The request body as JSON when the family reads it (None when empty, not JSON, or Gemini's).
    json: Any = None


def read_request(path: str, query: str | bytes, body: bytes | str | None) -> RequestFacts:
    """The one reading of a request: family, model, stream or not (and how it is framed).

    Gemini names the model and the stream in the path (``:streamGenerateContent``, ``?alt=sse``);
    every other family in the JSON body (``"model"``, ``"stream": true``). The body is parsed at
    most once, and not at all for Gemini.
    """
    family = family_for_path(path)
    if family is None:
        return RequestFacts(None, None, False, None)
    return request_facts(path, query, None if family.name == "gemini" else parse_json(body), family)


def request_facts(path: str, query: str | bytes, parsed: Any, family: Family | None = None) -> RequestFacts:
    """:func:`read_request` for a body the caller already parsed (``parsed``: its JSON, or None)."""
    family = family or family_for_path(path)
    if family is None:
        return RequestFacts(None, None, False, None)
    if family.name == "gemini":
        stream = path.endswith(":streamGenerateContent")
        return RequestFacts(family, family.model_from_request(path, None), stream, family.stream_form(query) if stream else None)
    stream = isinstance(parsed, dict) and parsed.get("stream") is True
    return RequestFacts(family, family.model_from_request(path, parsed), stream, StreamForm(family) if stream else None, parsed)


# --------------------------------------------------------------------------- task polls

#: The polls of the task APIs (media and music jobs are created, then polled): API, path.
_TASK_POLLS = (
    ("suno", lazy_pattern(r"/suno/query/task")),
    ("dashscope", lazy_pattern(r"/dashscope/v1/tasks/(?P<id>[^/]+)")),
    ("kling", lazy_pattern(r"/transtreams/kling/v1/(?:images|videos)/[a-z0-9-]+/(?P<id>[^/]+)")),
    ("openai-video", lazy_pattern(r"/openai/v1/videos/(?P<id>[^/]+)")),
)


class TaskPoll(NamedTuple):
    """A request asking how a media or music task is doing: which task API, and the task's id."""

    api: str
    task_id: str


def task_poll(method: str, path: str, query: str | bytes = "") -> TaskPoll | None:
    """The task poll a request is (Suno's ``?taskId=``, an id in the path), or None."""
    if method.upper() != "GET":
        return None
    for api, pattern in _TASK_POLLS:
        match = pattern().fullmatch(path.rstrip("/"))
        if match is not None:
            task_id = match.groupdict().get("id") or _query_value(query, "taskId") or ""
            return TaskPoll(api, task_id)
    return None


def stream_served_model(family: Family, events: Iterable[Any]) -> str | None:
    """The first model a stream's events name as having answered."""
    for event in events:
        served = family.served_model(event)
        if served is not None:
            return served
    return None


def served_model_any(body: Any) -> str | None:
    """The served model as the first family that reads one names it (drift does not know the family)."""
    for family in FAMILIES.values():
        served = family.served_model(body)
        if served is not None:
            return served
    return None


def get_family(name: str) -> Family:
    return FAMILIES[name]


def parse_json(body: bytes | str | None) -> Any:
    """JSON of a body, or None when it is empty or not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


__all__ = [
    "ANTHROPIC_VERSION",
    "AUTH_CONFIDENCES",
    "DEFAULT_BASE_URL",
    "FAMILIES",
    "FAMILY_NAMES",
    "GATEWAY_ERRORS",
    "PLACEHOLDER_KEY",
    "AuthForm",
    "Family",
    "PinnedHeader",
    "RequestFacts",
    "StreamForm",
    "TaskPoll",
    "Usage",
    "dump_json",
    "family_for_path",
    "gateway_error",
    "get_family",
    "parse_json",
    "read_request",
    "request_facts",
    "served_model_any",
    "stream_served_model",
    "stream_usage",
    "task_poll",
]
