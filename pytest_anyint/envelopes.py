"""Error bodies as each API family puts them on the wire: the gateway's envelope and the natives.

A ground module (the standard library only). The family table (:mod:`pytest_anyint.families`)
points each family at its native body; faults, the emulator and the interceptor's refusals build
every error answer from here, so an injected 503 and an emulated one are the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The request id every injected or emulated error carries (the SDKs expose it as ``request_id``).
INJECTED_REQUEST_ID = "req_anyint_injected"

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


_OPENAI_NATIVE: Mapping[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    # As OpenAI answers it: type request_forbidden (not invalid_request_error), message without a full stop.
    403: ("request_forbidden", "unsupported_country_region_territory", "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 1ms."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def openai_native_error(status: int, variant: str | None = None) -> dict[str, Any]:
    kind: str
    code: str | None
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


def anthropic_native_error(status: int, variant: str | None = None) -> dict[str, Any]:
    kind = _anthropic_error_type(status)
    message = "Overloaded" if kind == "overloaded_error" else kind.replace("_", " ").capitalize()
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": INJECTED_REQUEST_ID}


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


def gemini_native_error(status: int, variant: str | None = None) -> dict[str, Any]:
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


#: The music API's documented error codes (its own table, not the gateway's): code -> message.
MUSIC_ERRORS: Mapping[int, str] = {
    400: "Invalid parameters",
    401: "Authentication failed",
    405: "Frequency limit exceeded",
    413: "Text too long",
    429: "Quota exhausted",
    430: "Request rate too high",
    455: "System maintenance",
    500: "Server error",
}


def music_native_error(status: int, variant: str | None = None) -> dict[str, Any]:
    """The Suno-style body of the music routes: ``{"code", "msg", "data": null}``.

    The music docs list their codes without saying whether they come as HTTP statuses or as the
    body's ``code``; the emulator and injected faults send both (the HTTP status is the code).
    """
    message = MUSIC_ERRORS.get(status, "Server error" if status >= 500 else "Invalid parameters")
    return {"code": status, "msg": message, "data": None}


#: DashScope's error codes (the media task routes' provider) per HTTP status.
_DASHSCOPE_CODES: Mapping[int, tuple[str, str]] = {
    400: ("InvalidParameter", "The request parameters are invalid."),
    401: ("InvalidApiKey", "Invalid API-key provided."),
    403: ("AccessDenied", "Access denied."),
    404: ("ModelNotFound", "Model not found."),
    429: ("Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
    500: ("InternalError", "An internal error has occured, please try again later."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
}


def media_native_error(status: int, variant: str | None = None) -> dict[str, Any]:
    """DashScope's own error body on the media routes: ``{"code", "message", "request_id"}``."""
    code, message = _DASHSCOPE_CODES.get(status, ("InternalError" if status >= 500 else "InvalidParameter", f"HTTP {status}"))
    return {"code": code, "message": message, "request_id": INJECTED_REQUEST_ID}


__all__ = [
    "GATEWAY_ERRORS",
    "INJECTED_REQUEST_ID",
    "MUSIC_ERRORS",
    "anthropic_native_error",
    "gateway_error",
    "gemini_native_error",
    "media_native_error",
    "music_native_error",
    "openai_native_error",
]
