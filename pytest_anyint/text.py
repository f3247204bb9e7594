"""Small text and file helpers every part of the package shares, kept once.

A ground module (the standard library only). Messages are one line (``one_line``), values in
messages are clipped (``clip``), names that become file names go through ``model_slug``,
Markdown table cells through ``md_cell``, a mistyped name gets its ``did_you_mean`` hint, UTC
stamps are written by ``utc_stamp`` and read by ``parse_utc_stamp``, files a user may rely on are
replaced whole (``write_atomic``), and regular expressions only some runs need are compiled on
first use (``lazy_pattern``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import glob
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def lazy_pattern(pattern: str, flags: int = 0) -> Callable[[], re.Pattern[str]]:
    """``pattern`` compiled on its first use, then kept: every process imports the modules that
    hold such patterns, but most runs never need most of them (a compile costs 0.05-0.5 ms)."""
    return functools.cache(lambda: re.compile(pattern, flags))

#: The format of every stamp the package writes (``recorded_at``, ``generated_at``).
UTC_STAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines too) made one space: messages stay one line."""
    return " ".join(str(text).split())


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'openai'?)`` for the choice closest to a mistyped ``word``, or "" (no close one)."""
    if not isinstance(word, str):
        return ""
    import difflib  # only for a message about a mistake: a run without one never loads it

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def not_one_of(value: object, choices: Iterable[str]) -> str:
    """What is wrong with a value outside a fixed set, and the nearest choice:
    ``'opnai' is not one of: openai, anthropic (did you mean 'openai'?)``."""
    choices = [str(choice) for choice in choices]
    return f"{value!r} is not one of: {', '.join(choices)}{did_you_mean(value, choices)}"


def clip(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: JSON (``repr`` for bytes and what JSON cannot take), at most
    ``limit`` characters, an ellipsis where it was cut."""
    if isinstance(value, bytes):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def model_slug(model: str) -> str:
    """A model ID (or any name) as a file name: characters outside ``[A-Za-z0-9._-]`` become ``_``,
    and so do leading dots (a hidden file is one that check, prune and drift never see; ``..`` climbs)."""
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", model)
    return "_" * (len(slug) - len(slug.lstrip("."))) + slug.lstrip(".") if slug.startswith(".") else slug


def md_cell(text: object) -> str:
    """``text`` as one Markdown table cell: pipes escaped, newlines made spaces."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def utc_stamp(moment: _dt.datetime | None = None) -> str:
    """``moment`` (default: now) as the package writes stamps: ``2026-12-01T21:22:00Z``."""
    moment = moment or _dt.datetime.now(_dt.timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.timezone.utc)
    return moment.strftime(UTC_STAMP_FORMAT)


def parse_utc_stamp(value: Any) -> _dt.datetime | None:
    """The UTC time in a stamp (ISO 8601, ``Z`` or an offset; YAML may have made it a datetime), or None."""
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    if not isinstance(value, str):
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)


#: What a temporary file of ``write_atomic`` ends in (a killed write leaves one behind).
TEMPORARY_SUFFIX = ".anyint-tmp"


def write_atomic(path: Path, data: str | bytes, *, durable: bool = True) -> None:
    """Write to a temporary file beside the target, then rename: never a half-written file.

    A symlinked target is written through its link (the link stays a link). The temporary file is
    private (0600) while it is written and gets the target's permissions (a new file: what the
    umask gives) only once complete. ``durable`` syncs to disk before the rename; caches skip it.
    Raises ``OSError`` (``IsADirectoryError`` for a folder at ``path``) and leaves nothing behind.
    """
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    remove_stale_temporaries(path)


def _file_mode(path: Path) -> int:
    """The permissions the file has (a rewrite keeps them), else what the umask gives a new file."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def remove_stale_temporaries(path: Path) -> None:
    """Delete what a killed earlier write of this file left behind (``.<name>.*.anyint-tmp``).

    Only this file's own leftovers: each file the package writes has one writer at a time (a
    cassette belongs to one test case, and a case runs on one xdist worker).
    """
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*{TEMPORARY_SUFFIX}"):
        try:
            stale.unlink()
        except OSError:
            pass
