"""Parsed files kept between runs, keyed by their content: cassettes, ``anyint.yaml``, contract indexes.

Parsing YAML is most of what reading these files costs (about 0.1 ms for a chat-completion
cassette with yaml-rs, 1 ms to parse and validate an ``anyint.yaml``). A replay reads the same
files run after run, so their parsed form is stored with ``marshal`` under pytest's cache folder
and read back in a few microseconds.

An entry is named after the kind of file and a hash of its bytes, inside a folder named after
this plugin's version, the Python, and the code of the modules that parse, so an edited file, an
upgrade or an edited parser never reads a stale entry. The folders of two other versions are kept
(two environments sharing a checkout both stay warm); older ones are cleared. Only what parsed
(and, for ``anyint.yaml``, validated) cleanly is stored; corrupt or unreadable entries are misses,
and a cache that cannot be written is only slower.

Entries live in packs, not one file each: a run that parsed something writes one pack at its end
(``flush``) holding what it parsed and the entries it read, and removes the packs it read from.
Writing a file per entry cost a run that finds no cache (CI on a fresh clone, pytest's cache on)
about 0.1 ms per cassette in file creations and renames; a pack is one write. A pack opens with
an index, so a run reads only the entries it asks for, one ``pread`` each.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import threading
import time
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
#: The packs of ``_DIR`` this process reads and the entries it will write, from the first lookup.
_STORE: _PackStore | None = None
#: Parsed forms kept in memory (for a file read twice in one run, e.g. drift on rewrite). Few:
#: each kept cassette is dozens of objects that every garbage collection of the run walks again.
_MEMORY: dict[tuple[str, bytes], Any] = {}
_MEMORY_LIMIT = 4


def use(directory: Path | None) -> None:
    """Keep parsed forms under ``directory`` (pytest's cache folder), or in this process only."""
    global _DIR
    flush()
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
    """End this process's use of the cache as a new process would find it: what it parsed is
    written (``flush``) and nothing is kept in memory (the next read comes from disk, or is parsed)."""
    flush()
    _MEMORY.clear()


def flush() -> None:
    """Write what this run parsed as one pack, and let go of the packs it read (the session's end)."""
    global _STORE
    store, _STORE = _STORE, None
    if store is not None:
        store.close(write=True)


def read_file(path: str | Path) -> bytes:
    """A whole file in three system calls (``Path.read_bytes`` makes about seven: a third of the
    cost of loading a cached cassette, once per test)."""
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
    store = _store()
    blob = store.get(name) if store is not None else None
    if blob is None:
        return None
    try:
        data = marshal.loads(blob)
    except (ValueError, EOFError, TypeError):
        return None
    return data if accept(data) else None


def _disk_put(name: str, value: Any) -> None:
    store = _store()
    if store is None:
        return
    try:
        store.put(name, marshal.dumps(value))
    except ValueError:
        pass  # a value marshal cannot store (a YAML timestamp in a config): parsed each run


def _store() -> _PackStore | None:
    global _STORE
    if _DIR is None:
        return None
    if _STORE is None or _STORE.folder != _DIR:
        flush()
        _STORE = _PackStore(_DIR)
    return _STORE


# --------------------------------------------------------------------------- packs

#: What a pack file starts with; then the index's length (8 bytes, little-endian), the index
#: (``marshal``: entry name -> (offset, length) after the index) and the entries' bytes.
_PACK_MAGIC = b"anyint-pack-1\n\0\0"
#: A run that rewrites the packs keeps the entries it did not use while they fit in this many
#: bytes (cassettes of other tests, other xdist workers' share); the oldest go first.
_PACK_LIMIT = 64 << 20


class _PackStore:
    """The packs of one cache folder as one process sees them: the entries they hold, read on
    demand, and the entries this process parsed, written as one new pack by ``close``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        #: name -> (file descriptor, offset, length); a later pack's entry wins.
        self.index: dict[str, tuple[int, int, int]] = {}
        self.read_from: list[tuple[str, int]] = []
        self.used: set[str] = set()
        self.new: dict[str, bytes] = {}
        self.lock = threading.Lock()  # app threads may read cassettes at once: one seek at a time
        try:
            names = sorted(n for n in os.listdir(folder) if n.startswith("pack-"))
        except OSError:
            names = []
        for name in names:
            path = os.path.join(folder, name)
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            except OSError:
                continue
            self.read_from.append((path, fd))
            self._read_index(fd)

    def _read_index(self, fd: int) -> None:
        try:
            head = os.read(fd, len(_PACK_MAGIC) + 8)
            if len(head) != len(_PACK_MAGIC) + 8 or not head.startswith(_PACK_MAGIC):
                return
            size = int.from_bytes(head[len(_PACK_MAGIC):], "little")
            raw = os.read(fd, size)
            entries = marshal.loads(raw) if len(raw) == size else None
        except (OSError, ValueError, EOFError, TypeError, OverflowError):
            return
        if not isinstance(entries, dict):
            return
        base = len(head) + size
        for name, where in entries.items():
            if isinstance(name, str) and isinstance(where, tuple) and len(where) == 2:
                self.index[name] = (fd, base + where[0], where[1])

    def get(self, name: str) -> bytes | None:
        found = self.new.get(name)
        if found is not None:
            return found
        where = self.index.get(name)
        if where is None:
            return None
        self.used.add(name)
        blob = self._read(*where)
        return blob if blob is not None and len(blob) == where[2] else None

    def _read(self, fd: int, offset: int, length: int) -> bytes | None:
        try:
            if hasattr(os, "pread"):
                return os.pread(fd, length, offset)
            with self.lock:  # Windows: no pread
                os.lseek(fd, offset, os.SEEK_SET)
                return os.read(fd, length)
        except (OSError, ValueError, OverflowError):
            return None

    def put(self, name: str, blob: bytes) -> None:
        self.new[name] = blob

    def close(self, *, write: bool) -> None:
        """Write a pack of what this run parsed and read (nothing when it parsed nothing: a warm
        run leaves the folder as it was), then remove the packs it read from."""
        try:
            if write and self.new:
                # In the new pack, oldest first: the entries of other tests (and of other xdist
                # workers) while they fit, the newest of them kept first; then what this run read;
                # then what it parsed.
                used = {name: self._read(*self.index[name]) for name in self.used if name not in self.new}
                budget = _PACK_LIMIT - sum(map(len, self.new.values())) - sum(len(b) for b in used.values() if b)
                others: list[tuple[str, bytes]] = []
                for name, where in reversed(list(self.index.items())):
                    if name in used or name in self.new:
                        continue
                    if where[2] > budget:
                        break
                    blob = self._read(*where)
                    if blob is not None:
                        others.append((name, blob))
                        budget -= len(blob)
                entries = dict(reversed(others))
                entries.update((name, blob) for name, blob in used.items() if blob is not None)
                entries.update(self.new)
                if self._write(entries):
                    for path, _ in self.read_from:
                        _unlink(path)
        finally:
            for _, fd in self.read_from:
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.read_from, self.index, self.new = [], {}, {}

    def _write(self, entries: dict[str, bytes]) -> bool:
        index, offset = {}, 0
        for name, blob in entries.items():
            index[name] = (offset, len(blob))
            offset += len(blob)
        head = marshal.dumps(index)
        data = b"".join([_PACK_MAGIC, len(head).to_bytes(8, "little"), head, *entries.values()])
        stamp = f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident()}"
        temporary = os.path.join(self.folder, f".pack-{stamp}")
        try:
            if not self.folder.is_dir():
                self.folder.mkdir(parents=True, exist_ok=True)
                _prune(self.folder)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(temporary, os.path.join(self.folder, f"pack-{stamp}"))  # atomic: readers never see half a pack
        except OSError:  # a cache that cannot be written is only slower
            _unlink(temporary)
            return False
        return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def entry_names(folder: Path) -> list[str]:
    """The entries the packs of a cache folder hold (for tests and for looking into a cache)."""
    store = _PackStore(folder)
    try:
        return sorted(store.index)
    finally:
        store.close(write=False)


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

