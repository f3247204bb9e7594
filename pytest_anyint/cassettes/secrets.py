"""Secrets: what never reaches a cassette, and how it is found and removed.

The request headers and query parameters that carry a key, the scan that a new cassette must pass
before it is saved (the configured key in every encoded form, and key-shaped strings), and the
scrubbers used on bodies, URLs and pytest's own report text. Findings describe where a secret is,
never the secret itself.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .. import keyforms
from ..families import PLACEHOLDER_KEY
from .format import CassetteError, load_yaml

#: Request headers whose values never reach a cassette, and what replaces them.
SECRET_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie", "proxy-authorization")
SECRET_RESPONSE_HEADERS = ("set-cookie",)
#: Request headers worth keeping for review and matching; SDK telemetry (user-agent, x-stainless-*)
#: would only make every re-record a noisy diff.
KEPT_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "anthropic-version",
    "anthropic-beta",
    "openai-beta",
    *SECRET_HEADERS,
)
SECRET_QUERY_PARAMS = ("key", "api_key", "apikey")


class SecretLeakError(CassetteError):
    """A new cassette would contain a secret; the old one was left untouched."""


def secret_forms(secret: str) -> list[str]:
    """A secret as it may appear in text: plain, URL-encoded, base64 (alone and in Basic auth).

    The simple forms only (for callers that look for them by substring); scanning and scrubbing
    cover every form (``keyforms``).
    """
    if not secret:
        return []
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    forms.add(base64.b64encode(secret.encode()).decode().rstrip("="))
    return sorted(forms, key=len, reverse=True)


#: (literal start, pattern matched there, characters that may not precede it, description):
#: finding the literal with str.find first keeps a clean 12 KB cassette under 10 µs.
_WORDISH = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_KEY_SHAPES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("sk-", re.compile(r"sk-[A-Za-z0-9_-]{16,}"), "an sk-… key-shaped string"),
    ("Bearer", re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]{20,}"), "a Bearer token"),
    ("AIza", re.compile(r"AIza[0-9A-Za-z_-]{30,}"), "a Google API key (AIza…)"),
)


def _shaped(text: str, needle: str, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
    position = text.find(needle)
    while position >= 0:
        if position == 0 or text[position - 1] not in _WORDISH:
            match = pattern.match(text, position)
            if match:
                yield match
        position = text.find(needle, position + 1)


#: Words that mark a scrubbed or made-up value, never a live key.
_BENIGN = ("placeholder", "redacted", "scrubbed", "dummy", "example", "xxxxxxxx", "anyint_api_key")


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def scan_secrets(text: str, known_secrets: Sequence[str] = ()) -> list[str]:
    """What secret-looking things a text holds, described WITHOUT echoing them.

    Known secrets (the configured key) are found plain, percent-encoded (once or twice, either
    case), JSON-escaped, and base64-encoded from any text encoding at any alignment; key-shaped strings are ``sk-…`` (16+ chars), ``Bearer`` + 20+ token chars and
    Google ``AIza…`` keys, except obvious placeholders such as ``<ANYINT_API_KEY>``.
    """
    found: list[str] = []
    for position, how, count in keyforms.find(text, known_secrets, PLACEHOLDER_KEY):
        more = f" (and {count - 1} more)" if count > 1 else ""
        found.append(f"the configured key{how} at line {_line_of(text, position)}{more}")
    for needle, pattern, description in _KEY_SHAPES:
        lines = []
        for match in _shaped(text, needle, pattern):
            token = match.group(0).lower()
            if any(word in token for word in _BENIGN) or PLACEHOLDER_KEY in token:
                continue
            lines.append(_line_of(text, match.start()))
        if lines:
            more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
            found.append(f"{description} at line {lines[0]}{more}")
    return found


def scrub_text(text: str, secrets: Iterable[str], placeholder: str) -> str:
    """``text`` with every form of every secret (plain, escaped, base64) replaced by ``placeholder``."""
    return keyforms.scrub_text(text, secrets, placeholder)


def scrub_bytes(data: bytes, secrets: Iterable[str], placeholder: str) -> bytes:
    """A body with every form of every secret replaced, whatever its text encoding."""
    return keyforms.scrub_bytes(data, secrets, placeholder)


def scrub_report(report: Any, secrets: Sequence[str], placeholder: str) -> None:
    """Replace the key in a pytest report's failure text and captured sections, in place; also
    the piece of it that a value pytest shortened keeps (``keyforms.cut_pieces``)."""
    def leaks(text: str) -> bool:
        return keyforms.contains(text, secrets) or bool(keyforms.cut_pieces(text, secrets))

    def scrub(text: str) -> str:
        return keyforms.scrub_cut_pieces(scrub_text(text, secrets, placeholder), secrets, placeholder)

    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        if leaks(str(longrepr[2])):
            report.longrepr = (longrepr[0], longrepr[1], scrub(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        if leaks(text):
            report.longrepr = scrub(text)
    sections = getattr(report, "sections", None)
    if sections and any(leaks(content) for _, content in sections):
        report.sections = [(title, scrub(content)) for title, content in sections]
    reason = getattr(report, "wasxfail", None)
    if isinstance(reason, str) and leaks(reason):
        report.wasxfail = scrub(reason)


def scrub_url(url: str, secrets: Iterable[str], placeholder: str) -> str:
    if "?" not in url:  # no query: nothing to parse (the usual gateway request)
        return scrub_text(url, secrets, placeholder)
    parts = urllib.parse.urlsplit(url)
    if parts.query:
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        query = urllib.parse.urlencode(
            [(k, placeholder if k.lower() in SECRET_QUERY_PARAMS else v) for k, v in pairs], safe="<>"
        )
        url = urllib.parse.urlunsplit(parts._replace(query=query))
    return scrub_text(url, secrets, placeholder)



def leaks_in_values(text: str, secrets: Sequence[str]) -> list[str]:
    """The key inside a stored value that YAML wrote in a form the text scan cannot see whole
    (a long double-quoted string folded over lines, an escape), found by reading the text back."""
    if not keyforms.usable(secrets, PLACEHOLDER_KEY):
        return []
    values: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            values.append(node)
        elif isinstance(node, bytes):
            values.append(node.decode("latin-1"))
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(load_yaml(text))
    if any(keyforms.contains(value, secrets) for value in values):
        return ["the configured key (inside a stored value)"]
    return []
