"""Contracts: is every gateway answer shaped the way its route family promises?

The shipped index (``_contracts/index.yaml``, exposed as top-level ``contracts/``) maps a route
(method, path pattern, status, streaming) to a JSON Schema, draft 2020-12. Schemas require core
keys only and leave objects open, so normal API growth is never a violation. Sets that grow (finish
reasons, stop reasons, task states) are ``x-known-values`` lists rather than ``enum``: an unknown
value is a warning, because failing on it would turn a provider's new feature into a red build.

This module is plain library code (no pytest): the interceptor calls :meth:`ContractIndex.validate`
on every recorded or replayed answer, ``pytest-anyint check`` on every cassette. It is on the hot
path, so a body is parsed once, validators are compiled once per index and cached, and a body that
validates cleanly builds nothing else.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import parsecache, sse
from ..families import FAMILY_NAMES, family_for_path, get_family
from ..fastschema import KNOWN_VALUES, fast_check  # noqa: F401 - fast_check: re-exported
from ..fastschema import FastCompiler as _FastCompiler
from ..fastschema import Unsupported as _Unsupported

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "_contracts"
INDEX_NAME = "index.yaml"

_MISSING = object()  # a dict lookup's "not there yet"

CONFIDENCES = ("documented", "upstream", "assumed")
GRAMMARS = ("openai", "anthropic", "gemini", "responses")
MODES = ("strict", "fail", "warn", "off")

#: Rules that report API growth rather than breakage: warnings in every mode.
GROWTH_RULES = frozenset({"enum.unknown", "stream.unknown-event"})

_MAX_VIOLATIONS = 50  # per body: past this a report helps nobody
#: Held while a validator or index is built (the cold path only; reading a built one takes no lock).
#: An app's thread pool may validate its first answers at the same time: no thread may see a check
#: another one is still compiling.
_BUILD_LOCK = threading.RLock()
_VALUE_LIMIT = 80


class ContractError(Exception):
    """A contract index or schema that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class Violation:
    """One broken rule in one recorded answer, located precisely enough to fix it."""

    cassette: str | None
    interaction: int | None
    pointer: str
    rule: str
    value: Any
    severity: str  # "error" | "warning"
    confidence: str  # documented | upstream | assumed
    message: str
    #: For streams: the 1-based number of the event the pointer lies in.
    event: int | None = None

    def fails(self, mode: str = "fail") -> bool:
        """Whether this violation fails a test under ``--anyint-contracts=mode``.

        ``fail`` fails errors; ``strict`` also fails warnings of ``assumed`` rules (API growth such
        as an unknown enum value still only warns); ``warn`` and ``off`` never fail.
        """
        if mode == "fail":
            return self.severity == "error"
        if mode == "strict":
            return self.severity == "error" or (self.confidence == "assumed" and self.rule not in GROWTH_RULES)
        return False


@dataclass(frozen=True)
class IndexEntry:
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
    def key(self) -> tuple[Any, ...]:
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
        return path.startswith(head) and _path_regex(pattern).match(path) is not None

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


# --------------------------------------------------------------------------- schema loading


def _read_document(path: Path, *, cache: bool = False) -> Any:
    """JSON or YAML (by extension) from a file, or ContractError naming the file.

    ``cache``: read an index through the parse cache (a warm run parses no YAML)."""
    try:
        raw = parsecache.read_file(path)
    except FileNotFoundError:
        raise ContractError(f"{path}: file not found") from None
    except OSError as exc:
        raise ContractError(f"{path}: cannot be read: {exc}") from None
    if cache:
        return parsecache.parsed(raw, "contract-index", lambda raw: _decode_document(path, raw),
                                 lambda data: isinstance(data, (dict, list)))
    return _decode_document(path, raw)


