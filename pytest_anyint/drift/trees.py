"""Cassette trees: the cassettes of a folder or of a git revision, read and compared.

``read_tree`` reads a folder, ``read_git_tree`` the files committed at a revision (through git,
without a checkout); ``compare_trees`` pairs the two by relative path and collects the findings
(``findings``) of every cassette whose bytes changed. ``pytest-anyint drift`` and
``pytest-anyint diff`` read their inputs here.
"""

from __future__ import annotations

import subprocess
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cassettes import header_value, is_cassette_name, iter_cassettes
from .findings import DriftFinding, Findings, Recorded, compare_interactions, from_vcr_dicts, recorded_latency

# --------------------------------------------------------------------------- cassette trees


class DriftUsageError(Exception):
    """Bad arguments or input for ``pytest-anyint drift`` (exit status 2)."""


@dataclass
class DriftReport(Findings):
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


def _read_fast(text: str) -> tuple[dict[str, Any], list[Recorded]]:
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
            latency = recorded_latency(response)
            if isinstance(body, dict) and len(body) == 1 and "json" in body:
                out.append(Recorded(str(request["method"]), path, status, content_type, b"", body["json"], latency))
            else:
                out.append(Recorded(str(request["method"]), path, status, content_type, decode_body(body), latency_s=latency))
    except (KeyError, TypeError, AttributeError, CassetteError):
        raise _SlowPath from None
    metadata = data.get("metadata")
    return (metadata if isinstance(metadata, dict) else {}), out


def read_for_drift(raw: bytes, where: str) -> tuple[dict[str, Any], list[Recorded]]:
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
    return data.get("metadata") or {}, from_vcr_dicts(data["interactions"])


def compare_trees(old: Mapping[str, bytes], new: Mapping[str, bytes], *, old_label: str, new_label: str, display_root: str) -> DriftReport:
    """Compare two cassette trees (relative path → file bytes)."""
    from ..cassettes import CassetteError

    report = DriftReport(old_label, new_label)

    def parse(raw: bytes, where: str) -> tuple[dict[str, Any], list[Recorded]] | None:
        try:
            return read_for_drift(raw, where)
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
        test, model = identity(relative, metadata)
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


def identity(relative: str, metadata: Mapping[str, Any]) -> tuple[str, str]:
    """The test and model a cassette belongs to: from its metadata, else from its path."""
    parts = relative.split("/")
    leaf = parts[-1].rsplit(".", 1)[0]
    test = metadata.get("test") or "/".join(parts[:-1]) or leaf
    model = metadata.get("model") or leaf.split("__", 1)[0]
    if parts[0] == "_models":
        test = test if metadata.get("test") else "Models API check"
        model = metadata.get("model") or f"({leaf} models list)"
    return str(test), str(model)
