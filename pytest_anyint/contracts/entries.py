"""The contract index's entries: which schema an answer of which route must satisfy, parsed and matched.

An entry names a route (method, path pattern, status, streaming) and the schema of its answers.
The shipped index's entries are read from its JSON form (``shipped``); a user contracts
directory's ``index.yaml`` is read here and every schema it names is checked when it loads.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from ..families import FAMILY_NAMES
from .schemas import ContractError, check_referenced_files, check_schema, read_document

INDEX_NAME = "index.yaml"
CONFIDENCES = ("documented", "upstream", "assumed")
GRAMMARS = ("openai", "anthropic", "gemini", "responses")


# A NamedTuple: cheap to build at import (a frozen dataclass execs six methods on Python 3.11),
# immutable and compared by value, as the frozen dataclass was.
class IndexEntry(NamedTuple):
    """One index row: which schema a route's answer must satisfy and how sure we are of it."""

    family: str
    name: str
    methods: tuple[str, ...]  # upper case; ("*",) = any
    path: str | None  # pattern; "*" = every path of the family; None for callbacks
    statuses: tuple[str, ...]  # "2xx" or "200"
    stream: bool | None  # None = any
    schema: str | None  # absolute schema reference (file URI, maybe with a fragment)
    event_schemas: Mapping[str, str]
    grammar: str | None
    confidence: str
    published: bool
    kind: str
    source: str  # the index file it came from

    @property
    def key(self) -> tuple[object, ...]:
        """What a user entry must repeat to override this one."""
        if self.kind == "callback":
            return ("callback", self.name)
        path = f"{self.family}:*" if self.path == "*" else self.path  # family-wide entries: one per family
        return ("response", tuple(sorted(self.methods)), path, tuple(sorted(self.statuses)), self.stream)

    @property
    def label(self) -> str:
        return f"{self.family} {self.name}"

    def route(self, method: str | None = None) -> str:
        """``"GET /openai/v1/models"``; an any-method entry shows the method asked about."""
        shown = self.methods[0] if self.methods != ("*",) else (method or "ANY").upper()
        return f"{shown} {self.path}"

    def matches_path(self, path: str) -> bool:
        """Whether a concrete request path is this entry's pattern (never for ``*`` or callbacks).

        Most patterns are literal, and a pattern with placeholders is only compiled once a path
        shares its literal start: the first request does not pay for compiling the whole index."""
        pattern = self.path
        if pattern is None or pattern == "*":
            return False
        head = pattern.split("{", 1)[0]
        if head == pattern:
            return path == pattern or path == pattern + "/"
        return path.startswith(head) and path_regex(pattern).match(path) is not None

    def matches_method(self, method: str) -> bool:
        return self.methods == ("*",) or method.upper() in self.methods

    def matches_status(self, status: int) -> int:
        """0 = no match, 1 = status class, 2 = exact code (more specific wins)."""
        code = str(status)
        best = 0
        for pattern in self.statuses:
            if pattern == code:
                return 2
            if pattern.endswith("xx") and code[:1] == pattern[:1]:
                best = 1
        return best