def _decode_document(path: Path, raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(f"{path}: cannot be read: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise ContractError(f"{path}: not valid YAML: {_one_line(str(exc))}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ContractError(f"{path}: not valid JSON: {exc}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _validator_class() -> Any:
    """Draft 2020-12 plus ``x-known-values``: a known-value list whose misses are warnings."""
    global _VALIDATOR_CLASS
    if _VALIDATOR_CLASS is not None:
        return _VALIDATOR_CLASS
    with _BUILD_LOCK:
        return _build_validator_class()


def _build_validator_class() -> Any:
    global _VALIDATOR_CLASS
    if _VALIDATOR_CLASS is None:
        from jsonschema import Draft202012Validator, ValidationError, validators

        def known_values(validator: Any, known: Any, instance: Any, schema: Any) -> Iterator[Any]:
            if isinstance(instance, str) and instance not in known:
                yield ValidationError(f"{instance!r} is not a known value")

        _VALIDATOR_CLASS = validators.extend(Draft202012Validator, {KNOWN_VALUES: known_values})
    return _VALIDATOR_CLASS


_VALIDATOR_CLASS: Any = None


def _check_schema(schema: Any, path: Path) -> None:
    """Raise ContractError when a schema is itself invalid (caught at load, not mid-test)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    if not isinstance(schema, (dict, bool)):
        raise ContractError(f"{path}: not a JSON Schema (expected an object, got {type(schema).__name__})")
    # The format checker makes the metaschema's ``format: regex`` count: a broken ``pattern`` fails
    # here, at load, instead of as a regex error in the middle of a test.
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = list(meta.iter_errors(schema))
    if errors:
        try:
            error = best_match(errors)
        except TypeError:  # it compares paths, and YAML keys of mixed types (0 and "") do not order
            error = errors[0]
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        raise ContractError(f"{path}: not a valid JSON Schema: at {where}: {_one_line(error.message)[:200]}")
    for ref in _local_refs(schema):
        if not _pointer_resolves(schema, ref):
            raise ContractError(f"{path}: not a valid JSON Schema: $ref {ref!r} points to nothing in the file")
    _refuse_remote_refs(schema, path)


def _refuse_remote_refs(schema: Any, path: Path) -> None:
    """A ``$ref`` to another host is never fetched: replay runs offline, and a check that depends
    on a server's answer would not be reproducible. Found at load, one line naming file and ref.
    The JSON Schema metaschemas (which jsonschema ships) and ids the document defines itself pass."""
    own_ids = set(_ids(schema))
    for ref in _all_refs(schema):
        target = ref.partition("#")[0]
        remote = "://" in target or target.startswith(("urn:", "//"))
        if remote and target.rstrip("/") not in own_ids and not _is_known_metaschema(target):
            raise ContractError(
                f"{path}: $ref {ref!r} points to a remote schema, and remote $refs are never fetched "
                f"(replay runs offline): save that schema beside {path.name} and refer to it by a relative path"
            )


def _all_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key in ("$ref", "$dynamicRef"):
            ref = node.get(key)
            if isinstance(ref, str):
                yield ref
        for key, value in node.items():
            if key not in ("const", "enum", "examples", "default"):  # data, not schema
                yield from _all_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _all_refs(value)


def _ids(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key in ("$id", "id"):
            if isinstance(node.get(key), str):
                yield node[key].partition("#")[0].rstrip("/")
        for key, value in node.items():
            if key not in ("const", "enum", "examples", "default"):
                yield from _ids(value)
    elif isinstance(node, list):
        for value in node:
            yield from _ids(value)


def _is_known_metaschema(uri: str) -> bool:
    """Whether jsonschema resolves ``uri`` from the metaschemas it ships (no network)."""
    try:
        from jsonschema_specifications import REGISTRY
    except ImportError:  # pragma: no cover - jsonschema always brings it
        return False
    for candidate in (uri, uri.rstrip("/") + "#"):
        try:
            REGISTRY.contents(candidate)
        except Exception:  # referencing's NoSuchResource, or a URI it cannot parse
            continue
        return True
    return False


def _local_refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` of a schema that points inside the same document (``#/$defs/x``)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            yield ref
        for key, value in node.items():
            if key not in ("const", "enum", "examples", "default"):  # data, not schema
                yield from _local_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _local_refs(value)


def _pointer_resolves(document: Any, ref: str) -> bool:
    node = document
    for raw in ref[2:].split("/"):
        part = urllib.parse.unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


# --------------------------------------------------------------------------- index loading

_ENTRY_KEYS = {
    "family", "name", "method", "path", "status", "stream", "schema", "event_schemas", "grammar",
    "confidence", "published", "kind", "note",
}
_STATUS = re.compile(r"^[1-5](xx|\d\d)$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@functools.lru_cache(maxsize=512)
def _path_regex(pattern: str) -> re.Pattern[str]:
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


def _schema_ref(base: Path, rel: Any, where: str, check: bool) -> str:
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
    schema = _read_document(path)
    _check_schema(schema, path)
    _check_referenced_files(schema, path, set())
    return path.as_uri() + (f"#{fragment}" if fragment else "")


def _check_referenced_files(schema: Any, path: Path, seen: set[Path]) -> None:
    """Every file a user schema reaches through relative ``$ref``s exists and fetches nothing remote."""
    seen.add(path)
    for ref in _file_refs(schema):
        target = (path.parent / ref).resolve()
        if not target.is_file():
            raise ContractError(f"{path}: $ref {ref!r} points to a file that does not exist")
        if target not in seen:
            referenced = _read_document(target)
            _refuse_remote_refs(referenced, target)
            _check_referenced_files(referenced, target, seen)


def _file_refs(node: Any) -> Iterator[str]:
    """The relative file parts of every ``$ref`` in a schema (``other.json#/x`` gives ``other.json``)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            file_part = ref.partition("#")[0]
            if file_part and "://" not in file_part and not file_part.startswith("urn:"):
                yield urllib.parse.unquote(file_part)
        for value in node.values():
            yield from _file_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _file_refs(value)


def _parse_entries(directory: Path, *, user: bool) -> list[IndexEntry]:
    index_path = directory / INDEX_NAME
    if not index_path.is_file():
        raise ContractError(
            f"{index_path}: not found: a contracts directory needs an {INDEX_NAME} in the same format as the shipped one"
        )
    document = _read_document(index_path, cache=True)
    if isinstance(document, Mapping):
        version = document.get("version", 1)
        if version != 1:
            raise ContractError(f"{index_path}: unsupported index version {version!r} (expected 1)")
        raw_entries = document.get("entries")
    else:
        raw_entries = document
    if not isinstance(raw_entries, list):
        raise ContractError(f"{index_path}: expected a mapping with an 'entries' list")
    entries = []
    for number, raw in enumerate(raw_entries, 1):
        entries.append(_parse_entry(raw, index_path, number, check=user))
    return entries


def _parse_entry(raw: Any, index_path: Path, number: int, *, check: bool) -> IndexEntry:
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
    methods = ("*",) if "*" in methods_list else tuple(m.upper() for m in methods_list)
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


_SHIPPED_CACHE: list[IndexEntry] | None = None


def _shipped_entries() -> list[IndexEntry]:
    global _SHIPPED_CACHE
    if _SHIPPED_CACHE is None:
        with _BUILD_LOCK:
            if _SHIPPED_CACHE is None:
                _SHIPPED_CACHE = _parse_entries(SHIPPED_DIR, user=False)
    return _SHIPPED_CACHE


# --------------------------------------------------------------------------- violations


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _short(value: Any, limit: int = _VALUE_LIMIT) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
               (dict, "object"), (type(None), "null"))


def _json_type(value: Any) -> str:
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _compact_value(value: Any) -> Any:
    """Scalars as they are; containers summarised so reports stay small."""
    if isinstance(value, (dict, list)):
        return _short(value)
    return value


def _explain(error: Any) -> tuple[str, str, Any, str]:
    """(pointer, rule, value, detail) for one jsonschema error, in words a user understands."""
    keyword = error.validator
    path = list(error.absolute_path)
    instance = error.instance
    if keyword in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        return _explain(best_match(error.context))
    if keyword == "required":
        missing = [k for k in error.validator_value if isinstance(instance, dict) and k not in instance]
        key = next((k for k in missing if error.message.startswith(repr(k))), missing[0] if missing else "?")
        return _pointer(path + [key]), "schema.required", None, "required key is missing"
    if keyword == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return (_pointer(path), "schema.type", _compact_value(instance),
                f"expected {expected_text}, got {_json_type(instance)} {_short(instance)}")
    if keyword == "const":
        return (_pointer(path), "schema.const", _compact_value(instance),
                f"expected {_short(error.validator_value)}, got {_short(instance)}")
    if keyword == "enum":
        return (_pointer(path), "schema.enum", _compact_value(instance),
                f"{_short(instance)} is not one of {_short(error.validator_value, 200)}")
    if keyword is None and error.schema is False:  # a key the schema rules out (e.g. a snake_case twin)
        key = str(path[-1]) if path else ""
        camel = re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), key)
        hint = f" (the wire spells it {camel}: a snake_case key is a Python SDK's spelling)" if camel != key else ""
        return _pointer(path), "schema.forbidden", _compact_value(instance), f"key {key!r} is not allowed here{hint}"
    if keyword == KNOWN_VALUES:
        known = ", ".join(map(str, error.validator_value))
        known = known if len(known) <= 200 else known[:199] + "…"
        return (_pointer(path), "enum.unknown", instance, f"{_short(instance)} is not a known value (known: {known})")
    return _pointer(path), f"schema.{keyword}", _compact_value(instance), _one_line(error.message)[:200]


def _where(cassette: str | None, interaction: int | None, event: int | None, event_name: str | None) -> str:
    parts = []
    if cassette:
        parts.append(cassette)
    if interaction is not None:
        parts.append(f"interaction #{interaction}")
    if event is not None:
        parts.append(f"event #{event}" + (f" ({event_name})" if event_name else ""))
    return " ".join(parts) + ": " if parts else ""


@dataclass
class _Reporter:
    """Builds the violations of one body; only ever created when something is wrong."""

    entry: IndexEntry
    cassette: str | None
    interaction: int | None
    out: list[Violation] = field(default_factory=list)

    def add(self, pointer: str, rule: str, value: Any, detail: str, *, event: int | None = None,
            event_name: str | None = None, label: str | None = None, severity: str | None = None) -> None:
        if len(self.out) >= _MAX_VIOLATIONS:
            return
        if severity is None:
            severity = "warning" if (self.entry.confidence == "assumed" or rule in GROWTH_RULES) else "error"
        where = _where(self.cassette, self.interaction, event, event_name)
        located = f"{pointer}: " if pointer else ""
        message = f"{where}{located}{detail} ({self.entry.confidence} rule, {label or self.entry.label})"
        self.out.append(Violation(self.cassette, self.interaction, pointer, rule, value, severity,
                                  self.entry.confidence, message, event))

    def schema_errors(self, errors: Iterable[Any], *, prefix: str = "", event: int | None = None,
                      event_name: str | None = None, label: str | None = None) -> None:
        seen = set()
        for error in errors:
            pointer, rule, value, detail = _explain(error)
            if (pointer, rule) in seen:
                continue
            seen.add((pointer, rule))
            self.add(prefix + pointer, rule, value, detail, event=event, event_name=event_name, label=label)


# --------------------------------------------------------------------------- the index


class ContractIndex:
    """The shipped contracts plus the user's, with validators compiled lazily and cached."""

    def __init__(self, entries: Sequence[IndexEntry]) -> None:
        self.entries: tuple[IndexEntry, ...] = tuple(entries)
        self._routes = [e for e in self.entries if e.kind == "response"]
        self._published = [e for e in self._routes if e.published and e.path != "*"]
        self._callbacks = {e.name: e for e in self.entries if e.kind == "callback"}
        self._validators: dict[str, Any] = {}
        self._resources: dict[str, Any] = {}
        self._documents: dict[str, Any] = {}
        self._registry: Any = None
        self._entry_cache: dict[tuple[str, str, int, bool], IndexEntry | None] = {}
        self._published_cache: dict[tuple[str, str], bool] = {}
        self._output_validators: dict[str, tuple[Any, Any]] = {}
        self._fast_checks: dict[str, Callable[[Any], bool] | None] = {}
        self._fast_compiler: _FastCompiler | None = None

    # ---- loading

    @classmethod
    def load(cls, extra_dirs: Sequence[Path | str] = ()) -> ContractIndex:
        """The shipped index plus user contract directories; a user entry replaces a shipped one
        with the same method, path, status and stream (callbacks: the same name)."""
        merged: dict[tuple[Any, ...], IndexEntry] = {}
        for entry in _shipped_entries():
            merged[entry.key] = entry
        for directory in extra_dirs:
            directory = Path(directory)
            if not directory.is_dir():
                raise ContractError(f"{directory}: contracts directory not found")
            for entry in _parse_entries(directory, user=True):
                merged.pop(entry.key, None)  # re-insert so user entries win ties on specificity
                merged[entry.key] = entry
        return cls(list(merged.values()))

    def published_routes(self) -> list[str]:
        """Every published route as ``"METHOD /path/pattern"``."""
        return [e.route() for e in self._published]

    # ---- routing

    def entry_for(self, method: str, path: str, status: int, stream: bool) -> IndexEntry | None:
        """The most specific entry for an answer: concrete path over family-wide, exact status over
        class, exact stream over any, exact method over any; later (user) entries win ties."""
        path = path.split("?", 1)[0]
        cache_key = (method.upper(), path, status, stream)
        try:
            return self._entry_cache[cache_key]
        except KeyError:
            pass
        family = family_for_path(path)
        best: tuple[tuple[int, ...], IndexEntry] | None = None
        for order, entry in enumerate(self._routes):
            if not entry.matches_method(method):
                continue
            status_score = entry.matches_status(status)
            if not status_score:
                continue
            if entry.stream is not None and entry.stream != stream:
                continue
            if entry.path == "*":
                if family is None or family.name != entry.family:
                    continue
                path_score = 0
            elif entry.matches_path(path):
                path_score = 1
            else:
                continue
            score = (path_score, status_score, int(entry.stream is not None), int(entry.methods != ("*",)), order)
            if best is None or score > best[0]:
                best = (score, entry)
        found = best[1] if best else None
        if len(self._entry_cache) > 4096:
            self._entry_cache.clear()
        self._entry_cache[cache_key] = found
        return found

    def is_published(self, method: str, path: str) -> bool:
        """Whether the gateway publishes this route (some concrete index path matches it)."""
        path = path.split("?", 1)[0]
        key = (method.upper(), path)
        found = self._published_cache.get(key)
        if found is None:
            found = any(e.matches_method(method) and e.matches_path(path) for e in self._published)
            if len(self._published_cache) > 4096:
                self._published_cache.clear()
            self._published_cache[key] = found
        return found

    def closest_route(self, method: str, path: str) -> str:
        """The published route nearest to an unpublished request, e.g. ``"GET /openai/v1/models"``
        for ``/v1/models``. In order: a published route whose tail is the path (a missing family
        prefix), one the path is the start of, the most similar path (placeholders filled from the
        request, the same method preferred); when nothing is close (a guessed ``/smart-routing``),
        the family's main route for that method, which is where such a request belongs."""
        path = path.split("?", 1)[0].rstrip("/") or "/"
        method = method.upper()
        best: tuple[tuple[float, ...], IndexEntry] | None = None
        for order, entry in enumerate(self._published):
            assert entry.path is not None
            concrete = _fill_placeholders(entry.path, path)
            segments = entry.path.strip("/").split("/")
            tail = max((sum("{" not in seg for seg in segments[cut:]) for cut in range(1, len(segments))
                        if _path_regex("/" + "/".join(segments[cut:])).match(path)), default=0)
            prefix = int(concrete.startswith(path + "/"))
            similarity = difflib.SequenceMatcher(None, path, concrete, autojunk=False).ratio()
            same_method = int(entry.matches_method(method) and entry.methods != ("*",))
            score = (tail, prefix, round(similarity, 3) + 0.05 * same_method, -order)
            if best is None or score > best[0]:
                best = (score, entry)
        if best is None:
            return ""
        (tail, prefix, similarity, _), entry = best
        if not tail and not prefix and similarity < 0.5:
            entry = next((e for e in self._published if method in e.methods), self._published[0])
        return entry.route(method)

    # ---- validation

    def validate(self, *, method: str, path: str, status: int, content_type: str | None, body: bytes,
                 cassette: str | None = None, interaction: int | None = None, parsed: Any = None,
                 events: list[Any] | None = None) -> list[Violation]:
        """Every contract violation of one answer (empty when it conforms or no entry covers it).

        ``interaction`` is the human (1-based) number shown in messages. Streams are checked
        event by event plus their family's grammar; a Gemini stream without ``alt=sse`` (a JSON
        array) is checked chunk by chunk. ``parsed``: the body already parsed as JSON by the
        caller (the interceptor parses each answer once), or None; ``events``: the same for a
        stream, its ``sse.parse`` events.
        """
        stream = sse.is_event_stream(content_type) or (
            not content_type and body[:6] in (b"data: ", b"data:{", b"event:")
        )
        entry = self.entry_for(method, path, status, stream)
        if entry is None:
            return []
        if stream:
            if not entry.event_schemas and entry.grammar is None and entry.schema is None:
                return []
            return self._validate_stream(entry, body, cassette, interaction, events)
        if entry.schema is None:
            return []
        if not body:
            reporter = _Reporter(entry, cassette, interaction)
            reporter.add("", "body.empty", None, f"HTTP {status} answer has an empty body where JSON is expected")
            return reporter.out
        try:
            data = json.loads(body) if parsed is None else parsed
        except (ValueError, UnicodeDecodeError) as exc:
            reporter = _Reporter(entry, cassette, interaction)
            reporter.add("", "json.invalid", _short(body[:60].decode("utf-8", "replace")),
                         f"body is not JSON ({_one_line(str(exc))})")
            return reporter.out
        if entry.grammar is not None and isinstance(data, list) and "*" in entry.event_schemas:
            return self._validate_events(entry, [(None, item, None) for item in data], True, cassette,
                                         interaction, array=True)
        errors = self._errors(entry.schema, data)
        if errors is None:
            return []
        reporter = _Reporter(entry, cassette, interaction)
        reporter.schema_errors(errors)
        return reporter.out

    def validate_document(self, name: str, body: bytes | str | Any, *, source: str | None = None) -> list[Violation]:
        """Check a payload that is not a gateway answer, e.g. the music ``suno callback`` the gateway
        POSTs to the app (bytes and str are parsed as JSON; anything else is taken as parsed)."""
        entry = self._callbacks.get(name)
        if entry is None:
            raise ContractError(f"no contract named {name!r} (known: {', '.join(sorted(self._callbacks)) or 'none'})")
        data = body
        if isinstance(body, (bytes, str)):
            try:
                data = json.loads(body)
            except ValueError as exc:
                reporter = _Reporter(entry, source, None)
                reporter.add("", "json.invalid", None, f"body is not JSON ({_one_line(str(exc))})")
                return reporter.out
        assert entry.schema is not None
        errors = self._errors(entry.schema, data)
        if errors is None:
            return []
        reporter = _Reporter(entry, source, None)
        reporter.schema_errors(errors)
        return reporter.out

    # ---- streams

    def _validate_stream(self, entry: IndexEntry, body: bytes, cassette: str | None,
                         interaction: int | None, events: list[Any] | None = None) -> list[Violation]:
        if events is None:
            events = sse.parse(body.decode("utf-8", "replace"))
        terminated = sse.is_terminated(body[-4:].decode("utf-8", "replace"))
        parsed: list[tuple[str | None, Any, str | None]] = []  # (event name, data, problem)
        for number, event in enumerate(events, 1):
            if event.is_done:
                parsed.append((event.event, _DONE, None))
                continue
            try:
                parsed.append((event.event, event.json(), None))
            except ValueError:
                partial = number == len(events) and not terminated
                parsed.append((event.event, _PARTIAL if partial else _BAD_JSON, event.data))
        if not terminated and parsed and parsed[-1][1] is _DONE:
            terminated = True  # "data: [DONE]" without its blank line is a finished stream
        return self._validate_events(entry, parsed, terminated, cassette, interaction, array=False)

    def _validate_events(self, entry: IndexEntry, parsed: list[tuple[str | None, Any, str | None]],
                         terminated: bool, cassette: str | None, interaction: int | None, *,
                         array: bool) -> list[Violation]:
        reporter: _Reporter | None = None

        def report() -> _Reporter:
            nonlocal reporter
            if reporter is None:
                reporter = _Reporter(entry, cassette, interaction)
            return reporter

        grammar = _GRAMMARS.get(entry.grammar or "", _GenericGrammar)(entry.family)
        # Hot loop (a 2,000-chunk stream runs it 2,000 times): lookups hoisted, the fast check of a
        # schema taken straight from its cache, the message context built only for a report.
        step, event_schemas, fast_checks = grammar.step, entry.event_schemas, self._fast_checks
        fallback = event_schemas.get("*") or (None if array else entry.schema)
        for number, (name, data, raw) in enumerate(parsed, 1):
            if data is _PARTIAL:
                continue  # the cut-off tail: reported once as stream.truncated below
            if name:
                kind = name
            elif type(data) is dict:
                kind = data.get("type")
                if type(kind) is not str:
                    kind = None
            else:
                kind = None
            if data is _BAD_JSON:
                report().add(f"/{number - 1}" if array else "", "json.invalid", _short(raw or ""),
                             "event data is not JSON", event=None if array else number, event_name=kind)
                continue
            found = step(number, name, data)
            if found:
                for rule, detail in found:
                    report().add(f"/{number - 1}" if array else "", rule, None, detail,
                                 event=None if array else number, event_name=kind)
            if data is _DONE or grammar.skip_schema:
                continue
            schema = (event_schemas.get(kind) if kind else None) or fallback
            if schema is None:
                if event_schemas and kind and entry.grammar == "anthropic":
                    report().add(f"/{number - 1}" if array else "", "stream.unknown-event", kind,
                                 f"unknown event type {kind!r} (clients ignore it)",
                                 event=None if array else number, event_name=kind)
                continue
            fast = fast_checks.get(schema, _MISSING)
            if fast is _MISSING:
                fast = self._fast(schema)
            if fast is not None and fast(data):
                continue
            prefix = f"/{number - 1}" if array else ""
            event_kw: dict[str, Any] = {"event": None if array else number, "event_name": kind}
            errors = self._errors(schema, data)
            if errors is not None:
                label = f"{entry.family} {kind}" if entry.grammar in ("anthropic", "responses") and kind else None
                report().schema_errors(errors, prefix=prefix, label=label, **event_kw)
        for rule, detail in grammar.finish(terminated, len(parsed)):
            report().add("", rule, None, detail)
        return reporter.out if reporter is not None else []

    # ---- compiled validators

    def _fast(self, ref: str) -> Callable[[Any], bool] | None:
        """The fast "valid?" check of a schema, or None when only jsonschema can judge it.

        Compiled under the build lock and published only once whole: the compiler's memo holds
        placeholders while it works (for cycles), which another thread must never call."""
        try:
            return self._fast_checks[ref]
        except KeyError:
            pass
        with _BUILD_LOCK:
            if ref in self._fast_checks:
                return self._fast_checks[ref]
            compiler = self._fast_compiler
            if compiler is None:
                compiler = self._fast_compiler = _FastCompiler(self._document)
            try:
                check: Callable[[Any], bool] | None = compiler.ref(ref if "#" in ref else ref + "#")
            except (_Unsupported, ContractError, KeyError, TypeError, ValueError, IndexError):
                check = None
                self._fast_compiler = None  # its memo may hold a placeholder that is never filled
            self._fast_checks[ref] = check
            return check

    def _errors(self, ref: str, data: Any) -> Iterator[Any] | None:
        """None when ``data`` satisfies the schema, else an iterator over its errors (non-empty)."""
        fast = self._fast(ref)
        if fast is not None and fast(data):
            return None
        try:
            errors = list(self._validator(ref).iter_errors(data))
        except ContractError:
            raise
        except Exception as exc:  # an unresolvable $ref in a user schema, surfacing mid-validation
            raise ContractError(f"{_schema_file(ref)}: cannot be used: {_one_line(str(exc))[:200]}") from None
        return iter(errors) if errors else None

    def _validator(self, ref: str) -> Any:
        validator = self._validators.get(ref)
        if validator is not None:
            return validator
        with _BUILD_LOCK:
            return self._build_validator(ref)

    def _build_validator(self, ref: str) -> Any:
        validator = self._validators.get(ref)
        if validator is None:
            cls = _validator_class()
            uri, _, fragment = ref.partition("#")
            if fragment:
                schema: Any = {"$ref": ref}
            else:
                schema = dict(self._resource(uri).contents)
            validator = cls(schema, registry=self._get_registry(), format_checker=None)
            self._validators[ref] = validator
        return validator

    def _document(self, uri: str) -> Any:
        """A schema file's contents, read once; the fast path needs no ``referencing`` (~30 ms to import)."""
        try:
            return self._documents[uri]
        except KeyError:
            pass
        if not uri.startswith("file:"):
            raise _Unsupported(f"$ref to {uri}")
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(uri).path))
        contents = _read_document(path)
        if isinstance(contents, dict):
            # Relative $refs resolve beside the file; without "$schema" jsonschema keeps our
            # class (with x-known-values) when a $ref crosses into this file.
            contents = {**{k: v for k, v in contents.items() if k != "$schema"}, "$id": uri}
        self._documents[uri] = contents
        return contents

    def _resource(self, uri: str) -> Any:
        resource = self._resources.get(uri)
        if resource is None:
            from referencing import Resource
            from referencing.jsonschema import DRAFT202012

            if not uri.startswith("file:"):
                from referencing.exceptions import NoSuchResource

                raise NoSuchResource(ref=uri)
            resource = Resource(contents=self._document(uri), specification=DRAFT202012)
            self._resources[uri] = resource
        return resource

    def _get_registry(self) -> Any:
        if self._registry is None:
            from referencing import Registry

            self._registry = Registry(retrieve=self._resource)
        return self._registry

    # ---- app-level output schema

    def check_output(self, *, family: str, model: str, body: bytes, content_type: str | None, schema: dict,
                     schema_path: str) -> Violation | None:
        """Whether the model's own answer (its text, streams assembled) is JSON matching the route's
        ``output_schema``. Fenced JSON (```json …```) is a failure naming the model: that is the
        silent fallback breakage this exists to catch."""
        fam = get_family(family)
        text = _assistant_text(fam, body, content_type)
        label = f"output_schema {schema_path}"

        def violation(pointer: str, rule: str, value: Any, detail: str) -> Violation:
            return Violation(None, None, pointer, rule, value, "error", "documented", f"model {model}: {detail}")

        if not text or not text.strip():
            return violation("", "output.no-text", None, f"the answer has no assistant text to check against {label}")
        stripped = text.strip()
        try:
            data = json.loads(stripped)
        except ValueError:
            if stripped.startswith("```"):
                fence = "```" + stripped[3:].split("\n", 1)[0].strip()
                how = f"fenced in {fence} … ``` instead of bare JSON"
            else:
                how = "not JSON"
            return violation("", "output.not-json", stripped[:60],
                             f"the answer is {how} (it starts {_short(stripped, 40)}); {label} needs a bare JSON document")
        errors = self._output_validator(schema, schema_path).iter_errors(data)
        first = next(errors, None)
        if first is None:
            return None
        from jsonschema.exceptions import best_match

        pointer, rule, value, detail = _explain(best_match(_chain(first, errors)))
        at = f" at {pointer}" if pointer else ""
        return violation(pointer, "output.schema", value, f"the answer breaks {label}{at}: {detail}")

    def _output_validator(self, schema: dict, schema_path: str) -> Any:
        cached = self._output_validators.get(schema_path)
        if cached is not None and (cached[0] is schema or cached[0] == schema):
            return cached[1]
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator(schema, format_checker=None)
        self._output_validators[schema_path] = (schema, validator)
        return validator


