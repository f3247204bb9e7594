"""Request matching: which recorded interaction answers a live request, and, when none does, where
the nearest one differs.

vcrpy's matchers for method, path and query (written here with vcrpy's behaviour and messages, so
replay never imports vcrpy), plus the plugin's own: JSON bodies compared as values
(key order ignored, a route's ``match_ignore`` paths skipped) and the auth header form of the
request's family (never the key itself). The host is never matched, so a cassette recorded
against the emulator replays against the gateway's address and back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..families import family_for_path
from ..text import clip


def json_path_matchers(paths: Sequence[str]) -> list[list[str]]:
    """``$.messages[0].content`` / ``metadata.run_id`` → key lists; ``*`` matches any key or index."""
    out = []
    for path in paths:
        path = path.removeprefix("$").removeprefix(".")
        out.append([p for p in re.split(r"\.|\[|\]", path) if p])
    return out


def _drop_paths(value: Any, paths: list[list[str]]) -> Any:
    if not paths:
        return value
    value = json.loads(json.dumps(value))  # a private copy
    for parts in paths:
        _drop(value, parts)
    return value


def _drop(node: Any, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else ([head] if head in node else [])
        for key in keys:
            if rest:
                _drop(node[key], rest)
            else:
                node[key] = "<ignored>"
    elif isinstance(node, list):
        indexes = range(len(node)) if head == "*" else ([int(head)] if head.isdigit() and int(head) < len(node) else [])
        for index in indexes:
            if rest:
                _drop(node[index], rest)
            else:
                node[index] = "<ignored>"


def _body_value(request: Any) -> Any:
    body = request.body
    memo = getattr(request, "_anyint_body", None)
    if memo is not None and memo[0] is body:  # a recording is compared with several requests
        return memo[1]
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if not raw:
        value = None
    else:
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            value = raw
    try:
        request._anyint_body = (body, value)
    except AttributeError:
        pass
    return value


def make_body_matcher(match_ignore: Sequence[str]) -> Any:
    """A vcrpy matcher: JSON bodies equal as values (key order ignored, ignored paths skipped)."""
    paths = json_path_matchers(match_ignore)

    def json_body(r1: Any, r2: Any) -> None:
        if r1.body == r2.body:  # the same bytes are the same JSON (the usual case: both canonical)
            return
        a, b = _body_value(r1), _body_value(r2)
        if isinstance(a, (dict, list)) and isinstance(b, (dict, list)):
            a, b = _drop_paths(a, paths), _drop_paths(b, paths)
        if a != b:
            raise AssertionError(describe_body_difference(a, b))

    return json_body


def describe_body_difference(live: Any, recorded: Any, limit: int = 3) -> str:
    """Where two JSON bodies differ, as ``path: live != recorded`` (the first few)."""
    diffs: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(diffs) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                if key not in a:
                    diffs.append(f"{where}.{key}: missing (recorded {clip(b[key])})")
                elif key not in b:
                    diffs.append(f"{where}.{key}: {clip(a[key])} (not in the recording)")
                else:
                    walk(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{where}[{index}]")
        elif a != b:
            shown_a, shown_b = _difference_window(_dumped(a), _dumped(b))
            diffs.append(f"{where or '$'}: {shown_a} (recorded {shown_b})")

    walk(live, recorded, "$")
    return "; ".join(diffs) or "bodies differ"


def _dumped(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, bytes) else repr(value)


def _difference_window(a: str, b: str, limit: int = 60, before: int = 24) -> tuple[str, str]:
    """Both texts cut to a window around their first difference (``…`` where cut), so a long
    prompt that differs near its end shows the difference, not the shared start."""
    if len(a) <= limit and len(b) <= limit:
        return a, b
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start = max(0, first - before)

    def cut(text: str) -> str:
        piece = text[start : start + limit]
        return ("…" if start > 0 else "") + piece + ("…" if start + limit < len(text) else "")

    return cut(a), cut(b)


def auth_header_names(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the same auth form (``Family.auth_forms``), so a wrong header style never replays."""
    family = family_for_path(r1.path)
    if family is None:
        return
    form1 = family.auth_form({k.lower() for k in r1.headers})
    form2 = family.auth_form({k.lower() for k in r2.headers})
    if form1 != form2:
        names1 = sorted(form1.headers) if form1 else []
        names2 = sorted(form2.headers) if form2 else []
        raise AssertionError(f"auth headers {names1} != recorded {names2}")


def _matcher(name: str, part: Callable[[Any], Any]) -> Callable[[Any, Any], None]:
    """vcrpy's matcher of one request part, by the name vcrpy gives it (mismatch messages name it)."""

    def match(r1: Any, r2: Any) -> None:
        if part(r1) != part(r2):
            raise AssertionError(f"{getattr(r1, name)} != {getattr(r2, name)}")

    match.__name__ = match.__qualname__ = name
    return match


#: vcrpy's ``method``, ``path`` (an empty path is ``/``, RFC 3986 6.2.3) and ``query`` (sorted
#: pairs) matchers, written here so matching a replayed request never imports vcrpy.
method_matcher = _matcher("method", lambda r: r.method)
path_matcher = _matcher("path", lambda r: r.path or "/")
query_matcher = _matcher("query", lambda r: r.query)

_MATCHERS: dict[tuple[str, ...], tuple[Any, ...]] = {}


def match_on(match_ignore: Sequence[str]) -> tuple[Any, ...]:
    """The matchers of a route: method, path, query, JSON body, auth header names (never the host).

    Built once per ``match_ignore`` (every case of a route asks for the same ones).
    """
    key = tuple(match_ignore)
    found = _MATCHERS.get(key)
    if found is None:
        found = (method_matcher, path_matcher, query_matcher, make_body_matcher(key), auth_header_names)
        _MATCHERS[key] = found
    return found


def record_mode(mode: str) -> Any:
    from vcr.record_mode import RecordMode

    return {
        "none": RecordMode.NONE,
        "once": RecordMode.ONCE,
        "new_episodes": RecordMode.NEW_EPISODES,
        "rewrite": RecordMode.ALL,
    }[mode]