_ENTRY_KEYS = {
    "family", "name", "method", "path", "status", "stream", "schema", "event_schemas", "grammar",
    "confidence", "published", "kind", "note",
}
_STATUS = re.compile(r"^[1-5](xx|\d\d)$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@functools.lru_cache(maxsize=512)
def path_regex(pattern: str) -> re.Pattern[str]:
    """A path pattern as a regex: each ``{param}`` is one non-empty segment (or part of one).

    A placeholder right before ``:`` (Gemini's ``models/{model}:generateContent``) may hold ``/``,
    since model IDs such as ``my-org/model-1`` are sent unescaped there.
    """
    out, last = [], 0
    for match in _PLACEHOLDER.finditer(pattern):
        out.append(re.escape(pattern[last : match.start()]))
        out.append(r"[^:]+?" if pattern.startswith(":", match.end()) else r"[^/]+?")
        last = match.end()
    out.append(re.escape(pattern[last:]))
    return re.compile("^" + "".join(out) + "/?$")


def _schema_ref(base: Path, rel: object, where: str, check: bool) -> str:
    if not isinstance(rel, str) or not rel:
        raise ContractError(f"{where}: a schema must be a relative file path")
    file_part, _, fragment = rel.partition("#")
    if not check:  # the shipped index: its files ship beside it (a test holds every reference to a file)
        return Path(os.path.normpath(os.path.join(base, file_part))).as_uri() + (f"#{fragment}" if fragment else "")
    try:
        path = (base / file_part).resolve()
    except (OSError, ValueError):
        raise ContractError(f"{where}: schema {rel!r} is not a usable file path") from None
    if not path.is_file():
        raise ContractError(f"{where}: schema file {file_part} not found (looked at {path})")
    schema = read_document(path)
    check_schema(schema, path)
    check_referenced_files(schema, path, set())
    return path.as_uri() + (f"#{fragment}" if fragment else "")


def parse_entries(directory: Path, *, user: bool) -> list[IndexEntry]:
    """The entries of a contracts directory's ``index.yaml`` (read through the parse cache)."""
    index_path = directory / INDEX_NAME
    if not index_path.is_file():
        raise ContractError(
            f"{index_path}: not found: a contracts directory needs an {INDEX_NAME} in the same format as the shipped one"
        )
    return entries_of(read_document(index_path, cache=True), index_path, user=user)


def entries_of(document: object, index_path: Path, *, user: bool) -> list[IndexEntry]:
    """The entries of an index document (``{version: 1, entries: [...]}`` or a bare list).

    ``user``: every schema an entry names is read and checked now; the shipped index's files ship
    beside it (a test holds every reference to a file), so it skips that work on every start."""
    if isinstance(document, Mapping):
        version = document.get("version", 1)
        if version != 1:
            raise ContractError(f"{index_path}: unsupported index version {version!r} (expected 1)")
        raw_entries = document.get("entries")
    else:
        raw_entries = document
    if not isinstance(raw_entries, list):
        raise ContractError(f"{index_path}: expected a mapping with an 'entries' list")
    return [parse_entry(raw, index_path, number, check=user) for number, raw in enumerate(raw_entries, 1)]


def parse_entry(raw: object, index_path: Path, number: int, *, check: bool) -> IndexEntry:
    where = f"{index_path}: entry #{number}"
    if not isinstance(raw, Mapping):
        raise ContractError(f"{where}: expected a mapping")
    unknown = sorted(str(k) for k in raw if k not in _ENTRY_KEYS)  # YAML keys need not be text
    if unknown:
        raise ContractError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_ENTRY_KEYS))})")
    family = raw.get("family")
    if family not in FAMILY_NAMES:
        raise ContractError(f"{where}: family must be one of {', '.join(FAMILY_NAMES)}, got {family!r}")
    kind = raw.get("kind", "response")
    if kind not in ("response", "callback"):
        raise ContractError(f"{where}: kind must be response or callback, got {kind!r}")
    confidence = raw.get("confidence")
    if confidence not in CONFIDENCES:
        raise ContractError(f"{where}: confidence must be one of {', '.join(CONFIDENCES)}, got {confidence!r}")
    base = index_path.parent
    schema = raw.get("schema")
    schema_ref = None if schema is None else _schema_ref(base, schema, where, check)
    event_schemas_raw = raw.get("event_schemas") or {}
    if not isinstance(event_schemas_raw, Mapping):
        raise ContractError(f"{where}: event_schemas must map event names to schema files")
    event_schemas = {str(k): _schema_ref(base, v, where, check) for k, v in event_schemas_raw.items()}
    grammar = raw.get("grammar")
    if grammar is not None and grammar not in GRAMMARS:
        raise ContractError(f"{where}: grammar must be one of {', '.join(GRAMMARS)}, got {grammar!r}")
    published = raw.get("published", True)
    if not isinstance(published, bool):
        raise ContractError(f"{where}: published must be true or false")
    name = raw.get("name") or (Path(str(schema)).stem if schema else "route")
    if kind == "callback":
        if schema_ref is None:
            raise ContractError(f"{where}: a callback entry needs a schema")
        return IndexEntry(family, str(name), ("*",), None, (), None, schema_ref, {}, None, confidence, False,
                          kind, str(index_path))

    methods_raw = raw.get("method")
    methods_list = methods_raw if isinstance(methods_raw, list) else [methods_raw]
    if not methods_list or not all(isinstance(m, str) and m for m in methods_list):
        raise ContractError(f"{where}: method must be an HTTP method, a list of them, or \"*\"")
    methods = ("*",) if "*" in methods_list else tuple(str(m).upper() for m in methods_list)
    path = raw.get("path")
    if not isinstance(path, str) or not (path == "*" or path.startswith("/")):
        raise ContractError(f"{where}: path must start with / (or be \"*\" for every path of the family), got {path!r}")
    statuses_raw = raw.get("status")
    statuses_list = statuses_raw if isinstance(statuses_raw, list) else [statuses_raw]
    statuses = tuple(str(s).lower() for s in statuses_list)
    if not statuses or not all(_STATUS.match(s) for s in statuses):
        raise ContractError(f"{where}: status must be 2xx, 4xx, 5xx or an exact code (or a list), got {statuses_raw!r}")
    stream_raw = raw.get("stream", "any")
    if stream_raw not in (True, False, "any"):
        raise ContractError(f"{where}: stream must be true, false or any, got {stream_raw!r}")
    stream = None if stream_raw == "any" else bool(stream_raw)
    return IndexEntry(family, str(name), methods, path, statuses, stream, schema_ref, event_schemas, grammar,
                      confidence, published, kind, str(index_path))


def fill_placeholders(pattern: str, path: str) -> str:
    """The pattern with each ``{param}`` replaced by the request's segment, when segments align."""
    p_segments = pattern.strip("/").split("/")
    r_segments = path.strip("/").split("/")
    if len(p_segments) != len(r_segments):
        return _PLACEHOLDER.sub("", pattern)
    out = []
    for p_seg, r_seg in zip(p_segments, r_segments):
        if "{" in p_seg and path_regex(p_seg).match(r_seg):
            out.append(r_seg)
        else:
            out.append(p_seg)
    return "/" + "/".join(out)
