"""``pytest-anyint check [DIR]``: every cassette under DIR against the contracts, and for secrets.

Made for CI and pre-commit: one line per problem (file, interaction, JSON pointer, rule), a key
never echoed, a corrupt file reported as one line rather than a traceback, and exit status 1 on
any problem. Files are read one at a time, so memory stays flat however many cassettes there are.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .contracts import MODES, ContractError, ContractIndex
from .recording import CassetteError, header_value, iter_cassettes, parse_cassette_text, scan_secrets

DEFAULT_KEY_ENV = "ANYINT_API_KEY"


@dataclass
class CheckReport:
    """What ``check`` found: ``problems`` fail the run, ``warnings`` are shown but do not."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cassettes: int = 0
    interactions: int = 0


def check_file(path: Path, index: ContractIndex, *, display: str | None = None,
               known_secrets: Sequence[str] = (), key_env: str = DEFAULT_KEY_ENV,
               mode: str = "fail", report: CheckReport | None = None) -> CheckReport:
    """Check one cassette: secrets in its raw text, then every interaction against the contracts.

    The cassette is read by the same parser replay uses, so ``check`` passes exactly the files a
    replay can load (a corrupt or foreign file is one problem line, never a traceback).
    """
    report = report if report is not None else CheckReport()
    shown = display or str(path)
    report.cassettes += 1
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(f"{shown}: cannot be read: {exc.__class__.__name__}")
        return report
    for found in scan_secrets(text, known_secrets):
        found = found.replace("the configured key", f"the value of ${key_env}")
        report.problems.append(f"{shown}: secret: {found}")
    try:
        document = parse_cassette_text(text, source=shown)
    except CassetteError as exc:
        report.problems.append(str(exc))
        return report
    for number, interaction in enumerate(document["interactions"], 1):
        report.interactions += 1
        _check_interaction(interaction, number, index, shown, mode, report)
    return report


def _check_interaction(interaction: Mapping[str, Any], number: int, index: ContractIndex, shown: str, mode: str,
                       report: CheckReport) -> None:
    request, response = interaction["request"], interaction["response"]
    method = request["method"].upper()
    path = urllib.parse.urlsplit(request["uri"]).path or "/"
    if not index.is_published(method, path):
        report.problems.append(
            f"{shown} interaction #{number}: {method} {path} is not a route the gateway publishes; "
            f"closest published route: {index.closest_route(method, path)}"
        )
        return
    content_type = header_value(response["headers"], "content-type")
    for violation in index.validate(method=method, path=path, status=response["status"]["code"],
                                    content_type=content_type, body=response["body"]["string"],
                                    cassette=shown, interaction=number):
        (report.problems if violation.fails(mode) else report.warnings).append(violation.message)


def check_dir(directory: Path | str, *, index: ContractIndex | None = None, contract_dirs: Sequence[Path] = (),
              key_env: str | None = DEFAULT_KEY_ENV, mode: str = "fail") -> CheckReport:
    """Check every cassette under ``directory``; the key in ``$key_env`` (when set) counts as a secret."""
    directory = Path(directory)
    index = index if index is not None else ContractIndex.load(contract_dirs)
    known = [os.environ[key_env]] if key_env and os.environ.get(key_env) else []
    report = CheckReport()
    for path in iter_cassettes(directory):
        check_file(path, index, known_secrets=known, key_env=key_env or DEFAULT_KEY_ENV, mode=mode, report=report)
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``check`` subcommand's options (the CLI wires this parser)."""
    parser.add_argument("dir", nargs="?", default=None,
                        help="directory of cassettes (default: the configured cassette directory, else ./cassettes)")
    parser.add_argument("--config", default=None, metavar="PATH",
                        help="anyint.yaml to lint (default: the one pytest would use from here)")
    parser.add_argument("--unused", action="store_true",
                        help="also list cassettes that no collected test case maps to (runs pytest --collect-only)")
    parser.add_argument("--key-env", default=None, metavar="NAME",
                        help="environment variable holding the API key; its value is searched for too "
                             f"(default: gateway.api_key_env of anyint.yaml, else {DEFAULT_KEY_ENV})")
    parser.add_argument("--contracts-dir", action="append", default=[], metavar="DIR",
                        help="a user contracts directory with an index.yaml (repeatable)")
    parser.add_argument("--contracts", choices=[m for m in MODES if m != "off"], default="fail",
                        help="fail: rule breaks fail, assumed rules and unknown values warn (default); "
                             "strict: assumed rules fail too; warn: report only")


