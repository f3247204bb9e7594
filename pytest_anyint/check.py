"""``pytest-anyint check [DIR]``: every cassette under DIR against the contracts, and for secrets.

Made for CI and pre-commit: one line per problem (file, interaction, JSON pointer, rule), a key
never echoed, a corrupt file reported as one line rather than a traceback, and exit status 1 on
any problem. Files are read one at a time, so memory stays flat however many cassettes there are.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from .contracts import MODES, ContractError, ContractIndex, scan_secrets

CASSETTE_SUFFIXES = (".yaml", ".yml")
DEFAULT_KEY_ENV = "ANYINT_API_KEY"


class CassetteFormatError(ValueError):
    """A cassette body or interaction that cannot be read; the message is one short clause."""


def body_bytes(body: Any) -> bytes:
    """The bytes a stored body stands for: ``json:`` as canonical compact JSON, ``sse:`` events
    joined, ``string:`` as UTF-8, ``base64:`` decoded (plain strings, as vcrpy writes, too)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if not isinstance(body, Mapping) or len(body) != 1:
        raise CassetteFormatError("a body must have exactly one of json, sse, string or base64")
    ((form, value),) = body.items()
    if form == "json":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if form == "sse":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CassetteFormatError("an sse body must be a list of raw event strings")
        return "".join(value).encode("utf-8")
    if form == "string":
        if value is None:
            return b""
        if isinstance(value, bytes):
            return value
        if not isinstance(value, str):
            raise CassetteFormatError("a string body must be text")
        return value.encode("utf-8")
    if form == "base64":
        try:
            return base64.b64decode(value, validate=True)
        except (ValueError, TypeError):
            raise CassetteFormatError("a base64 body is not valid base64") from None
    raise CassetteFormatError(f"unknown body form {form!r}: expected json, sse, string or base64")


@dataclass
class CheckReport:
    """What ``check`` found: ``problems`` fail the run, ``warnings`` are shown but do not."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cassettes: int = 0
    interactions: int = 0


def iter_cassettes(directory: Path) -> Iterator[Path]:
    """Every ``*.yaml``/``*.yml`` under a directory, in a stable order, skipping hidden folders."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(CASSETTE_SUFFIXES) and not name.startswith("."):
                yield Path(root) / name


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            if isinstance(value, list):
                return str(value[0]) if value else None
            return None if value is None else str(value)
    return None


# --------------------------------------------------------------------------- fast YAML
#
# A cassette is mostly plain scalars; PyYAML's C parser is quick but its Python constructor and
# resolver cost ~0.35 ms per small cassette, most of the 5 s budget for 10,000 interactions. The
# same C parser with a memoised resolver and a direct constructor for plain maps, lists and
# strings halves that; anything unusual (merge keys, custom tags) goes the ordinary way.

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_FAST_LOADER: Any = None


def _fast_loader() -> Any:
    global _FAST_LOADER
    if _FAST_LOADER is None:
        import yaml
        from yaml.nodes import ScalarNode

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        cache: dict[str, str] = {}

        class Loader(base):  # type: ignore[misc, valid-type]
            def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
                # With implicit[0] (a plain scalar) the tag depends on the value alone.
                if kind is ScalarNode and implicit[0]:
                    tag = cache.get(value)
                    if tag is None:
                        tag = base.resolve(self, kind, value, implicit)
                        if len(cache) < 50_000:
                            cache[value] = tag
                    return tag
                return base.resolve(self, kind, value, implicit)

        _FAST_LOADER = Loader
    return _FAST_LOADER


def _builder(constructor: Any) -> Any:
    """A recursive constructor bound to one loader (plain maps, lists and strings built inline)."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    constructors = constructor.yaml_constructors
    fallback = constructor.construct_object

    def build(node: Any) -> Any:
        kind, tag = type(node), node.tag
        if kind is ScalarNode:
            if tag == _STR_TAG:
                return node.value
            construct = constructors.get(tag)
            return construct(constructor, node) if construct else fallback(node, deep=True)
        if kind is MappingNode and tag == _MAP_TAG:
            out = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    return fallback(node, deep=True)
                try:
                    out[build(key_node)] = build(value_node)
                except TypeError:  # an unhashable key: let PyYAML say so
                    return fallback(node, deep=True)
            return out
        if kind is SequenceNode and tag == _SEQ_TAG:
            return [build(item) for item in node.value]
        return fallback(node, deep=True)

    return build


def load_yaml(text: str) -> Any:
    """``yaml.load(text, CSafeLoader)``, about twice as fast on cassettes; same result, same errors."""
    loader = _fast_loader()(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _builder(loader)(node)
    finally:
        loader.dispose()


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"not valid YAML{where} (truncated or corrupt?): {problem}"


def check_file(path: Path, index: ContractIndex, *, display: str | None = None,
               known_secrets: Sequence[str] = (), key_env: str = DEFAULT_KEY_ENV,
               mode: str = "fail", report: CheckReport | None = None) -> CheckReport:
    """Check one cassette: secrets in its raw text, then every interaction against the contracts."""
    import yaml

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
        document = load_yaml(text)
    except yaml.YAMLError as exc:
        report.problems.append(f"{shown}: {_yaml_problem(exc)}")
        return report
    if not isinstance(document, Mapping) or not isinstance(document.get("interactions"), list):
        report.problems.append(f"{shown}: not a pytest-anyint cassette (expected a mapping with an 'interactions' list)")
        return report
    version = document.get("version", 1)
    if version != 1:
        report.problems.append(f"{shown}: cassette format version {version!r} is not supported (expected 1)")
        return report
    for number, interaction in enumerate(document["interactions"], 1):
        report.interactions += 1
        try:
            _check_interaction(interaction, number, index, shown, mode, report)
        except CassetteFormatError as exc:
            report.problems.append(f"{shown} interaction #{number}: {exc}")
    return report


def _check_interaction(interaction: Any, number: int, index: ContractIndex, shown: str, mode: str,
                       report: CheckReport) -> None:
    try:
        request, response = interaction["request"], interaction["response"]
        method, uri = str(request["method"]).upper(), str(request["uri"])
        status_field = response["status"]
        status = int(status_field["code"] if isinstance(status_field, Mapping) else status_field)
    except (KeyError, TypeError, ValueError):
        raise CassetteFormatError(
            "expected request (method, uri, body) and response (status, headers, body); "
            "this file may come from another tool"
        ) from None
    path = urllib.parse.urlsplit(uri).path or "/"
    if not index.is_published(method, path):
        report.problems.append(
            f"{shown} interaction #{number}: {method} {path} is not a route the gateway publishes; "
            f"closest published route: {index.closest_route(method, path)}"
        )
        return
    body = response.get("body") if isinstance(response, Mapping) else None
    content_type = _header(response.get("headers"), "content-type")
    if content_type is None and isinstance(body, Mapping) and "sse" in body:
        content_type = "text/event-stream"
    raw = body_bytes(body)
    for violation in index.validate(method=method, path=path, status=status, content_type=content_type, body=raw,
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
