"""Contract drift: response shapes compared between an old and a new recording (DESIGN §8).

A response's *shape* is what an app's parsing code depends on: the status class, the content type,
the JSON key paths with their JSON types, the values of type tags and enum-like keys, and for
streams the grammar of events. Volatile values (ids, timestamps, text, token counts) are never part
of it, so re-recording a cassette whose answers only changed wording reports nothing.

Used three ways: by the plugin when ``--anyint-record=rewrite`` replaces a cassette
(``compare_on_rewrite``), by ``pytest-anyint drift OLD NEW`` and ``pytest-anyint drift --git REV``
(``run_drift``), and directly (``ShapeFingerprint.of_response`` + ``compare_fingerprints``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import sse
from ..cassettes import header_value, is_cassette_name, iter_cassettes
from ..text import md_cell

#: Keys whose string values are type tags or closed-ish enums: a new value is additive drift.
ENUM_KEYS = frozenset(
    {"object", "type", "finish_reason", "stop_reason", "status", "finishReason", "role", "blockReason", "task_status", "service_tier", "@type"}
)
#: Objects whose keys are the app's or the model's own data (tool arguments, metadata maps):
#: only their JSON type is part of the shape.
OPAQUE_KEYS = frozenset({"args", "input", "metadata", "quotaDimensions"})
#: Keys that come and go without a contract change, so their appearance or disappearance is not
#: drift (api-shapes §3.6, §4): counters the providers omit when they are zero (Gemini
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
                    served = served or _served_model(obj)
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
        served = _served_model(parsed[-1] if isinstance(parsed, list) and parsed else parsed)
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


def _served_model(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    for key in ("model", "modelVersion"):
        if isinstance(obj.get(key), str):
            return obj[key]
    message = obj.get("message")
    if isinstance(message, dict) and isinstance(message.get("model"), str):
        return message["model"]
    return None


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


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class DriftFinding:
    """One shape change in one recorded interaction, as a reviewer reads it."""

    test: str
    model: str
    interaction: int
    path: str
    old: str
    new: str
    kind: str  # breaking | additive
    change: str = ""
    request: str = ""
    cassette: str = ""
    route: str = ""
    #: The one-line description (filled in), for reports that show findings as text.
    message: str = ""

    def __post_init__(self) -> None:
        if not self.message:
            object.__setattr__(self, "message", self.line())

    @property
    def breaking(self) -> bool:
        return self.kind == BREAKING

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """What changed, in words: ``$.choices[].finish_reason removed (was string)``."""
        if self.change == "removed":
            return f"{self.path} removed (was {self.old})"
        if self.change == "new-key":
            return f"new key {self.path} ({self.new})"
        if self.change == "new-value":
            return f"{self.path}: new value {self.new} (before: {self.old})"
        if self.change == "grammar":
            return f"stream events changed: {self.new or '(none)'} (was {self.old or '(none)'})"
        if self.change == "status":
            return f"status changed: {self.old} → {self.new}"
        if self.change == "content-type":
            return f"content type changed: {self.old} → {self.new}"
        if self.change == "nullable":
            return f"{self.path}: type {self.old} → {self.new}"
        return f"{self.path} changed type: {self.old} → {self.new}"

    def line(self) -> str:
        """One line naming test, model, cassette, interaction, path, old and new."""
        where = f"{self.cassette} " if self.cassette else ""
        request = f" {self.request}" if self.request else ""
        return (
            f"{self.kind} drift: {self.test} (model {self.model}): {where}interaction #{self.interaction}{request}: "
            f"{self.describe()}"
        )


_UNPARSED: Any = object()


@dataclass(frozen=True)
class _Recorded:
    """One interaction reduced to what drift needs."""

    method: str
    path: str
    status: int | None
    content_type: str | None
    body: bytes
    #: The body already parsed, when the cassette stores it as ``json:`` (saves a round trip).
    parsed: Any = _UNPARSED

    @property
    def key(self) -> tuple[str, str]:
        return (self.method.upper(), self.path)

    def fingerprint(self) -> ShapeFingerprint:
        if self.parsed is not _UNPARSED:
            return ShapeFingerprint.of_json(self.status, self.content_type, self.parsed)
        return ShapeFingerprint.of_response(self.status, self.content_type, self.body)


def _from_vcr_dicts(interactions: Iterable[Mapping[str, Any]]) -> list[_Recorded]:
    """Interactions in vcrpy dict form (``cassettes.read_cassette``)."""
    out = []
    for interaction in interactions:
        request, response = interaction["request"], interaction["response"]
        body = response.get("body") or {}
        raw = body.get("string") if isinstance(body, Mapping) else body
        out.append(
            _Recorded(
                str(request.get("method", "GET")),
                urllib.parse.urlsplit(str(request.get("uri", ""))).path,
                (response.get("status") or {}).get("code"),
                header_value(response.get("headers"), "content-type"),
                raw.encode("utf-8") if isinstance(raw, str) else (raw or b""),
            )
        )
    return out


def _from_cassette(cassette: Any) -> list[_Recorded]:
    """Interactions of a live vcrpy ``Cassette`` (the recording being made)."""
    out = []
    for request, response in cassette.data:
        body = response.get("body") or {}
        raw = body.get("string") if isinstance(body, Mapping) else body
        out.append(
            _Recorded(
                str(request.method),
                urllib.parse.urlsplit(str(request.uri)).path,
                (response.get("status") or {}).get("code"),
                header_value(response.get("headers"), "content-type"),
                raw.encode("utf-8") if isinstance(raw, str) else (raw or b""),
            )
        )
    return out


class _Findings:
    """Breaking and additive findings, split (for anything with a ``findings`` list)."""

    findings: list[DriftFinding]

    @property
    def breaking(self) -> list[DriftFinding]:
        return [f for f in self.findings if f.breaking]

    @property
    def additive(self) -> list[DriftFinding]:
        return [f for f in self.findings if not f.breaking]


@dataclass
class CassetteDrift(_Findings):
    """The comparison of one cassette pair."""

    findings: list[DriftFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def compare_interactions(
    old: Sequence[_Recorded],
    new: Sequence[_Recorded],
    *,
    test: str,
    model: str,
    cassette: str = "",
    route: str = "",
) -> CassetteDrift:
    """Pair interactions by position per request (method + path) and compare their shapes."""
    result = CassetteDrift()
    pending: dict[tuple[str, str], list[tuple[int, _Recorded]]] = {}
    for number, recorded in enumerate(old, start=1):
        pending.setdefault(recorded.key, []).append((number, recorded))
    for number, recorded in enumerate(new, start=1):
        queue = pending.get(recorded.key)
        request = f"{recorded.method.upper()} {recorded.path}"
        if not queue:
            result.notes.append(
                f"{cassette or test}: interaction #{number} ({request}) has no counterpart in the old recording; not compared"
            )
            continue
        _, before = queue.pop(0)
        old_print, new_print = before.fingerprint(), recorded.fingerprint()
        for change in compare_fingerprints(old_print, new_print):
            result.findings.append(
                DriftFinding(
                    test=test,
                    model=model,
                    interaction=number,
                    path=change.path,
                    old=change.old,
                    new=change.new,
                    kind=change.kind,
                    change=change.what,
                    request=request,
                    cassette=cassette,
                    route=route,
                )
            )
        if old_print.served_model and new_print.served_model and old_print.served_model != new_print.served_model:
            result.notes.append(
                f"{cassette or test}: interaction #{number} ({request}): the gateway now serves "
                f"{new_print.served_model!r} for {model} (was {old_print.served_model!r}): a model rollover, not contract drift"
            )
    for queue in pending.values():
        for number, recorded in queue:
            result.notes.append(
                f"{cassette or test}: old interaction #{number} ({recorded.method.upper()} {recorded.path}) "
                f"was not made again in the new recording; not compared"
            )
    return result


# --------------------------------------------------------------------------- in the run (rewrite)


def compare_on_rewrite(
    old_path: Path, new_cassette: Any, *, nodeid: str, model: str, mode: str
) -> tuple[list[str], list[str], list[DriftFinding]]:
    """Compare the cassette being replaced with the new recording: (problems, notes, findings).

    ``mode`` is ``--anyint-drift``: ``fail`` turns breaking drift into problems (the test fails),
    ``warn`` reports it as notes, ``off`` skips the comparison.
    """
    if mode == "off":
        return [], [], []
    from ..cassettes import CassetteError, read_cassette

    display = _display(Path(old_path))
    try:
        old_data = read_cassette(Path(old_path))
    except FileNotFoundError:
        return [], [], []
    except CassetteError as exc:
        return [], [f"drift not compared: the old cassette could not be read: {exc}"], []
    metadata = old_data.get("metadata") or {}
    drift = compare_interactions(
        _from_vcr_dicts(old_data["interactions"]),
        _from_cassette(new_cassette),
        test=nodeid,
        model=model,
        cassette=display,
        route=str(metadata.get("route") or ""),
    )
    problems: list[str] = []
    notes = list(drift.notes)
    for finding in drift.findings:
        (problems if finding.breaking and mode == "fail" else notes).append(finding.line())
    if problems:
        problems.append(
            f"(the new recording was saved over {display}: review it with `git diff` or "
            f"`pytest-anyint drift --git HEAD`; --anyint-drift=warn reports drift without failing)"
        )
    return problems, notes, drift.findings


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- cassette trees


class DriftUsageError(Exception):
    """Bad arguments or input for ``pytest-anyint drift`` (exit status 2)."""


@dataclass
class DriftReport(_Findings):
    """The comparison of two cassette trees."""

    old_label: str
    new_label: str
    compared: int = 0
    unchanged: int = 0
    findings: list[DriftFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "old": self.old_label,
            "new": self.new_label,
            "compared": self.compared,
            "unchanged": self.unchanged,
            "breaking": len(self.breaking),
            "additive": len(self.additive),
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
            "errors": list(self.errors),
        }


def read_tree(root: Path) -> dict[str, bytes]:
    """Every cassette file under ``root`` by its POSIX path relative to ``root``."""
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in iter_cassettes(root)}


def _git(args: Sequence[str], cwd: Path, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise DriftUsageError("drift --git needs the git command, which was not found") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DriftUsageError(f"git {' '.join(args[:2])} failed: {message[-1] if message else 'exit ' + str(done.returncode)}")
    return done.stdout


def read_git_tree(rev: str, directory: Path) -> dict[str, bytes]:
    """The cassette files under ``directory`` as committed at ``rev`` (read with git, no checkout)."""
    directory = directory.resolve()
    probe = directory if directory.is_dir() else directory.parent
    while not probe.is_dir():
        probe = probe.parent
    top = Path(_git(["rev-parse", "--show-toplevel"], probe).decode().strip()).resolve()
    try:
        prefix = directory.relative_to(top).as_posix()
    except ValueError:
        raise DriftUsageError(f"{directory} is not inside the git repository at {top}") from None
    try:
        _git(["rev-parse", "--verify", f"{rev}^{{commit}}"], top)
    except DriftUsageError:
        raise DriftUsageError(f"{rev!r} is not a commit in the repository at {top}") from None
    listing = _git(["ls-tree", "-r", "-z", "--full-tree", rev, "--", prefix], top)
    entries: list[tuple[str, str]] = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        _, kind, sha = meta.split()
        path = name.decode("utf-8", "surrogateescape")
        if kind != b"blob" or not is_cassette_name(path.rsplit("/", 1)[-1]):
            continue
        relative = path[len(prefix) + 1 :] if prefix not in ("", ".") else path
        entries.append((relative, sha.decode()))
    if not entries:
        return {}
    raw = _git(["cat-file", "--batch"], top, stdin="".join(f"{sha}\n" for _, sha in entries).encode())
    out: dict[str, bytes] = {}
    offset = 0
    for relative, _ in entries:
        header_end = raw.index(b"\n", offset)
        size = int(raw[offset:header_end].split()[2])
        start = header_end + 1
        out[relative] = raw[start : start + size]
        offset = start + size + 1
    return out


class _SlowPath(Exception):
    """Anything the fast reader does not handle: the full cassette parser decides (and words errors)."""


def _read_fast(text: str) -> tuple[dict[str, Any], list[_Recorded]]:
    """A cassette's metadata and interactions without building vcrpy's dict form.

    About twice as fast as the full parser on large trees (most of drift's time is YAML), and the
    ``json:`` bodies are used as parsed. Anything unusual raises ``_SlowPath``.
    """
    from ..cassettes import CASSETTE_VERSION, CassetteError, decode_body, load_yaml

    data = load_yaml(text)
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list) or data.get("version") != CASSETTE_VERSION:
        raise _SlowPath
    out = []
    try:
        for interaction in data["interactions"]:
            request, response = interaction["request"], interaction["response"]
            body = response.get("body")
            content_type = header_value(response.get("headers"), "content-type")
            path = urllib.parse.urlsplit(str(request["uri"])).path
            status = response["status"]["code"]
            if isinstance(body, dict) and len(body) == 1 and "json" in body:
                out.append(_Recorded(str(request["method"]), path, status, content_type, b"", body["json"]))
            else:
                out.append(_Recorded(str(request["method"]), path, status, content_type, decode_body(body)))
    except (KeyError, TypeError, AttributeError, CassetteError):
        raise _SlowPath from None
    metadata = data.get("metadata")
    return (metadata if isinstance(metadata, dict) else {}), out


def _read_for_drift(raw: bytes, where: str) -> tuple[dict[str, Any], list[_Recorded]]:
    """Metadata and interactions of a cassette file; CassetteError (one line) when it is unusable."""
    from ..cassettes import CassetteError, parse_cassette_text

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CassetteError(f"{where}: not UTF-8 text: not a pytest-anyint cassette") from None
    try:
        return _read_fast(text)
    except (_SlowPath, ValueError, RecursionError):
        pass
    except Exception as exc:  # a YAML error: the full parser words it
        if exc.__class__.__module__.split(".")[0] != "yaml":
            raise
    data = parse_cassette_text(text, source=where)
    return data.get("metadata") or {}, _from_vcr_dicts(data["interactions"])


def compare_trees(old: Mapping[str, bytes], new: Mapping[str, bytes], *, old_label: str, new_label: str, display_root: str) -> DriftReport:
    """Compare two cassette trees (relative path → file bytes)."""
    from ..cassettes import CassetteError

    report = DriftReport(old_label, new_label)

    def parse(raw: bytes, where: str) -> tuple[dict[str, Any], list[_Recorded]] | None:
        try:
            return _read_for_drift(raw, where)
        except CassetteError as exc:
            report.errors.append(str(exc))
        return None

    for relative in sorted(old.keys() - new.keys()):
        report.notes.append(f"{display_root}/{relative}: removed (only in {old_label})")
    for relative in sorted(new.keys() - old.keys()):
        report.notes.append(f"{display_root}/{relative}: new cassette (not in {old_label}); nothing to compare")
    for relative in sorted(old.keys() & new.keys()):
        report.compared += 1
        before, after = old[relative], new[relative]
        if before == after:
            report.unchanged += 1
            continue
        display = f"{display_root}/{relative}"
        old_data = parse(before, f"{display} ({old_label})")
        new_data = parse(after, display)
        if old_data is None or new_data is None:
            continue
        metadata = {**old_data[0], **new_data[0]}
        test, model = _identity(relative, metadata)
        drift = compare_interactions(
            old_data[1],
            new_data[1],
            test=test,
            model=model,
            cassette=display,
            route=str(metadata.get("route") or ""),
        )
        report.findings += drift.findings
        report.notes += drift.notes
    return report


def _identity(relative: str, metadata: Mapping[str, Any]) -> tuple[str, str]:
    """The test and model a cassette belongs to: from its metadata, else from its path."""
    parts = relative.split("/")
    leaf = parts[-1].rsplit(".", 1)[0]
    test = metadata.get("test") or "/".join(parts[:-1]) or leaf
    model = metadata.get("model") or leaf.split("__", 1)[0]
    if parts[0] == "_models":
        test = test if metadata.get("test") else "Models API check"
        model = metadata.get("model") or f"({leaf} models list)"
    return str(test), str(model)


# --------------------------------------------------------------------------- rendering


_MARKDOWN_DETAIL_LIMIT = 300


def render_markdown(report: DriftReport) -> str:
    lines = ["## Contract drift", ""]
    verdict = (
        f"**{len(report.breaking)} breaking**, {len(report.additive)} additive change(s)"
        if report.findings
        else "No shape changes"
    )
    lines.append(
        f"{verdict} in {report.compared} cassette(s) compared ({report.unchanged} byte-identical), "
        f"{report.old_label} → {report.new_label}."
    )
    if report.findings:
        lines += [
            "",
            "| Kind | Test | Model | Interaction | JSON path | Old | New |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        # The same change in many cassettes (a gateway-wide new field) is one row, not hundreds.
        groups: dict[tuple[Any, ...], list[DriftFinding]] = {}
        for f in sorted(report.findings, key=lambda f: (not f.breaking, f.cassette, f.interaction, f.path)):
            groups.setdefault((f.kind, f.interaction, f.request, f.path, f.old, f.new), []).append(f)
        for (_, number, request, path, old, new), members in groups.items():
            first = members[0]
            kind = "**breaking**" if first.breaking else "additive"
            test = f"`{md_cell(first.test)}`" + (f" and {len(members) - 1} more" if len(members) > 1 else "")
            models = list(dict.fromkeys(m.model for m in members))
            model = ", ".join(f"`{md_cell(m)}`" for m in models[:3]) + (f" and {len(models) - 3} more" if len(models) > 3 else "")
            interaction = f"#{number} `{request}`" if request else f"#{number}"
            lines.append(f"| {kind} | {test} | {model} | {md_cell(interaction)} | `{md_cell(path)}` | `{md_cell(old)}` | `{md_cell(new)}` |")
        if len(groups) < len(report.findings):
            shown = report.findings[:_MARKDOWN_DETAIL_LIMIT]
            lines += ["", f"<details><summary>Every finding ({len(report.findings)})</summary>", ""]
            lines += [f"- {f.kind}: `{md_cell(f.test)}` (`{md_cell(f.model)}`) {md_cell(f.cassette)} #{f.interaction}: {md_cell(f.describe())}" for f in shown]
            if len(report.findings) > len(shown):
                lines.append(f"- … and {len(report.findings) - len(shown)} more (`--format json` lists all)")
            lines += ["", "</details>"]
    if report.errors:
        lines += ["", "### Unreadable cassettes", ""] + [f"- {md_cell(e)}" for e in report.errors]
    if report.notes:
        lines += ["", "<details><summary>Notes</summary>", ""] + [f"- {md_cell(n)}" for n in report.notes] + ["", "</details>"]
    return "\n".join(lines) + "\n"


def render_text(report: DriftReport) -> str:
    lines = []
    if report.findings:
        lines.append(
            f"{len(report.breaking)} breaking, {len(report.additive)} additive shape change(s) "
            f"({report.old_label} → {report.new_label}, {report.compared} cassette(s) compared)"
        )
        current = None
        for f in sorted(report.findings, key=lambda f: (f.cassette, f.interaction, not f.breaking, f.path)):
            if f.cassette != current:
                current = f.cassette
                lines.append(f"{f.cassette}")
                lines.append(f"  test {f.test}  model {f.model}")
            lines.append(f"  {f.kind.upper():9}#{f.interaction} {f.request}  {f.describe()}")
    else:
        lines.append(
            f"no shape changes ({report.old_label} → {report.new_label}, {report.compared} cassette(s) compared)"
        )
    for error in report.errors:
        lines.append(f"error: {error}")
    for note in report.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def render(report: DriftReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report)


# --------------------------------------------------------------------------- the command


def run_drift(args: Any) -> int:
    """``pytest-anyint drift OLD_DIR NEW_DIR`` or ``--git REV [--dir cassettes]``: 1 on breaking drift."""
    try:
        report = _build_report(args)
    except DriftUsageError as exc:
        print(f"pytest-anyint drift: {exc}", file=sys.stderr)
        return 2
    text = render(report, getattr(args, "format", "text") or "text")
    sys.stdout.write(text)
    output = getattr(args, "output", None)
    if output:
        from ..text import write_atomic

        write_atomic(Path(output), text)
    if report.breaking:
        return 1
    return 1 if report.errors else 0


def _build_report(args: Any) -> DriftReport:
    rev = getattr(args, "git", None)
    if rev:
        if args.old or args.new:
            raise DriftUsageError("give either OLD_DIR NEW_DIR or --git REV, not both")
        directory = Path(getattr(args, "dir", None) or "cassettes")
        if not directory.is_dir():
            raise DriftUsageError(f"{directory}: no such cassette directory in the working tree (use --dir)")
        old = read_git_tree(rev, directory)
        new = read_tree(directory)
        return compare_trees(old, new, old_label=rev, new_label="working tree", display_root=directory.as_posix())
    if not args.old or not args.new:
        raise DriftUsageError("give OLD_DIR NEW_DIR, or --git REV to compare the working tree with a revision")
    for name in (args.old, args.new):
        if not Path(name).is_dir():
            raise DriftUsageError(f"{name}: no such directory")
    return compare_trees(
        read_tree(Path(args.old)), read_tree(Path(args.new)), old_label=args.old, new_label=args.new, display_root=Path(args.new).as_posix()
    )
