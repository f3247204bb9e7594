"""The shipped contract index, read without parsing YAML: its JSON form, ``shipped_index.json``.

Every run loads the shipped index, and a fresh CI clone has no parse cache, so parsing its YAML
(about 10 ms, plus importing PyYAML) was a cost every pull request paid. ``index.yaml`` stays the
file people read and edit; ``shipped_index.json`` (beside this module) holds its entries already
parsed, as JSON (about 0.3 ms to read), and the hash of the ``index.yaml`` it was made from.
When the hashes disagree (``index.yaml`` was edited and the JSON form not made again) the YAML is
read instead, so the index in force is always the one in ``index.yaml``; a test of the package
fails until the JSON form is made again with ``python -m pytest_anyint.contracts``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from .. import parsecache
from ..text import write_atomic
from .entries import INDEX_NAME, IndexEntry, entries_of
from .schemas import BUILD_LOCK, ContractError, decode_document, read_document

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "_contracts"
#: The JSON form of the shipped ``index.yaml`` (not among the schemas: every JSON file there is one).
COMPILED_PATH = Path(__file__).resolve().parent / "shipped_index.json"
#: The command that makes the JSON form again (named in the test that finds it stale).
REGENERATE = "python -m pytest_anyint.contracts"

_CACHE: list[list[IndexEntry]] = []


def source_digest(raw: bytes) -> str:
    """What the JSON form records of the ``index.yaml`` it was made from."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def compiled_text(yaml_path: Path) -> str:
    """The JSON form of an ``index.yaml``, exactly as ``shipped_index.json`` must hold it: its
    entries as parsed (schema references relative to the index's folder), ready to use as they are."""
    raw = parsecache.read_file(yaml_path)
    base = yaml_path.parent.as_uri() + "/"
    entries = []
    for entry in entries_of(decode_document(yaml_path, raw), yaml_path, user=False):
        fields = entry._asdict()
        del fields["source"]
        fields["schema"] = entry.schema.removeprefix(base) if entry.schema else None
        fields["event_schemas"] = {k: v.removeprefix(base) for k, v in entry.event_schemas.items()}
        entries.append(fields)
    form = {"generated_from": yaml_path.name, "source_blake2b": source_digest(raw), "regenerate": REGENERATE,
            "entries": entries}
    return json.dumps(form, ensure_ascii=False, indent=1) + "\n"


def load_shipped(directory: Path = SHIPPED_DIR, compiled: Path = COMPILED_PATH) -> list[IndexEntry]:
    """The shipped index's entries: from the JSON form when it was made from this ``index.yaml``,
    else (``index.yaml`` edited and the form not made again) parsed from the YAML."""
    yaml_path = directory / INDEX_NAME
    try:
        raw = parsecache.read_file(yaml_path)
    except OSError as exc:
        raise ContractError(f"{yaml_path}: cannot be read: {exc}") from None
    try:
        form = json.loads(parsecache.read_file(compiled))
    except (OSError, ValueError):
        form = None
    if isinstance(form, dict) and form.get("source_blake2b") == source_digest(raw):
        try:
            return _entries_from_form(form["entries"], directory.as_uri() + "/", str(yaml_path))
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a damaged form: the YAML says the same
    return entries_of(read_document(yaml_path, cache=True), yaml_path, user=False)


def _entries_from_form(rows: list[dict[str, Any]], base: str, source: str) -> list[IndexEntry]:
    return [
        IndexEntry(row["family"], row["name"], tuple(row["methods"]), row["path"], tuple(row["statuses"]),
                   row["stream"], base + row["schema"] if row["schema"] else None,
                   {k: base + v for k, v in row["event_schemas"].items()}, row["grammar"], row["confidence"],
                   row["published"], row["kind"], source)
        for row in rows
    ]


def shipped_entries() -> list[IndexEntry]:
    """The shipped index's entries, read once per process."""
    if not _CACHE:
        with BUILD_LOCK:
            if not _CACHE:
                _CACHE.append(load_shipped())
    return _CACHE[0]


def forget() -> None:
    """Read the shipped index again on next use (what a fresh process does)."""
    _CACHE.clear()


def main(argv: list[str] | None = None) -> int:
    """Make ``shipped_index.json`` again from the shipped ``index.yaml`` (after editing it)."""
    target = COMPILED_PATH
    try:
        text = compiled_text(SHIPPED_DIR / INDEX_NAME)
    except ContractError as exc:
        print(f"{REGENERATE}: {exc}", file=sys.stderr)
        return 1
    write_atomic(target, text)
    print(f"wrote {target}")
    return 0

