"""How a request carries the key on each family, and how an SDK client is pointed at the gateway.

A ground module (the standard library; the SDKs and httpx only lazily, inside functions). The
family table (:mod:`pytest_anyint.families`) names each family's accepted forms; the interceptor,
the contracts gate and the emulator ask them which form a request used and how sure the gateway's
docs are of it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

ANTHROPIC_VERSION = "2023-06-01"

#: How sure the docs are that the gateway accepts an auth form: the confidences of contract rules.
AUTH_CONFIDENCES = ("documented", "upstream", "assumed")


# NamedTuples, not frozen dataclasses: cheap to build at import, immutable, compared by value
# (the auth-header matcher compares the forms of two requests).
class AuthForm(NamedTuple):
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
class PinnedHeader(NamedTuple):
    name: str
    value: str
    confidence: str
    source: str


BEARER = AuthForm(("authorization",), "documented", "Authorization: Bearer <key>")
ANTHROPIC_FORMS = (
    AuthForm(("x-api-key", "anthropic-version"), "documented", f"x-api-key: <key> with anthropic-version: {ANTHROPIC_VERSION}"),
    AuthForm(
        ("authorization", "anthropic-version"),
        "assumed",
        "Authorization: Bearer <key> with anthropic-version",
        "the Anthropic SDK's default for api_key=; the gateway does not document Bearer on its Anthropic routes",
    ),
)
GEMINI_FORMS = (
    BEARER,
    AuthForm(
        ("x-goog-api-key",),
        "assumed",
        "x-goog-api-key: <key>",
        "google-genai's default for api_key=; the gateway's docs say only that some clients' x-goog-api-key is accepted",
    ),
)
ANTHROPIC_PINNED = (
    PinnedHeader(
        "anthropic-version",
        ANTHROPIC_VERSION,
        "upstream",
        "the Anthropic SDK sends its own newer version, which Anthropic accepts; the gateway documents only "
        + ANTHROPIC_VERSION,
    ),
)


_SSL_CONTEXTS: dict[str, Any] = {}


def genai_takes_aiohttp() -> bool:
    """Whether google-genai's async client would send through aiohttp (it does whenever aiohttp imports)."""
    try:
        from google.genai import _api_client
    except ImportError:
        return False
    return bool(getattr(_api_client, "has_aiohttp", False))


def async_transport() -> Any:
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


__all__ = ["ANTHROPIC_VERSION", "AUTH_CONFIDENCES", "AuthForm", "PinnedHeader", "async_transport", "genai_takes_aiohttp"]
