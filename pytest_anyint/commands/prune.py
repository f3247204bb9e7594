"""``pytest-anyint prune`` and ``check --unused``: cassettes no test of the project maps to any more.

Deleting a cassette loses a recording that may cost a billed gateway call (or a gateway that no
longer answers that way) to get back, so a cassette counts as unused only when that is proven:

- it carries this plugin's metadata (a pytest-recording cassette in the same folder is not ours);
- pytest collected its test file without error or skip, and no collected or deselected test maps
  to it. A test file that still exists but was not collected here (``collect_ignore``, outside the
  paths given) keeps its cassettes;
- the collection as a whole had no error and skipped no module: otherwise nothing is unused, and
  the command names the modules instead.

``prune`` only lists what it would delete; it deletes with ``--yes``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cassettes import CassetteError, iter_cassettes, parse_cassette_text
from ..run.listing import error_line
from ..settings import ProjectSettings, SettingsError, find

MODELS_DIR = "_models"


class CollectionFailed(Exception):
    """Which cassettes are in use is unknown (pytest failed, or skipped or failed modules)."""


@dataclass
class Usage:
    """What a collection run says about the cassettes under one directory."""

    unused: list[Path] = field(default_factory=list)
    #: Cassettes whose test file exists but was not collected (kept).
    not_collected: list[Path] = field(default_factory=list)
    #: Files without this plugin's metadata (never touched).
    foreign: list[Path] = field(default_factory=list)


def collect(settings: ProjectSettings, test_paths: Sequence[str] = (), pytest_args: Sequence[str] = ()) -> dict[str, Any]:
    """Run ``pytest --collect-only`` from the rootdir (over the whole rootdir unless paths are given)."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "cassettes.json"
        targets = [str(Path(p).resolve()) for p in test_paths] or [str(settings.rootdir)]
        command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly",
                   f"--anyint-list-cassettes={listing}", *pytest_args, *targets]
        done = subprocess.run(command, cwd=settings.rootdir, capture_output=True, text=True)
        if not listing.is_file():
            said = error_line(done.stderr) if done.stderr.strip() else error_line(done.stdout)
            raise CollectionFailed(f"pytest could not collect the tests (exit {done.returncode}): {said}")
        data: dict[str, Any] = json.loads(listing.read_text(encoding="utf-8"))
    problems = [f"{e['nodeid']}: {e['error']}" for e in data["errors"]]
    problems += [f"{s['nodeid']}: skipped: {s['reason']}" for s in data["skipped"]]
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise CollectionFailed(
            f"nothing counted as unused: {len(problems)} module(s) could not be collected here, so their "
            f"cassettes may still be in use: {shown}"
        )
    return data


def find_usage(directory: Path, settings: ProjectSettings, test_paths: Sequence[str] = (),
               pytest_args: Sequence[str] = ()) -> Usage:
    """Sort the cassettes under ``directory`` into unused, kept (file not collected) and foreign."""
    data = collect(settings, test_paths, pytest_args)
    rootdir = Path(data["rootdir"])
    expected = {os.path.realpath(p) for p in data["cassettes"]}
    collected = {os.path.realpath(p) for p in data["collected_files"]}
    usage = Usage()
    for path in iter_cassettes(directory):
        relative = path.relative_to(directory)
        if relative.parts[:1] == (MODELS_DIR,) or os.path.realpath(path) in expected:
            continue
        metadata = _metadata(path)
        if metadata is None:
            usage.foreign.append(path)
            continue
        files = _test_files(metadata, relative, rootdir)
        if any(f.is_file() and os.path.realpath(f) not in collected for f in files):
            usage.not_collected.append(path)
        else:
            usage.unused.append(path)
    return usage


def _metadata(path: Path) -> dict[str, Any] | None:
    """The plugin's metadata of a cassette (route, model and test), or None for any other file."""
    try:
        document = parse_cassette_text(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, UnicodeDecodeError, CassetteError):
        return None
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not all(isinstance(metadata.get(k), str) for k in ("route", "model", "test")):
        return None
    return metadata


def _test_files(metadata: dict[str, Any], relative: Path, rootdir: Path) -> list[Path]:
    """The test module a cassette belongs to: named by its metadata, and by its place in the tree
    (``<module path>/<test>/<route>/<leaf>.yaml``)."""
    files = []
    module = metadata["test"].split("::", 1)[0]
    if module:
        files.append(rootdir / module)
    if len(relative.parts) > 3:
        files.append(rootdir / (Path(*relative.parts[:-3]).as_posix() + ".py"))
    return files


# --------------------------------------------------------------------------- the command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", default=None, metavar="DIR",
                        help="cassette directory (default: anyint_cassette_dir of the pytest configuration, else cassettes)")
    parser.add_argument("--config", default=None, metavar="PATH",
                        help="anyint.yaml the tests are collected with (default: the one pytest would use, "
                             "via the anyint_config ini option)")
    parser.add_argument("--tests", action="append", default=[], metavar="PATH",
                        help="collect only these test files or folders (repeatable; default: the whole rootdir, "
                             "not only testpaths); cassettes of test files outside them are kept")
    parser.add_argument("--yes", action="store_true",
                        help="delete the listed cassettes (without it, prune only lists them)")
    parser.add_argument("--dry-run", action="store_true",
                        help="list what would be deleted and delete nothing (the default without --yes)")


def prune_command(directory: str | None, config: str | None, tests: Sequence[str]) -> str:
    """The ``pytest-anyint prune`` command that looks at what the current command looked at."""
    words = ["pytest-anyint", "prune", *([directory] if directory else []),
             *([f"--config={config}"] if config else []), *(f"--tests={p}" for p in tests)]
    return shlex.join(words)


def run_prune(args: argparse.Namespace) -> int:
    """List (and with ``--yes`` delete) the cassettes no test maps to; 0 done, 2 nothing provable."""
    try:
        settings = find(config_override=args.config)
    except SettingsError as exc:
        print(f"pytest-anyint prune: {exc}", file=sys.stderr)
        return 2
    directory = Path(args.dir) if args.dir else settings.cassette_dir
    if not directory.is_dir():
        print(f"pytest-anyint prune: {settings.shown(directory)}: no such cassette directory{settings.elsewhere()}", file=sys.stderr)
        return 2
    try:
        usage = find_usage(directory, settings, args.tests,
                           [f"--anyint-config={settings.config_path}"] if args.config else [])
    except CollectionFailed as exc:
        print(f"pytest-anyint prune: nothing deleted: {exc}", file=sys.stderr)
        return 2
    delete = bool(args.yes) and not args.dry_run
    for path in usage.not_collected:
        print(f"kept {settings.shown(path)}: its test file exists but was not collected "
              f"(collect_ignore, or outside the paths given)")
    for path in usage.unused:
        if delete:
            path.unlink()
            print(f"deleted {settings.shown(path)}")
        else:
            print(f"would delete {settings.shown(path)}")
    if usage.foreign:
        print(f"left alone {len(usage.foreign)} file(s) without pytest-anyint metadata (not written by this plugin)")
    if not usage.unused:
        print("0 unused cassette(s): nothing to delete")
    elif delete:
        print(f"{len(usage.unused)} unused cassette(s) deleted")
    else:
        again = prune_command(args.dir, args.config, args.tests) + " --yes"
        print(f"{len(usage.unused)} unused cassette(s); nothing deleted. Delete them with: {again}")
    return 0
