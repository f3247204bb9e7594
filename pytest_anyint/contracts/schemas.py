"""Schema documents: reading a contract file, checking a schema before it is used, the validator class.

A user's contract directory or ``output_schema`` is checked here when it loads, so a broken schema
(bad JSON, an invalid keyword, a ``$ref`` to nothing, a remote ``$ref`` that replay could never
fetch offline) fails once with its file named, never in the middle of a test.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import parsecache
from ..fastschema import KNOWN_VALUES
from ..text import one_line

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

#: Held while a validator or index is built (the cold path only; reading a built one takes no lock).
#: An app's thread pool may validate its first answers at the same time: no thread may see a check
#: another one is still compiling.
BUILD_LOCK = threading.RLock()


class ContractError(Exception):
    """A contract index or schema that cannot be used; the message is one line naming the file."""


def read_document(path: Path, *, cache: bool = False) -> Any:
    """JSON or YAML (by extension) from a file, or ContractError naming the file.

    ``cache``: read an index through the parse cache (a warm run parses no YAML)."""
    try:
        raw = parsecache.read_file(path)
    except FileNotFoundError:
        raise ContractError(f"{path}: file not found") from None
    except OSError as exc:
        raise ContractError(f"{path}: cannot be read: {exc}") from None
    if cache:
        return parsecache.parsed(raw, "contract-index", lambda raw: decode_document(path, raw),
                                 lambda data: isinstance(data, (dict, list)))
    return decode_document(path, raw)


def decode_document(path: Path, raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(f"{path}: cannot be read: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise ContractError(f"{path}: not valid YAML: {one_line(str(exc))}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ContractError(f"{path}: not valid JSON: {exc}") from None


def validator_class() -> type[Validator]:
    """Draft 2020-12 plus ``x-known-values``: a known-value list whose misses are warnings."""
    if _VALIDATOR_CLASS:
        return _VALIDATOR_CLASS[0]
    with BUILD_LOCK:
        if not _VALIDATOR_CLASS:
            from jsonschema import Draft202012Validator, ValidationError, validators

            def known_values(validator: Validator, known: list[str], instance: object,
                             schema: dict[str, object]) -> Iterator[ValidationError]:
                if isinstance(instance, str) and instance not in known:
                    yield ValidationError(f"{instance!r} is not a known value")

            _VALIDATOR_CLASS.append(validators.extend(Draft202012Validator, {KNOWN_VALUES: known_values}))
        return _VALIDATOR_CLASS[0]


#: Built on first use: importing jsonschema costs ~30 ms that a run whose answers all pass never pays.
_VALIDATOR_CLASS: list[type[Validator]] = []


def check_schema(schema: Any, path: Path) -> None:
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
        raise ContractError(f"{path}: not a valid JSON Schema: at {where}: {one_line(error.message)[:200]}")
    for ref in _local_refs(schema):
        if not _pointer_resolves(schema, ref):
            raise ContractError(f"{path}: not a valid JSON Schema: $ref {ref!r} points to nothing in the file")
    refuse_remote_refs(schema, path)


def refuse_remote_refs(schema: Any, path: Path) -> None:
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



def check_referenced_files(schema: Any, path: Path, seen: set[Path]) -> None:
    """Every file a user schema reaches through relative ``$ref``s exists and fetches nothing remote."""
    seen.add(path)
    for ref in _file_refs(schema):
        target = (path.parent / ref).resolve()
        if not target.is_file():
            raise ContractError(f"{path}: $ref {ref!r} points to a file that does not exist")
        if target not in seen:
            referenced = read_document(target)
            refuse_remote_refs(referenced, target)
            check_referenced_files(referenced, target, seen)


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


def schema_file(ref: str) -> str:
    uri = ref.partition("#")[0]
    return urllib.parse.unquote(urllib.parse.urlsplit(uri).path) if uri.startswith("file:") else uri