def _schema_file(ref: str) -> str:
    uri = ref.partition("#")[0]
    return urllib.parse.unquote(urllib.parse.urlsplit(uri).path) if uri.startswith("file:") else uri


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


_DONE = object()  # data: [DONE]
_BAD_JSON = object()  # data that is not JSON
_PARTIAL = object()  # the cut-off last event of a truncated stream


# --------------------------------------------------------------------------- stream grammars


class _GenericGrammar:
    """No ordering rules: just the truncation check every stream gets."""

    skip_schema = False

    def __init__(self, family: str) -> None:
        self.family = family
        self.error_seen = False

    def step(self, number: int, name: str | None, data: Any) -> list[tuple[str, str]]:
        return []

    def finish(self, terminated: bool, count: int) -> list[tuple[str, str]]:
        if count == 0:
            return [("stream.empty", "stream has no events")]
        if not terminated:
            return [("stream.truncated", "stream was cut off mid-event (no blank line after the last event)")]
        return []


def _error_text(data: Any) -> str:
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return _short(error)
    kind = error.get("type") or error.get("status") or error.get("code") or "error"
    return f"{kind}: {error.get('message', '')}".rstrip(": ")


class _OpenAIGrammar(_GenericGrammar):
    """Data-only chunks, ending with ``data: [DONE]``; an error after 200 is ``{"error": …}``."""

    def __init__(self, family: str) -> None:
        super().__init__(family)
        self.done_at: int | None = None
        self.after_done = False

    def step(self, number: int, name: str | None, data: Any) -> list[tuple[str, str]]:
        self.skip_schema = False
        out = []
        if self.done_at is not None and not self.after_done:
            self.after_done = True
            out.append(("stream.order", f"event after data: [DONE] (which was event #{self.done_at})"))
        if data is _DONE:
            self.done_at = self.done_at or number
            return out
        if isinstance(data, dict) and ("error" in data and "choices" not in data or data.get("error")):
            # the SDK raises on any truthy "error" key, choices or not
            self.error_seen = True
            self.skip_schema = "choices" not in data
            out.append(("stream.error-event", f"OpenAI stream sent an error after HTTP 200: {_error_text(data)}"))
        return out

    def finish(self, terminated: bool, count: int) -> list[tuple[str, str]]:
        base = super().finish(terminated, count)
        if base or self.error_seen:
            return base
        if self.done_at is None:
            return [("stream.done-missing", "OpenAI stream ended without data: [DONE]")]
        return []


