"""The family table: every fact about the gateway's API families, in one place.

Everything else (the interceptor, recording, contracts, faults, the emulator, reports) asks this
module where a family lives on the gateway, how it authenticates, where a request names its model,
how to read the answer's text and token usage, and how an error looks on the wire.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BASE_URL = "https://gateway.api.anyint.ai"
ANTHROPIC_VERSION = "2023-06-01"
#: The key placed in clients and the environment in replay mode, so SDK clients can be built.
PLACEHOLDER_KEY = "anyint-replay-placeholder-key"

# --------------------------------------------------------------------------- model in request

#: The model of a Gemini call path; an ID may hold "/" (``models/my-org/custom-model-1:generateContent``).
_GEMINI_MODEL_IN_PATH = re.compile(r"/models/([^:?]+):")


def _model_from_body(body: Any) -> str | None:
    if isinstance(body, dict):
        model = body.get("model") or body.get("model_name")
        if isinstance(model, str):
            return model
    return None


def _model_from_gemini_path(path: str, body: Any) -> str | None:
    match = _GEMINI_MODEL_IN_PATH.search(path)
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


@dataclass(frozen=True)
class Usage:
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


# --------------------------------------------------------------------------- error bodies

#: The gateway's documented OpenAI-style envelope: (type, code, message) per status.
GATEWAY_ERRORS: Mapping[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_request", "Invalid request body"),
    401: ("authentication_error", "invalid_api_key", "Invalid or missing API key"),
    403: ("permission_error", "model_not_allowed", "Blocked by subscription or policy"),
    404: ("not_found_error", "model_not_found", "Model or route not found"),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit exceeded"),
    500: ("server_error", "internal_error", "Internal server error"),
    502: ("server_error", "bad_gateway", "Upstream returned an invalid response"),
    503: ("server_error", "upstream_unavailable", "Upstream temporarily unavailable"),
    504: ("server_error", "upstream_timeout", "Upstream timed out"),
    529: ("server_error", "upstream_overloaded", "Upstream overloaded"),
}


def gateway_error(status: int, message: str | None = None, family: str | None = None) -> dict[str, Any]:
    """The gateway's envelope for a status; on Anthropic routes ``type`` is Anthropic's error type.

    The Anthropic SDK and apps on ``/anthropic/*`` read ``error.type`` as Anthropic's (``api_error``,
    ``overloaded_error``, ...), so the envelope carries that vocabulary there; other keys stay the gateway's.
    """
    kind, code, default = GATEWAY_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", f"http_{status}", f"HTTP {status}")
    )
    if family == "anthropic":
        kind = _anthropic_error_type(status)
    return {"error": {"message": message or default, "type": kind, "code": code, "param": None}}


_OPENAI_NATIVE = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    # As OpenAI answers it: type request_forbidden (not invalid_request_error), message without a full stop.
    403: ("request_forbidden", "unsupported_country_region_territory", "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 1ms."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def _openai_native_error(status: int, variant: str | None = None) -> dict[str, Any]:
    if status == 429 and variant == "insufficient_quota":
        kind, code, message = "insufficient_quota", "insufficient_quota", "You exceeded your current quota."
    else:
        kind, code, message = _OPENAI_NATIVE.get(status, ("server_error", None, f"HTTP {status}"))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


_ANTHROPIC_NATIVE = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _anthropic_error_type(status: int) -> str:
    return _ANTHROPIC_NATIVE.get(status, "api_error" if status >= 500 else "invalid_request_error")


def _anthropic_native_error(status: int, variant: str | None = None) -> dict[str, Any]:
    kind = _anthropic_error_type(status)
    message = "Overloaded" if kind == "overloaded_error" else kind.replace("_", " ").capitalize()
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_anyint_injected"}


_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _gemini_native_error(status: int, variant: str | None = None) -> dict[str, Any]:
    canonical = _GEMINI_STATUS.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
    error: dict[str, Any] = {"code": status, "message": f"{canonical.replace('_', ' ').capitalize()}.", "status": canonical}
    if status == 429:
        error["message"] = "You exceeded your current quota. Please retry in 1s."
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}]
    elif status == 400 and variant == "api_key_invalid":
        error["message"] = "API key not valid. Please pass a valid API key."
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ]
    return {"error": error}


# --------------------------------------------------------------------------- auth forms

#: How sure the docs are that the gateway accepts an auth form: the confidences of contract rules.
AUTH_CONFIDENCES = ("documented", "upstream", "assumed")


@dataclass(frozen=True)
class AuthForm:
    """One way a request may carry the key on a family, and how sure the gateway's docs are of it.

    ``documented`` forms pass silently. Other forms pass with a one-line warning naming the
    documented one, so an app that builds its SDK client the plain way is not failed for a header
    the gateway takes; ``assumed`` forms fail under ``--anyint-contracts=strict``.
    """

    #: Lower-case header names that must all be present.
    headers: tuple[str, ...]
    confidence: str
    #: How the form reads in a message, e.g. ``Authorization: Bearer <key>``.
    shown: str
    #: What the docs say about it (for the warning), e.g. who sends it by default.
    source: str = ""


#: A header the gateway documents with one value, e.g. ``anthropic-version: 2023-06-01``; another
#: value passes with a warning of this confidence.
@dataclass(frozen=True)
class PinnedHeader:
    name: str
    value: str
    confidence: str
    source: str


_BEARER = AuthForm(("authorization",), "documented", "Authorization: Bearer <key>")
_ANTHROPIC_FORMS = (
    AuthForm(("x-api-key", "anthropic-version"), "documented", f"x-api-key: <key> with anthropic-version: {ANTHROPIC_VERSION}"),
    AuthForm(
        ("authorization", "anthropic-version"),
        "assumed",
        "Authorization: Bearer <key> with anthropic-version",
        "the Anthropic SDK's default for api_key=; the gateway does not document Bearer on its Anthropic routes",
    ),
)
_GEMINI_FORMS = (
    _BEARER,
    AuthForm(
        ("x-goog-api-key",),
        "assumed",
        "x-goog-api-key: <key>",
        "google-genai's default for api_key=; the gateway's docs say only that some clients' x-goog-api-key is accepted",
    ),
)
_ANTHROPIC_PINNED = (
    PinnedHeader(
        "anthropic-version",
        ANTHROPIC_VERSION,
        "upstream",
        "the Anthropic SDK sends its own newer version, which Anthropic accepts; the gateway documents only "
        + ANTHROPIC_VERSION,
    ),
)


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Family:
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
    models_path: str | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    #: Every form the key may take on this family, the documented one first.
    auth_forms: tuple[AuthForm, ...] = (_BEARER,)
    #: Headers the gateway documents with one value (anthropic-version).
    pinned_headers: tuple[PinnedHeader, ...] = ()

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
            if all(name in sent for name in form.headers):
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
            transport = _async_transport() if _genai_takes_aiohttp() else None
            if transport is not None:
                http_options["async_client_args"] = {"transport": transport}
            return {"api_key": api_key, "http_options": http_options}
        return {"base_url": base_url, "api_key": api_key}


_SSL_CONTEXTS: dict[str, Any] = {}


def _genai_takes_aiohttp() -> bool:
    """Whether google-genai's async client would send through aiohttp (it does whenever aiohttp imports)."""
    try:
        from google.genai import _api_client
    except ImportError:
        return False
    return bool(getattr(_api_client, "has_aiohttp", False))


def _async_transport() -> Any:
    """A fresh async transport of httpx2 (else httpx) for google-genai, or None with neither installed.

    It keeps no idle connections: a client built once per session serves tests that each run their
    own event loop, and a pooled connection of a closed loop would fail the next test ("Event loop
    is closed"). Its TLS context is made once per process: building one costs tens of milliseconds,
    which every ``sdk_kwargs("gemini")`` would pay otherwise.
    """
    for name in ("httpx2", "httpx"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        limits = module.Limits(max_keepalive_connections=0)
        make = getattr(module, "create_ssl_context", None)
        if make is None:
            return module.AsyncHTTPTransport(limits=limits)
        context = _SSL_CONTEXTS.get(name)
        if context is None:
            context = _SSL_CONTEXTS[name] = make()
        return module.AsyncHTTPTransport(verify=context, limits=limits)
    return None


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
        native_error=_openai_native_error,
        models_path="/openai/v1/models",
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
        native_error=_anthropic_native_error,
        models_path="/anthropic/v1/models",
        auth_forms=_ANTHROPIC_FORMS,
        pinned_headers=_ANTHROPIC_PINNED,
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
        native_error=_gemini_native_error,
        auth_forms=_GEMINI_FORMS,
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
        native_error=lambda status, variant=None: gateway_error(status),
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
        native_error=lambda status, variant=None: gateway_error(status),
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
