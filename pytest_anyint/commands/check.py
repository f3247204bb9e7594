"""``pytest-anyint check [DIR]``: every cassette under DIR against the contracts, and for secrets.

Made for CI and pre-commit: one line per problem (file, interaction, JSON pointer, rule), a key
never echoed, a corrupt file reported as one line rather than a traceback, and exit status 1 on
any problem. Files are read one at a time, so memory stays flat however many cassettes there are.
"""

from __future__ import annotations

import argparse
import os
import sys
import types
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cassettes import CassetteError, header_value, is_cassette_name, parse_cassette_text, scan_secrets
from ..contracts import MODES, ContractError, ContractGate, ContractIndex, load_output_schema
from ..families import read_request
from ..settings import ProjectSettings, SettingsError, describe_error, find

if TYPE_CHECKING:
    from ..config import AnyIntConfig

DEFAULT_KEY_ENV = "ANYINT_API_KEY"


@dataclass
class CheckReport:
    """What ``check`` found: ``problems`` fail the run, ``warnings`` are shown but do not."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cassettes: int = 0
    interactions: int = 0


@dataclass(frozen=True)
class OutputSchema:
    """A route's ``output_schema``, loaded, and the path replay names it by."""

    schema: dict[str, Any]
    shown: str


def check_file(path: Path, index: ContractIndex, *, display: str | None = None,
               known_secrets: Sequence[str] = (), key_env: str = DEFAULT_KEY_ENV,
               mode: str = "fail", report: CheckReport | None = None,
               output_schemas: Mapping[str, OutputSchema] | None = None) -> CheckReport:
    """Check one cassette: secrets in its raw text, then every interaction against the contracts
    and, for a route with an ``output_schema``, every model answer against it.

    The cassette is read by the same parser replay uses and its answers go through the same
    contract gate, so ``check`` fails exactly the cassettes a replay fails (a corrupt or foreign
    file is one problem line, never a traceback).
    """
    report = report if report is not None else CheckReport()
    shown = display or str(path)
    report.cassettes += 1
    if path.is_dir():
        report.problems.append(f"{shown}: is a directory, not a cassette file (a cassette is one YAML file)")
        return report
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(f"{shown}: cannot be read: {describe_error(exc)}")
        return report
    for found in scan_secrets(text, known_secrets):
        found = found.replace("the configured key", f"the value of ${key_env}")
        report.problems.append(f"{shown}: secret: {found}")
    try:
        document = parse_cassette_text(text, source=shown)
    except CassetteError as exc:
        report.problems.append(str(exc))
        return report
    label = _route_of(document.get("metadata"), path, output_schemas or {})
    output = (output_schemas or {}).get(label) if label else None
    gate = ContractGate(index, mode, label or "", output.schema if output else None, output.shown if output else None)
    for number, interaction in enumerate(document["interactions"], 1):
        report.interactions += 1
        _check_interaction(interaction, number, gate, shown, report)
    for violation in gate.violations:
        (report.problems if violation.fails(mode) else report.warnings).append(violation.message)
    return report


def _route_of(metadata: Any, path: Path, routes: Mapping[str, OutputSchema]) -> str | None:
    """The route a cassette was recorded for: its metadata, else its folder (``<test>/<route>/<model>.yaml``)."""
    if isinstance(metadata, dict) and isinstance(metadata.get("route"), str):
        return metadata["route"]
    return path.parent.name if path.parent.name in routes else None


def _check_interaction(interaction: Mapping[str, Any], number: int, gate: ContractGate, shown: str,
                       report: CheckReport) -> None:
    request, response = interaction["request"], interaction["response"]
    method = request["method"].upper()
    path = urllib.parse.urlsplit(request["uri"]).path or "/"
    if not gate.index.is_published(method, path):
        report.problems.append(
            f"{shown} interaction #{number}: {method} {path} is not a route the gateway publishes; "
            f"closest published route: {gate.index.closest_route(method, path)}"
        )
        return
    facts = read_request(path, urllib.parse.urlsplit(request["uri"]).query, request.get("body"))
    # What the interceptor knows of the call when it checks a replayed answer.
    call = types.SimpleNamespace(model=facts.model, family=facts.family.name if facts.family else None)
    gate.check_response(call, method=method, path=path, status=response["status"]["code"],
                        content_type=header_value(response["headers"], "content-type"),
                        body=response["body"]["string"], cassette=shown, interaction=number)


