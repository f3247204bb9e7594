"""Parsed files kept between runs, keyed by their content: cassettes, ``anyint.yaml``, contract indexes.

Parsing YAML is most of what reading these files costs (about 0.4 ms for a chat-completion
cassette, 4 ms for the shipped contract index, 1 ms to parse and validate an ``anyint.yaml``). A
replay reads the same files run after run, so their parsed form is stored with ``marshal`` under
pytest's cache folder and read back in a few microseconds.

An entry is named after the kind of file and a hash of its bytes, inside a folder named after
this plugin's version, the Python, and the modification times of the modules that parse, so an
edited file, an upgrade or an edited parser never reads a stale entry. The folders of two other
versions are kept (two environments sharing a checkout both stay warm); older ones are cleared.
Only what parsed (and, for ``anyint.yaml``, validated) cleanly is stored; corrupt or unreadable
entries are misses, and a cache that cannot be written is only slower.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: The modules whose code decides what a parsed entry holds: editing one retires every entry.
_PARSER_MODULES = (
    "parsecache.py", "cassettes/format.py", "cassettes/store.py", "sse.py", "config.py", "contracts/schemas.py", "fastschema.py",
    "keyforms.py", "volatile.py", "yamlsafe.py",
)

#: Where parsed forms persist (``use``); None: this process only.
_DIR: Path | None = None
#: Parsed forms kept in memory (for a file read twice in one run, e.g. drift on rewrite). Few:
#: each kept cassette is dozens of objects that every garbage collection of the run walks again.
_MEMORY: dict[tuple[str, bytes], Any] = {}
_MEMORY_LIMIT = 4


def use(directory: Path | None) -> None:
    """Keep parsed forms under ``directory`` (pytest's cache folder), or in this process only."""
    global _DIR
    if directory is None:
        _DIR = None
        return
    from . import __version__

    _DIR = directory / f"parsed-{__version__}-{sys.implementation.cache_tag}-{_parsers_digest()}"


def _parsers_digest() -> str:
    """What the parsing code says, not when it was written: ``pip install`` resets modification
    times, so a CI job restoring ``.pytest_cache`` would otherwise never find its parsed forms."""
    import hashlib

    here = os.path.dirname(__file__)
    digest = hashlib.blake2b(digest_size=8)
    for name in _PARSER_MODULES:
        digest.update(read_file(os.path.join(here, name)))
    return digest.hexdigest()


def forget() -> None:
    """Drop what this process keeps in memory (the next read comes from disk, or is parsed)."""
    _MEMORY.clear()


def read_file(path: str | Path) -> bytes:
    """A whole file in three system calls (``Path.read_bytes`` makes about seven: a third of the
    cost of loading a cached cassette, twice per test)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        data = os.read(fd, 65536)
        if len(data) < 65536:
            return data
        chunks = [data]
        while True:
            more = os.read(fd, 1 << 20)
            if not more:
                return b"".join(chunks)
            chunks.append(more)
    finally:
        os.close(fd)


def parsed(
    raw: bytes,
    kind: str,
    parse: Callable[[bytes], T],
    accept: Callable[[Any], bool],
    keep: Callable[[bytes], bool] | None = None,
) -> T:
    """``parse(raw)``, or the stored result of an earlier ``parse`` of the same bytes.

    ``accept`` vets what comes back from disk (a truncated or foreign entry is a miss). ``parse``
    may raise: nothing is stored then. ``keep(raw)`` False keeps a result off the disk (a file
    holding a key: the cache folder is no place for one). The result may be shared: callers must
    not mutate it.
    """
    # Without a cache folder (CI's fresh clone, -p no:cacheprovider) no entry needs a name: the
    # bytes themselves are the key, hashed once, in C, by the dict, instead of a digest per file.
    key = (kind, raw) if _DIR is None else (kind, hashlib.blake2b(raw, digest_size=16).digest())
    found = _MEMORY.get(key)
    if found is not None:
        return found
    name = f"{kind}-{key[1].hex()}" if _DIR is not None else ""
    found = _disk_get(name, accept) if name else None
    if found is None:
        found = parse(raw)
        if name and (keep is None or keep(raw)):
            _disk_put(name, found)
    if len(_MEMORY) >= _MEMORY_LIMIT:
        del _MEMORY[next(iter(_MEMORY))]  # the oldest
    _MEMORY[key] = found
    return found


def _disk_get(name: str, accept: Callable[[Any], bool]) -> Any:
    if _DIR is None:
        return None
    try:
        data = marshal.loads(read_file(os.path.join(_DIR, name)))
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return data if accept(data) else None


def _disk_put(name: str, value: Any) -> None:
    assert _DIR is not None
    try:
        data = marshal.dumps(value)
    except ValueError:
        return  # a value marshal cannot store (a YAML timestamp in a config): parsed each run
    try:
        if not _DIR.is_dir():
            _DIR.mkdir(parents=True, exist_ok=True)
            _prune(_DIR)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=_DIR)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, _DIR / name)  # atomic: xdist workers may write the same entry
    except OSError:
        pass  # a cache that cannot be written is only slower


#: Folders of other versions kept besides the one in use: environments that share a checkout (tox
#: or nox with several Pythons, two plugin versions side by side) each keep theirs warm instead of
#: deleting each other's, and what upgrades leave behind stays bounded.
_KEEP_OTHERS = 2


def _prune(current: Path) -> None:
    """Delete the folders of other versions, all but the ``_KEEP_OTHERS`` most recently written."""
    import shutil

    others = []
    for folder in current.parent.glob("parsed-*"):
        if folder != current:
            try:
                others.append((folder.stat().st_mtime_ns, folder))
            except OSError:
                continue
    others.sort(reverse=True)
    for _, folder in others[_KEEP_OTHERS:]:
        shutil.rmtree(folder, ignore_errors=True)

