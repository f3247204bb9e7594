"""The ``pytest-anyint`` command: check, prune, drift, models, emulate, report.

Each subcommand's engine lives in its own module; this file only parses arguments.
Exit codes: 0 success, 1 problems found (violations, secrets, breaking drift, unknown models),
2 usage or input errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import __version__


def _run_check(args: argparse.Namespace) -> int:
    from .commands.check import run_check

    return run_check(args)


def _run_prune(args: argparse.Namespace) -> int:
    from .commands.prune import run_prune

    return run_prune(args)


def _run_drift(args: argparse.Namespace) -> int:
    from .commands.drift import run_drift

    return run_drift(args)


def _run_models(args: argparse.Namespace) -> int:
    from .commands.models import run_models

    return run_models(args)


def _run_emulate(args: argparse.Namespace) -> int:
    from .commands.emulate import run_emulate

    return run_emulate(args)


def _run_report(args: argparse.Namespace) -> int:
    from .commands.report import run_report

    return run_report(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-anyint",
        description="Contract-test the models behind your AnyInt gateway routes.",
        epilog="Exit codes: 0 ok, 1 problems found, 2 usage or input error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                help="run pytest-anyint COMMAND --help for its options")

    check = sub.add_parser(
        "check",
        help="validate cassettes against the contracts, scan them for secrets and lint anyint.yaml",
        description="Validate every cassette under DIR against the contracts, scan for secrets "
        "(also the value of the configured key variable when set), lint anyint.yaml.",
    )
    from .commands.check import add_arguments

    add_arguments(check)
    check.set_defaults(func=_run_check)

    prune = sub.add_parser(
        "prune",
        help="list (and with --yes delete) cassettes that no test of the project maps to any more",
        description="List the cassettes no test maps to any more, collecting the tests with pytest from the "
        "rootdir (not only testpaths) or from --tests; delete them only with --yes. Only cassettes carrying "
        "pytest-anyint's metadata are ever deleted, never those of a test file that exists but was not "
        "collected, and nothing at all when a module fails to collect or is skipped.",
    )
    from .commands.prune import add_arguments as add_prune_arguments

    add_prune_arguments(prune)
    prune.set_defaults(func=_run_prune)

    drift = sub.add_parser(
        "drift",
        help="compare the response shapes of two cassette trees",
        description="Compare cassette trees offline: OLD_DIR NEW_DIR, or --git REV against the working tree.",
    )
    drift.add_argument("old", nargs="?", metavar="OLD_DIR", help="old cassette directory")
    drift.add_argument("new", nargs="?", metavar="NEW_DIR", help="new cassette directory")
    drift.add_argument("--git", metavar="REV", help="compare the working tree's cassettes with those at REV")
    drift.add_argument("--dir", default=None, metavar="DIR",
                       help="cassette directory in the working tree, with --git (default: anyint_cassette_dir of "
                       "the pytest configuration, else cassettes under the rootdir)")
    drift.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                       help="report format (default: text)")
    drift.add_argument("--output", "-o", default=None, metavar="FILE", help="write the report to a file as well")
    drift.set_defaults(func=_run_drift)

    models = sub.add_parser(
        "models",
        help="check that every configured model is listed by the gateway",
        description="Check every model of anyint.yaml against the gateway's Models API: offline from the "
        "recorded lists in <cassette dir>/_models/, or live with --record.",
    )
    from .commands.models import add_arguments as add_models_arguments

    add_models_arguments(models)
    models.set_defaults(func=_run_models)

    emulate = sub.add_parser(
        "emulate",
        help="run the gateway emulator on loopback",
        description="Run the bundled gateway emulator in the foreground until Ctrl-C (see docs/emulator.md).",
    )
    from .commands.emulate import add_arguments as add_emulate_arguments

    add_emulate_arguments(emulate)
    emulate.set_defaults(func=_run_emulate)

    report = sub.add_parser("report", help="render a JSON report (--anyint-report) as Markdown or HTML")
    report.add_argument("json_report", metavar="REPORT.json", help="a report written by pytest --anyint-report=PATH")
    report.add_argument("--format", choices=("markdown", "html"), default="markdown",
                        help="output format (default: markdown)")
    report.add_argument("--output", "-o", default=None, help="file to write (default: standard output)")
    report.set_defaults(func=_run_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
