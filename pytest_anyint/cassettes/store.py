"""Where cassettes live and how they are read and saved: file names and paths, the walk over a
cassette folder, the cached read (``parsecache``) and vcrpy's persister.

Saving is careful because a cassette is a reviewed file: the new text is scanned for secrets
before anything is written, an unchanged re-recording (only volatile parts differ) keeps the
file's bytes, and the write is atomic (a crash never leaves half a cassette).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import keyforms, parsecache
from ..text import model_slug, parse_utc_stamp, remove_stale_temporaries, write_atomic
from .format import CassetteError, load_yaml, parse_cassette_text
from .secrets import SecretLeakError, leaks_in_values, scan_secrets

# --------------------------------------------------------------------------- paths


def is_cassette_name(name: str) -> bool:
    """A cassette file name: ``*.yaml`` or ``*.yml``, not hidden (temporary files start with a dot)."""
    return name.endswith((".yaml", ".yml")) and not name.startswith(".")


def iter_cassettes(directory: Path) -> Iterator[Path]:
    """Every cassette under a directory, in a stable order, skipping hidden folders."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if is_cassette_name(name):
                yield Path(root) / name


def cassette_path(
    cassette_dir: Path,
    module_path: str,
    test_name: str,
    route: str,
    leaf: str,
    other_params: str | None = None,
) -> Path:
    """``<dir>/<module path>/<Class.test>/<route>/<leaf>[__<other param id>].yaml``.

    ``leaf`` is the model slug for a per-model case and ``fault-<kind>`` for a fault case, so
    promoting a fallback to primary renames no cassette.
    """
    name = leaf + (f"__{model_slug(other_params)}" if other_params else "")
    # One Path from a joined string: the same path as joining Paths, at a fraction of the cost.
    return Path(os.path.join(cassette_dir, module_path, model_slug(test_name), model_slug(route), f"{name}.yaml"))


# --------------------------------------------------------------------------- reading and saving


def _is_parsed_cassette(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("interactions"), list)


def read_cassette(path: Path, secrets: Sequence[str] = ()) -> dict[str, Any]:
    """A cassette file in vcrpy's dict form, parsed once per content (``parsecache``).

    A cassette holding one of ``secrets`` (in any form, base64 bodies included; pass the session's
    keys) is parsed but never stored in the parse cache. The result is shared: callers must not
    mutate it.
    """
    try:
        raw = parsecache.read_file(path)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise CassetteError(f"{path}: is a directory, not a cassette file; remove or rename that directory") from None
    except OSError as exc:
        raise CassetteError(f"{path}: cannot read: {exc.strerror}") from None

    def parse(raw: bytes) -> dict[str, Any]:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CassetteError(f"{path}: not UTF-8 text: not a pytest-anyint cassette") from None
        return parse_cassette_text(text, source=str(path))

    def keep(raw: bytes) -> bool:
        return not (secrets and keyforms.contains_bytes(raw, secrets))

    return parsecache.parsed(raw, "cassette", parse, _is_parsed_cassette, keep if secrets else None)


class CassettePersister:
    """vcrpy persister: cached loads, secret scan before the write, atomic rename.

    One per case (vcrpy calls its methods on the object it was given), so what it must know comes
    with it instead of from state shared by every session of the process.
    """

    def __init__(
        self, known_secrets: Sequence[str] = (), refresh_older_than: datetime.timedelta | None = None
    ) -> None:
        #: Secrets (the real key) the scan must never find in a new cassette, nor the parse cache keep.
        self.known_secrets = tuple(known_secrets)
        #: ``--anyint-max-age``: an unchanged re-recording is still written (its ``recorded_at``
        #: refreshed) when the file's own ``recorded_at`` is older than this.
        self.refresh_older_than = refresh_older_than

    def load_cassette(self, cassette_path: str | Path, serializer: Any) -> tuple[list[Any], list[Any], dict[str, Any]]:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.request import Request

        path = Path(cassette_path)
        try:
            data = read_cassette(path, self.known_secrets)
        except FileNotFoundError:
            raise CassetteNotFoundError() from None
        requests = [Request._from_dict(dict(i["request"])) for i in data["interactions"]]
        responses = [_copy_response(i["response"]) for i in data["interactions"]]
        return requests, responses, dict(data["metadata"])

    def save_cassette(self, cassette_path: str | Path, cassette_dict: Mapping[str, Any], serializer: Any) -> None:
        from vcr.serialize import serialize

        path = Path(cassette_path)
        text = serialize(cassette_dict, serializer)
        leaks = scan_secrets(text, self.known_secrets) or leaks_in_values(text, self.known_secrets)
        if leaks:
            raise SecretLeakError(
                f"{path}: not saved: the new recording contains {leaks[0]}; the previous cassette was left untouched"
            )
        if _unchanged(path, text, self.refresh_older_than):
            # Only volatile parts differ (recorded_at, timings, request ids): keep the file's bytes.
            remove_stale_temporaries(Path(os.path.realpath(path)))
            return
        try:
            write_atomic(path, text)
        except OSError as exc:
            raise CassetteError(f"{path}: not saved: {write_error_cause(exc, path)}") from None


class _LoadedResponse(dict[str, Any]):
    """A response read from a cassette. vcrpy deep-copies every response it loads; this one's
    mappings are copied already and its leaves (bytes, strings, numbers, header lists nobody
    mutates) are shared with the parse cache by design, so a copy of the mappings is as safe and
    several times cheaper (it is paid per interaction per test)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _LoadedResponse:
        return _copy_response(self)


def _copy_response(response: Mapping[str, Any]) -> _LoadedResponse:
    # Responses are shared through the parse cache; vcrpy must not mutate the cached one.
    return _LoadedResponse(
        {
            key: dict(value) if isinstance(value, dict) else value
            for key, value in response.items()
        }
    )


def _unchanged(path: Path, text: str, refresh_older_than: datetime.timedelta | None = None) -> bool:
    """Whether the cassette at ``path`` records what ``text`` does, apart from volatile parts (and,
    with ``refresh_older_than``, its ``recorded_at`` is not older than that)."""
    from .. import volatile

    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if old == text:
        return True
    try:
        old_document = load_yaml(old)
        if refresh_older_than is not None:
            recorded = parse_utc_stamp((old_document.get("metadata") or {}).get("recorded_at"))
            if recorded is None or datetime.datetime.now(datetime.timezone.utc) - recorded > refresh_older_than:
                return False  # re-verified: the age check must see the new recorded_at
        return volatile.stable_view(old_document) == volatile.stable_view(load_yaml(text))
    except Exception:  # noqa: BLE001 - an unreadable old file is simply replaced
        return False


def write_error_cause(exc: OSError, path: Path) -> str:
    """Why a file could not be written, in words (not an exception class name)."""
    import errno

    if isinstance(exc, IsADirectoryError) or exc.errno == errno.EISDIR or (path.is_dir() and not path.is_symlink()):
        return "the cassette path is a directory; remove or rename that directory"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: the folder {path.parent} (or the file) is not writable"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "no space left on the device (disk full or quota reached)"
    if exc.errno == errno.EFBIG:
        return "the file is larger than this process may write (file size limit)"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a part of the folder path is a file, not a folder"
    return exc.strerror or str(exc)
