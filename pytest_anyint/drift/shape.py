"""Response shapes: the fingerprint of one answer and the comparison of two.

A response's *shape* is what an app's parsing code depends on: the status class, the content type,
the JSON key paths with their JSON types, the values of type tags and enum-like keys, and for
streams the grammar of events. Volatile values (ids, timestamps, text, token counts) are never part
of it, so re-recording a cassette whose answers only changed wording reports nothing.

Use it directly with ``ShapeFingerprint.of_response`` and ``compare_fingerprints``; the findings
(``findings``), the cassette-tree readers (``trees``) and the renderers (``render``) build on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import sse
from ..families import served_model_any

#: Keys whose string values are type tags or closed-ish enums: a new value is additive drift.
ENUM_KEYS = frozenset(
    {"object", "type", "finish_reason", "stop_reason", "status", "finishReason", "role", "blockReason", "task_status", "service_tier", "@type"}
)
#: Objects whose keys are the app's or the model's own data (tool arguments, metadata maps):
#: only their JSON type is part of the shape.
OPAQUE_KEYS = frozenset({"args", "input", "metadata", "quotaDimensions"})
#: Keys that come and go without a contract change, so their appearance or disappearance is not
#: drift: counters the providers omit when they are zero (Gemini
#: ``*TokenCount``, Anthropic cache counters, OpenAI ``*_tokens_details``), OpenAI's volatile
#: ``obfuscation`` padding and deprecated ``system_fingerprint``, and Gemini ``safetyRatings``
#: (no longer sent by default on 2.x models). A type change inside them still counts.
_COMES_AND_GOES = re.compile(
    r"(?:^|\.)(?:\w*TokenCount|\w*TokensDetails|\w+_tokens_details|cache_creation_input_tokens|"
    r"cache_read_input_tokens|cache_creation|obfuscation|system_fingerprint|safetyRatings)(?:\[\]|\.|$)"
    r"|^event message_delta: \$\.usage\.(?:input_tokens|server_tool_use)"  # newer cumulative counters
)

BREAKING = "breaking"
ADDITIVE = "additive"
ABSENT = "absent"

_JSON_TYPES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


# --------------------------------------------------------------------------- the fingerprint


@dataclass(frozen=True)
class ShapeFingerprint:
    """The shape of one recorded response; two fingerprints compare with ``compare_fingerprints``."""

    status: int | None
    #: The media type without parameters (``application/json``), or None.
    content_type: str | None
    #: ``json``, ``sse``, ``text``, ``binary`` or ``empty``.
    form: str
    #: Key path (arrays collapsed to ``[]``; stream events with an ``event:`` name prefixed by it)
    #: → the set of JSON types seen there.
    paths: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Key path of an enum-like key → the string values seen there.
    values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: For streams, the sequence of event kinds with repeats collapsed; () otherwise.
    events: tuple[str, ...] = ()
    #: The resolved model the answer names (a rollover signal, never drift by itself).
    served_model: str | None = None

    @classmethod
    def of_response(cls, status: int | None, content_type: str | None, body: bytes | str | None) -> ShapeFingerprint:
        """Fingerprint a response from its status, Content-Type and (decoded) body."""
        media = content_type.split(";", 1)[0].strip().lower() if content_type else None
        if isinstance(body, str):
            body = body.encode("utf-8")
        body = body or b""
        paths: dict[str, set[str]] = {}
        values: dict[str, set[str]] = {}
        if not body.strip():
            return cls(status, media, "empty")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return cls(status, media, "binary")
        if sse.is_event_stream(content_type):
            kinds: list[str] = []
            served: str | None = None
            for event in sse.parse(text):
                kind, obj = _event_kind(event)
                if kind is None:
                    continue  # ping: count and placement are volatile
                kinds.append(kind)
                if obj is not None:
                    root = f"event {event.event}: $" if event.event else "$"
                    _walk(obj, root, None, paths, values)
                    served = served or served_model_any(obj)
            return cls(status, media, "sse", _freeze(paths), _freeze(values), collapse(kinds), served)
        try:
            parsed = json.loads(text)
        except ValueError:
            return cls(status, media, "text")
        return cls.of_json(status, content_type, parsed)

    @classmethod
    def of_json(cls, status: int | None, content_type: str | None, parsed: Any) -> ShapeFingerprint:
        """Fingerprint a JSON response body that is already parsed (a cassette's ``json:`` form)."""
        media = content_type.split(";", 1)[0].strip().lower() if content_type else None
        paths: dict[str, set[str]] = {}
        values: dict[str, set[str]] = {}
        _walk(parsed, "$", None, paths, values)
        served = served_model_any(parsed[-1] if isinstance(parsed, list) and parsed else parsed)
        return cls(status, media, "json", _freeze(paths), _freeze(values), (), served)


def _freeze(mapping: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    return {key: frozenset(value) for key, value in mapping.items()}


def _walk(value: Any, path: str, key: str | None, paths: dict[str, set[str]], values: dict[str, set[str]]) -> None:
    kind = _JSON_TYPES.get(type(value), "string")
    seen = paths.get(path)
    if seen is None:
        paths[path] = {kind}
    else:
        seen.add(kind)
    if kind == "object":
        if key in OPAQUE_KEYS:
            return
        for child_key, child in value.items():
            child_path = f"{path}.{child_key}"
            if child_key in ENUM_KEYS and type(child) is str:
                found = values.get(child_path)
                if found is None:
                    values[child_path] = {child}
                else:
                    found.add(child)
            _walk(child, child_path, child_key, paths, values)
    elif kind == "array":
        item_path = path + "[]"
        for item in value:
            _walk(item, item_path, key, paths, values)


def _event_kind(event: sse.SSEEvent) -> tuple[str | None, Any]:
    """What an SSE event is, for the stream grammar, and its JSON (None when not JSON)."""
    if event.is_done:
        return "[DONE]", None
    try:
        obj = event.json()
    except ValueError:
        return (event.event or "non-json"), None
    if event.event:  # named events (Anthropic): the name is the kind
        return (None if event.event == "ping" else event.event), obj
    if not isinstance(obj, dict):
        return "non-object", obj
    if "error" in obj:
        return "error", obj
    choices = obj.get("choices")
    if isinstance(choices, list):  # OpenAI chunks: what the chunk carries
        if not choices:
            return ("usage" if obj.get("usage") else "empty"), obj
        parts: list[str] = []
        for choice in choices:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            delta = delta if isinstance(delta, dict) else {}
            if delta.get("role"):
                parts.append("role")
            elif delta.get("content") or delta.get("refusal"):
                parts.append("content")
            if delta.get("tool_calls") or delta.get("function_call"):
                parts.append("tool_calls")
            if isinstance(choice, dict) and choice.get("finish_reason") is not None:
                parts.append("finish")
        return ("+".join(dict.fromkeys(parts)) or "delta"), obj
    if obj.get("type") == "ping":
        return None, obj
    return "chunk", obj  # Gemini: every chunk is a full response; boundaries are volatile


def collapse(kinds: Sequence[str]) -> tuple[str, ...]:
    """Collapse consecutive repeats of runs of up to three kinds (``a b c a b c`` → ``a b c``)."""
    out: list[str] = []
    for kind in kinds:
        out.append(kind)
        changed = True
        while changed:
            changed = False
            for size in (1, 2, 3):
                if len(out) >= 2 * size and out[-size:] == out[-2 * size : -size]:
                    del out[-size:]
                    changed = True
                    break
    return tuple(out)


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Change:
    """One difference between two fingerprints."""

    kind: str  # breaking | additive
    what: str  # status, content-type, grammar, removed, type, new-key, new-value, nullable
    path: str
    old: str
    new: str


def _types(types: Iterable[str]) -> str:
    return "|".join(sorted(types))


def _values(values: Iterable[str]) -> str:
    return ", ".join(repr(v) for v in sorted(values))


def _status_class(status: int | None) -> str:
    return f"{status // 100}xx" if isinstance(status, int) else "none"


def _under(path: str, ancestors: Iterable[str]) -> bool:
    return any(path.startswith(a + ".") or path.startswith(a + "[") for a in ancestors)


def _unseen_elements(path: str, new_paths: Mapping[str, frozenset[str]]) -> bool:
    """Whether ``path`` lies in an array that the new response has but never with an element."""
    index = path.find("[]")
    while index != -1:
        array = path[:index]
        if array in new_paths and array + "[]" not in new_paths:
            return True
        index = path.find("[]", index + 2)
    return False


def _is_event_root(path: str) -> bool:
    return path == "$" or (path.startswith("event ") and path.endswith(": $"))


def compare_fingerprints(old: ShapeFingerprint, new: ShapeFingerprint) -> list[Change]:
    """Breaking and additive differences from ``old`` to ``new`` (volatile values never count)."""
    changes: list[Change] = []
    if _status_class(old.status) != _status_class(new.status):
        return [Change(BREAKING, "status", "status", str(old.status), str(new.status))]
    if old.status != new.status:
        changes.append(Change(ADDITIVE, "status", "status", str(old.status), str(new.status)))
    if old.form != new.form or (old.content_type != new.content_type and old.form != "empty" and new.form != "empty"):
        changes.append(
            Change(BREAKING, "content-type", "content-type", f"{old.content_type} ({old.form})", f"{new.content_type} ({new.form})")
        )
        return changes
    if old.events != new.events:
        changes.append(Change(BREAKING, "grammar", "events", " → ".join(old.events), " → ".join(new.events)))
    grammar_changed = old.events != new.events
    old_paths, new_paths = old.paths, new.paths
    retyped: list[str] = []
    for path in sorted(old_paths.keys() & new_paths.keys()):
        before, after = old_paths[path], new_paths[path]
        extra = after - before
        if not extra or _under(path, retyped):
            continue  # fewer types than before (e.g. never null this time) is no change
        if before == {"null"} or (extra == {"null"} and after != {"null"}):
            # A value where there was only null, or null beside the old type: reported, not breaking.
            changes.append(Change(ADDITIVE, "nullable", path, _types(before), _types(after)))
        else:  # a new type, or a value that became null-only
            changes.append(Change(BREAKING, "type", path, _types(before), _types(after)))
            retyped.append(path)
    removed: list[str] = []
    for path in sorted(old_paths.keys() - new_paths.keys()):
        if _under(path, removed) or _under(path, retyped) or _COMES_AND_GOES.search(path):
            continue
        if _unseen_elements(path, new_paths):
            continue  # an empty array: its elements are unknown, not removed
        removed.append(path)
        if grammar_changed and _is_event_root(path):
            continue  # the event itself went away; the grammar change says so
        changes.append(Change(BREAKING, "removed", path, _types(old_paths[path]), ABSENT))
    added: list[str] = []
    for path in sorted(new_paths.keys() - old_paths.keys()):
        if _under(path, added) or _under(path, retyped) or _COMES_AND_GOES.search(path):
            continue
        added.append(path)
        if grammar_changed and _is_event_root(path):
            continue
        changes.append(Change(ADDITIVE, "new-key", path, ABSENT, _types(new_paths[path])))
    for path in sorted(old.values.keys() & new.values.keys()):
        fresh = new.values[path] - old.values[path]
        if fresh and not _under(path, retyped):
            changes.append(Change(ADDITIVE, "new-value", path, _values(old.values[path]), _values(fresh)))
    return changes