class _AnthropicGrammar(_GenericGrammar):
    """message_start, then per block start/delta…/stop, then message_delta, then message_stop;
    ``ping`` anywhere; an ``error`` event after HTTP 200 is an upstream failure (e.g. overloaded)."""

    def __init__(self, family: str) -> None:
        super().__init__(family)
        self.started = False
        self.stopped = False
        self.open: set[Any] = set()
        self.seen: set[Any] = set()
        self.order_reports = 0
        self.unnamed_reported = False

    def _order(self, detail: str) -> list[tuple[str, str]]:
        self.order_reports += 1
        return [("stream.order", detail)] if self.order_reports <= 3 else []

    def step(self, number: int, name: str | None, data: Any) -> list[tuple[str, str]]:
        self.skip_schema = False
        out: list[tuple[str, str]] = []
        if data is _DONE:
            return self._order("Anthropic streams carry no data: [DONE]")
        kind = data.get("type") if isinstance(data, dict) else None
        kind = kind if isinstance(kind, str) else None
        if name and kind and name != kind:
            out.append(("stream.event-type", f"event: {name} carries data of type {kind!r}"))
        if not name and not self.unnamed_reported:
            # The SDK dispatches on the event: line alone; without it every event is skipped and the
            # app gets an empty answer.
            self.unnamed_reported = True
            out.append(("stream.event-name-missing", f"event #{number} has no event: line; the Anthropic SDK "
                        f"skips such events, so the app receives nothing (expected event: {kind or '<type>'})"))
        kind = name or kind
        if kind == "ping":
            return out
        if kind == "error":
            self.error_seen = True
            out.append(("stream.error-event", f"Anthropic stream sent an error event after HTTP 200: {_error_text(data)}"))
            return out
        index = data.get("index") if isinstance(data, dict) else None
        if type(index) is not int:
            index = _block_index(index)
        if self.stopped:
            out += self._order(f"{kind} after message_stop")
        elif kind == "message_start":
            if self.started:
                out += self._order("a second message_start")
            self.started = True
        elif not self.started and kind in _ANTHROPIC_FLOW:
            self.started = True  # report once, then follow the rest of the stream
            out += self._order(f"{kind} before message_start")
        if kind == "content_block_start":
            if index in self.seen:
                out += self._order(f"content_block_start for block {index}, which was already started")
            self.seen.add(index)
            self.open.add(index)
        elif kind == "content_block_delta":
            if index not in self.open:
                when = "after its content_block_stop" if index in self.seen else "before its content_block_start"
                out += self._order(f"content_block_delta for block {index} {when}")
        elif kind == "content_block_stop":
            if index not in self.open:
                when = "twice" if index in self.seen else "before its content_block_start"
                out += self._order(f"content_block_stop for block {index} {when}")
            self.open.discard(index)
        elif kind in ("message_delta", "message_stop"):
            if self.open:
                blocks = ", ".join(str(i) for i in sorted(self.open, key=str))
                out += self._order(f"{kind} while content block {blocks} was never stopped")
                self.open.clear()
            if kind == "message_stop":
                self.stopped = True
        return out

    def finish(self, terminated: bool, count: int) -> list[tuple[str, str]]:
        base = super().finish(terminated, count)
        if base or self.error_seen:
            return base
        if not self.stopped:
            return [("stream.message_stop-missing", "Anthropic stream ended without message_stop")]
        return []