def walk(directory: Path) -> Iterator[Path]:
    """Every cassette under ``directory`` (hidden folders skipped, as replay's), and every folder
    with a cassette's name, so a cassette path that is a directory is reported, not passed over."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            if is_cassette_name(name):
                yield Path(root) / name
        for name in sorted(files):
            if is_cassette_name(name):
                yield Path(root) / name


def check_dir(directory: Path | str, *, index: ContractIndex | None = None, contract_dirs: Sequence[Path] = (),
              key_env: str | None = DEFAULT_KEY_ENV, mode: str = "fail",
              output_schemas: Mapping[str, OutputSchema] | None = None) -> CheckReport:
    """Check every cassette under ``directory``; the key in ``$key_env`` (when set) counts as a secret."""
    directory = Path(directory)
    index = index if index is not None else ContractIndex.load(contract_dirs)
    known = [os.environ[key_env]] if key_env and os.environ.get(key_env) else []
    report = CheckReport()
    for path in walk(directory):
        check_file(path, index, known_secrets=known, key_env=key_env or DEFAULT_KEY_ENV, mode=mode, report=report,
                   output_schemas=output_schemas)
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``check`` subcommand's options (the CLI wires this parser)."""
    parser.add_argument("dir", nargs="?", default=None, metavar="DIR",
                        help="directory of cassettes (default: anyint_cassette_dir of the pytest configuration "
                             "found from here, else cassettes under the rootdir)")
    parser.add_argument("--config", default=None, metavar="PATH",
                        help="anyint.yaml to lint and take output_schema and the key variable from "
                             "(default: the one pytest would use from here, via the anyint_config ini option)")
    parser.add_argument("--unused", action="store_true",
                        help="also list cassettes that no test of the project maps to (runs pytest --collect-only "
                             "over the rootdir; exit 2 when a module fails to collect or is skipped)")
    parser.add_argument("--tests", action="append", default=[], metavar="PATH",
                        help="with --unused: collect only these test files or folders (repeatable)")
    parser.add_argument("--key-env", default=None, metavar="NAME",
                        help="environment variable holding the API key; its value is searched for too "
                             f"(default: gateway.api_key_env of anyint.yaml, else {DEFAULT_KEY_ENV})")
    parser.add_argument("--contracts-dir", action="append", default=[], metavar="DIR",
                        help="a user contracts directory with an index.yaml (repeatable; added to the "
                             "anyint_contracts_dir ini option's)")
    parser.add_argument("--contracts", choices=[m for m in MODES if m != "off"], default="fail",
                        help="fail: rule breaks fail, assumed rules and unknown values warn (default); "
                             "strict: assumed rules fail too; warn: report only")


def _output_schemas(config: AnyIntConfig, settings: ProjectSettings, problems: list[str]) -> dict[str, OutputSchema]:
    """Each route's output_schema, loaded once; a schema that cannot be loaded is one problem line."""
    schemas: dict[str, OutputSchema] = {}
    for route in config.routes.values():
        if route.output_schema is None:
            continue
        try:
            schema = load_output_schema(route.output_schema)
        except ContractError as exc:
            problems.append(str(exc))
            continue
        try:  # named as replay names it: relative to the rootdir
            shown = str(Path(route.output_schema).relative_to(settings.rootdir))
        except ValueError:
            shown = str(route.output_schema)
        schemas[route.label] = OutputSchema(schema, shown)
    return schemas


def _lint_config(args: argparse.Namespace, settings: ProjectSettings, problems: list[str],
                 warnings: list[str]) -> tuple[str, dict[str, OutputSchema]]:
    """Lint the project's anyint.yaml (when there is one, or ``--config`` names it) into ``problems``
    and ``warnings``; the key variable to scan for and each route's loaded output_schema."""
    key_env = getattr(args, "key_env", None) or DEFAULT_KEY_ENV
    if not (settings.config_path.exists() or getattr(args, "config", None)):
        return key_env, {}
    from ..config import ConfigError, load_config

    try:
        config = load_config(settings.config_path)
    except ConfigError as exc:
        problems.append(str(exc))
        return key_env, {}
    warnings += config.warnings()
    return getattr(args, "key_env", None) or config.api_key_env, _output_schemas(config, settings, problems)


def run_check(args: argparse.Namespace) -> int:
    """Print every problem, one per line, and return 0 (clean), 1 (problems) or 2 (usage error)."""
    try:
        settings = find(config_override=getattr(args, "config", None))
    except SettingsError as exc:
        print(f"pytest-anyint check: {exc}", file=sys.stderr)
        return 2
    # The anyint.yaml first: a broken one is reported even where no cassette was recorded yet.
    problems: list[str] = []
    warnings: list[str] = []
    key_env, schemas = _lint_config(args, settings, problems, warnings)
    directory = Path(getattr(args, "dir", None) or settings.shown(settings.cassette_dir))
    if not directory.is_dir():
        for line in problems:
            print(f"pytest-anyint check: {line}", file=sys.stderr)
        what = "is a file, not a directory of cassettes" if directory.exists() else "no such directory"
        print(f"pytest-anyint check: {settings.shown(directory)}: {what}{settings.elsewhere()}", file=sys.stderr)
        return 2
    mode = getattr(args, "contracts", None) or "fail"
    if mode not in MODES:
        print(f"pytest-anyint check: --contracts must be one of {', '.join(MODES)}", file=sys.stderr)
        return 2
    contract_dirs = [*settings.contracts_dirs, *(Path(d) for d in (getattr(args, "contracts_dir", None) or []))]
    try:
        index = ContractIndex.load(contract_dirs)
    except ContractError as exc:
        print(f"pytest-anyint check: {exc}", file=sys.stderr)
        return 2
    report = check_dir(directory, index=index, key_env=key_env, mode=mode, output_schemas=schemas)
    problems += report.problems
    warnings += report.warnings
    if getattr(args, "unused", False):
        from .prune import CollectionFailed, find_usage, prune_command

        try:
            usage = find_usage(directory, settings, getattr(args, "tests", None) or ())
        except CollectionFailed as exc:
            print(f"pytest-anyint check: {exc}", file=sys.stderr)
            return 2
        prune = prune_command(getattr(args, "dir", None), getattr(args, "config", None), getattr(args, "tests", None) or ())
        problems += [f"{settings.shown(path)}: unused: no test case maps to this cassette "
                     f"(list and delete with: {prune})" for path in usage.unused]
    for line in warnings:
        print(f"warning: {line}")
    for line in problems:
        print(line)
    verdict = f"{len(problems)} problem(s)" if problems else "no problems"
    extra = f", {len(warnings)} warning(s)" if warnings else ""
    print(f"checked {report.cassettes} cassette(s), {report.interactions} interaction(s): {verdict}{extra}")
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytest-anyint check",
                                     description="Validate every cassette under DIR against the contracts "
                                                 "and scan it for secrets.")
    add_arguments(parser)
    return run_check(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