def run_check(args: argparse.Namespace) -> int:
    """Print every problem, one per line, and return 0 (clean), 1 (problems) or 2 (usage error)."""
    settings = find_project_settings(Path.cwd(), getattr(args, "config", None))
    directory = Path(getattr(args, "dir", None) or settings.cassette_dir)
    if not directory.is_dir():
        print(f"pytest-anyint check: {directory}: no such directory", file=sys.stderr)
        return 2
    mode = getattr(args, "contracts", None) or "fail"
    if mode not in MODES:
        print(f"pytest-anyint check: --contracts must be one of {', '.join(MODES)}", file=sys.stderr)
        return 2
    try:
        index = ContractIndex.load([Path(d) for d in (getattr(args, "contracts_dir", None) or [])])
    except ContractError as exc:
        print(f"pytest-anyint check: {exc}", file=sys.stderr)
        return 2
    key_env = getattr(args, "key_env", None) or DEFAULT_KEY_ENV
    problems: list[str] = []
    warnings: list[str] = []
    if settings.config_path.is_file():
        from .config import ConfigError, load_config

        try:
            config = load_config(settings.config_path)
        except ConfigError as exc:
            problems.append(str(exc))
        else:
            warnings += config.warnings()
            key_env = getattr(args, "key_env", None) or config.api_key_env
    report = check_dir(directory, index=index, key_env=key_env, mode=mode)
    problems += report.problems
    warnings += report.warnings
    if getattr(args, "unused", False):
        try:
            unused = unused_cassettes(directory, settings)
        except CollectionFailed as exc:
            print(f"pytest-anyint check: {exc}", file=sys.stderr)
            return 2
        problems += [f"{path}: unused: no test case maps to this cassette (remove it with pytest-anyint prune)" for path in unused]
    for line in warnings:
        print(f"warning: {line}")
    for line in problems:
        print(line)
    verdict = f"{len(problems)} problem(s)" if problems else "no problems"
    extra = f", {len(warnings)} warning(s)" if warnings else ""
    print(f"checked {report.cassettes} cassette(s), {report.interactions} interaction(s): {verdict}{extra}")
    return 1 if problems else 0


# --------------------------------------------------------------------------- the project's settings


@dataclass(frozen=True)
class ProjectSettings:
    """Where pytest would look: the rootdir, anyint.yaml and the cassette directory."""

    rootdir: Path
    config_path: Path
    cassette_dir: Path


def _ini_sections(directory: Path) -> dict[str, str] | None:
    """The pytest ini values of the first pytest configuration file in ``directory``, if any."""
    import configparser

    pytest_ini = directory / "pytest.ini"
    if pytest_ini.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(pytest_ini, encoding="utf-8")
        return dict(parser["pytest"]) if parser.has_section("pytest") else {}
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        try:
            import tomllib
        except ImportError:  # Python 3.10
            tomllib = None  # type: ignore[assignment]
        if tomllib is not None:
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (ValueError, OSError):
                data = {}
            options = data.get("tool", {}).get("pytest", {}).get("ini_options")
            if options is not None:
                return {k: str(v) for k, v in options.items()}
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        path = directory / name
        if path.is_file():
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(path, encoding="utf-8")
            if parser.has_section(section):
                return dict(parser[section])
    return None


def find_project_settings(start: Path, config_override: str | None = None) -> ProjectSettings:
    """Read ``anyint_config`` and ``anyint_cassette_dir`` the way pytest would find them from ``start``."""
    rootdir, values = start, {}
    for directory in (start, *start.parents):
        found = _ini_sections(directory)
        if found is not None:
            rootdir, values = directory, found
            break
    config = Path(config_override) if config_override else rootdir / values.get("anyint_config", "anyint.yaml")
    cassettes = rootdir / values.get("anyint_cassette_dir", "cassettes")
    return ProjectSettings(rootdir, config, cassettes)


# --------------------------------------------------------------------------- unused cassettes


class CollectionFailed(Exception):
    """pytest could not collect the suite, so which cassettes are in use is unknown."""


def expected_cassettes(settings: ProjectSettings, pytest_args: Sequence[str] = ()) -> set[Path]:
    """Every cassette a collected route case maps to, asking pytest itself (``--collect-only``)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "cassettes.json"
        command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly",
                   f"--anyint-list-cassettes={listing}", *pytest_args]
        done = subprocess.run(command, cwd=settings.rootdir, capture_output=True, text=True)
        if done.returncode not in (0, 5) or not listing.is_file():
            tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
            raise CollectionFailed(f"collecting the tests failed ({' '.join(command[2:5])} …): {tail[0]}")
        data = json.loads(listing.read_text(encoding="utf-8"))
    return {Path(p).resolve() for p in data["cassettes"]}


def unused_cassettes(directory: Path, settings: ProjectSettings, pytest_args: Sequence[str] = ()) -> list[Path]:
    """Cassettes under ``directory`` that no collected test case maps to (the Models API's aside)."""
    expected = expected_cassettes(settings, pytest_args)
    found = []
    for path in iter_cassettes(directory):
        if "_models" in path.relative_to(directory).parts:
            continue
        if path.resolve() not in expected:
            found.append(path)
    return sorted(found)


def run_prune(args: argparse.Namespace) -> int:
    """Remove (or with --dry-run list) the cassettes no test case maps to any more."""
    settings = find_project_settings(Path.cwd(), getattr(args, "config", None))
    directory = Path(getattr(args, "dir", None) or settings.cassette_dir)
    if not directory.is_dir():
        print(f"pytest-anyint prune: {directory}: no such directory", file=sys.stderr)
        return 2
    try:
        unused = unused_cassettes(directory, settings)
    except CollectionFailed as exc:
        print(f"pytest-anyint prune: {exc}", file=sys.stderr)
        return 2
    for path in unused:
        if getattr(args, "dry_run", False):
            print(f"would remove {path}")
        else:
            path.unlink()
            print(f"removed {path}")
    print(f"{len(unused)} unused cassette(s)" + (" (dry run: nothing removed)" if getattr(args, "dry_run", False) and unused else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytest-anyint check",
                                     description="Validate every cassette under DIR against the contracts "
                                                 "and scan it for secrets.")
    add_arguments(parser)
    return run_check(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