_ANTHROPIC_FLOW = ("content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop")


def _block_index(value: Any) -> Any:
    """A block index as the grammar can track it: a list or object (a schema violation of its own)
    stands in as its JSON text, so it never breaks the bookkeeping."""
    if value is None or isinstance(value, (int, str, float, bool)):
        return value
    return _short(value)


class _GeminiGrammar(_GenericGrammar):
    """Each chunk is a full GenerateContentResponse; no [DONE]; the last one carries finishReason."""

    def __init__(self, family: str) -> None:
        super().__init__(family)
        self.finished = False
        self.blocked = False
        self.done_reported = False

    def step(self, number: int, name: str | None, data: Any) -> list[tuple[str, str]]:
        self.skip_schema = False
        if data is _DONE:
            if self.done_reported:
                return []
            self.done_reported = True
            return [("stream.order", "Gemini streams carry no data: [DONE]")]
        if isinstance(data, dict):
            if "error" in data and "candidates" not in data:
                self.error_seen = True
                self.skip_schema = True
                return [("stream.error-event", f"Gemini stream sent an error after HTTP 200: {_error_text(data)}")]
            candidates = data.get("candidates")
            for candidate in candidates if isinstance(candidates, list) else ():
                if isinstance(candidate, dict) and candidate.get("finishReason"):
                    self.finished = True
            feedback = data.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                self.blocked = True
        return []

    def finish(self, terminated: bool, count: int) -> list[tuple[str, str]]:
        base = super().finish(terminated, count)
        if base or self.error_seen or self.finished or self.blocked:
            return base
        return [("stream.finish-missing", "Gemini stream ended without a chunk carrying finishReason (cut off?)")]


