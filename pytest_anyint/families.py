"""The family table: every fact about the gateway's API families, in one place.

Everything else (the interceptor, recording, contracts, faults, the emulator, reports) asks this
module where a family lives on the gateway, how it authenticates, where a request names its model,
how to read the answer's text and token usage, and how an error looks on the wire.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

DEFAULT_BASE_URL = "https://gateway.api.anyint.ai"
ANTHROPIC_VERSION = "2023-06-01"
#: The key placed in clients and the environment in replay mode, so SDK clients can be built.
PLACEHOLDER_KEY = "anyint-replay-placeholder-key"

# --------------------------------------------------------------------------- model in request

_GEMINI_MODEL_IN_PATH = re.compile(r"/models/([^/:]+):")


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


def stream_usage(family: "Family", events: Iterable[Any]) -> Usage | None:
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


def gateway_error(status: int, message: str | None = None) -> dict[str, Any]:
    kind, code, default = GATEWAY_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", f"http_{status}", f"HTTP {status}")
    )
    return {"error": {"message": message or default, "type": kind, "code": code, "param": None}}


_OPENAI_NATIVE = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported."),
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


def _anthropic_native_error(status: int, variant: str | None = None) -> dict[str, Any]:
    kind = _ANTHROPIC_NATIVE.get(status, "api_error" if status >= 500 else "invalid_request_error")
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
    #: SSE framing: True when a stream must end with ``data: [DONE]``.
    stream_done_sentinel: bool = False
    models_path: str | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The auth headers as the gateway documents them for this family."""
        if self.auth_style == "x-api-key":
            return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
        return {"Authorization": f"Bearer {api_key}"}

    @property
    def auth_header_names(self) -> tuple[str, ...]:
        """Lower-case names of the headers the gateway requires on this family."""
        return ("x-api-key", "anthropic-version") if self.auth_style == "x-api-key" else ("authorization",)

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
            # google-genai defaults to api_version v1 (not a published route) and x-goog-api-key.
            return {
                "api_key": api_key,
                "http_options": {"base_url": base_url, "api_version": "v1beta", "headers": self.auth_headers(api_key)},
            }
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
        native_error=_openai_native_error,
        stream_done_sentinel=True,
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


def model_slug(model: str) -> str:
    """A model ID as a file name: characters outside ``[A-Za-z0-9._-]`` become ``_``, and so do
    leading dots (a hidden file is one that check, prune and drift never see; ``..`` climbs)."""
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", model)
    return "_" * (len(slug) - len(slug.lstrip("."))) + slug.lstrip(".") if slug.startswith(".") else slug