_RESPONSES_START = ("response.created", "response.queued")
_RESPONSES_END = ("response.completed", "response.failed", "response.incomplete")


class _ResponsesGrammar(_GenericGrammar):
    """Responses API events: ``response.created`` first, a terminal ``response.completed`` (or
    ``.failed`` / ``.incomplete``) last; the SDK's ``get_final_response()`` needs that terminal event,
    so a stream without one is cut off. An ``error`` event after HTTP 200 is an upstream failure."""

    def __init__(self, family: str) -> None:
        super().__init__(family)
        self.started = False
        self.ended_at: int | None = None
        self.order_reported = False

    def _order(self, detail: str) -> list[tuple[str, str]]:
        if self.order_reported:
            return []
        self.order_reported = True
        return [("stream.order", detail)]

    def step(self, number: int, name: str | None, data: Any) -> list[tuple[str, str]]:
        self.skip_schema = False
        if data is _DONE:
            return []  # not sent by OpenAI; the SDK stops reading at it, which is harmless after the end
        kind = data.get("type") if isinstance(data, dict) else None
        kind = kind if isinstance(kind, str) else None
        out: list[tuple[str, str]] = []
        if name and kind and name != kind:
            out.append(("stream.event-type", f"event: {name} carries data of type {kind!r}"))
        kind = kind or name
        if kind == "error":
            self.error_seen = True
            message = data.get("message") if isinstance(data, dict) else None
            code = data.get("code") if isinstance(data, dict) else None
            out.append(("stream.error-event", "Responses stream sent an error event after HTTP 200: "
                        f"{code or 'error'}: {_short(message) if not isinstance(message, str) else message}"))
            return out
        if self.ended_at is not None:
            return out + self._order(f"{kind} after the terminal event #{self.ended_at}")
        if not self.started:
            self.started = True
            if kind not in _RESPONSES_START:
                out += self._order(f"the stream starts with {kind!r} instead of response.created")
        if kind in _RESPONSES_END:
            self.ended_at = number
        return out

    def finish(self, terminated: bool, count: int) -> list[tuple[str, str]]:
        base = super().finish(terminated, count)
        if base or self.error_seen or self.ended_at is not None:
            return base
        return [("stream.completed-missing", "Responses stream ended without response.completed (or "
                 ".failed / .incomplete): the SDK never gets the final response (cut off?)")]


_GRAMMARS: dict[str, Callable[[str], _GenericGrammar]] = {
    "openai": _OpenAIGrammar,
    "anthropic": _AnthropicGrammar,
    "gemini": _GeminiGrammar,
    "responses": _ResponsesGrammar,
}


# --------------------------------------------------------------------------- helpers


def _fill_placeholders(pattern: str, path: str) -> str:
    """The pattern with each ``{param}`` replaced by the request's segment, when segments align."""
    p_segments = pattern.strip("/").split("/")
    r_segments = path.strip("/").split("/")
    if len(p_segments) != len(r_segments):
        return _PLACEHOLDER.sub("", pattern)
    out = []
    for p_seg, r_seg in zip(p_segments, r_segments):
        if "{" in p_seg and _path_regex(p_seg).match(r_seg):
            out.append(r_seg)
        else:
            out.append(p_seg)
    return "/" + "/".join(out)


def _assistant_text(family: Any, body: bytes, content_type: str | None) -> str | None:
    """The assistant's text in an answer, per family; streams (SSE or a Gemini array) assembled."""
    if sse.is_event_stream(content_type) or (not content_type and body[:5] in (b"data:", b"event")):
        return family.stream_text(sse.json_data(sse.parse(body.decode("utf-8", "replace"))))
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, list):
        return family.stream_text(data)
    return family.text(data)


def load_output_schema(path: Path) -> dict:
    """A route's ``output_schema`` file (JSON, or YAML by extension), checked against the draft
    2020-12 metaschema so a broken schema fails at load with its file named, not mid-test."""
    path = Path(path)
    schema = _read_document(path)
    if not isinstance(schema, dict):
        raise ContractError(f"{path}: not a JSON Schema (expected an object, got {type(schema).__name__})")
    _check_schema(schema, path)
    return schema


# --------------------------------------------------------------------------- the gate of a route case

_SESSION_INDEXES: dict[tuple[str, ...], ContractIndex] = {}
_OUTPUT_SCHEMAS: dict[Path, dict] = {}
#: Endpoints that carry no model answer, so a route's output_schema does not apply to them.
_NO_ANSWER_SUFFIXES = ("/models", "/count_tokens")


def session_index(extra_dirs: Sequence[str] = ()) -> ContractIndex:
    """The shipped contracts plus the user's, loaded and compiled once per process."""
    key = tuple(extra_dirs)
    index = _SESSION_INDEXES.get(key)
    if index is None:
        with _BUILD_LOCK:
            index = _SESSION_INDEXES.get(key)
            if index is None:
                index = _SESSION_INDEXES[key] = ContractIndex.load([Path(d) for d in extra_dirs])
    return index


class ContractGate:
    """The contracts as the interceptor meets them during one route case: published routes before a
    request, every response validated after it, and the route's output_schema on model answers."""

    def __init__(self, index: ContractIndex, mode: str, route_label: str,
                 output_schema: dict | None = None, output_schema_path: str | None = None) -> None:
        self.index = index
        self.mode = mode
        self.route_label = route_label
        self.output_schema = output_schema
        self.output_schema_path = output_schema_path
        self.violations: list[Violation] = []

    @classmethod
    def for_route(cls, session: Any, route: Any) -> ContractGate:
        """Raises ConfigError (one line) for a bad user contract directory or output schema."""
        from ..config import ConfigError

        try:
            index = session_index(session.options.contracts_dirs)
            schema = None
            if route.output_schema is not None:
                schema = _OUTPUT_SCHEMAS.get(route.output_schema)
                if schema is None:
                    schema = _OUTPUT_SCHEMAS[route.output_schema] = load_output_schema(route.output_schema)
        except ContractError as exc:
            raise ConfigError(str(exc)) from None
        shown = str(route.output_schema) if route.output_schema is not None else None
        if shown is not None:
            try:
                shown = str(Path(shown).relative_to(session.options.rootdir))
            except ValueError:
                pass
        return cls(index, session.options.contracts_mode, route.label, schema, shown)

    def check_request(self, call: Any, method: str, path: str) -> str | None:
        if self.index.is_published(method, path):
            return None
        return (
            f"{method} {path} is not a published gateway route; the closest published route is "
            f"{self.index.closest_route(method, path)}"
        )

    def check_response(self, call: Any, *, method: str, path: str, status: int, content_type: str | None,
                       body: bytes, cassette: str | None, interaction: int | None, parsed: Any = None,
                       events: list[Any] | None = None) -> None:
        found = self.index.validate(method=method, path=path, status=status, content_type=content_type,
                                    body=body, cassette=cassette, interaction=interaction, parsed=parsed,
                                    events=events)
        if found:
            self.violations.extend(found)
        if (self.output_schema is not None and 200 <= status < 300 and call.model and call.family
                and not path.endswith(_NO_ANSWER_SUFFIXES)):
            problem = self.index.check_output(family=call.family, model=call.model, body=body,
                                              content_type=content_type, schema=self.output_schema,
                                              schema_path=self.output_schema_path or "output_schema")
            if problem is not None:
                where = f"{cassette} interaction #{interaction}: " if cassette else ""
                self.violations.append(dataclasses.replace(
                    problem, cassette=cassette, interaction=interaction,
                    message=f"route {self.route_label!r}: {where}{problem.message}"))

    def outcome(self) -> tuple[list[str], list[str]]:
        """(messages that fail the test, messages shown as warnings) under the session's mode."""
        if self.mode == "off":
            return [], []
        errors, warnings = [], []
        for violation in self.violations:
            (errors if violation.fails(self.mode) else warnings).append(f"contract: {violation.message}")
        return errors, warnings
