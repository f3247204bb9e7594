"""What the report does inside a pytest run: outcomes, the xdist hand-over, the summary, the files.

The plugin calls these from its hooks: ``note_outcome`` folds pytest's reports into one outcome per
test, ``to_wire`` / ``merge_worker`` hand a worker's results to the xdist controller,
``terminal_summary`` prints the per route × model table and ``finish_session`` writes the
``--anyint-report``, ``--anyint-report-md`` and ``--anyint-html`` files. The run is read through
the small ``ReportedRun`` protocol, so this module never imports the session.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..calls import Call
from ..config import AnyIntConfig
from ..results import CaseResult
from ..text import write_atomic
from .build import REPORT_VERSION, build_report, outcome_of, plain

if TYPE_CHECKING:
    import pytest


# Protocols: for the type checker only (each costs a class build at import, and nothing reads them at run time).
if TYPE_CHECKING:
    class _RunOptions(Protocol):
        @property
        def record_mode(self) -> str: ...

    class ReportedRun(Protocol):
        """What the report reads of a run (the session has these): its config, options and results."""

        results: list[CaseResult]
        #: The report's own state, kept on the run (``state`` creates it on first use).
        report: ReportState | None

        @property
        def config(self) -> AnyIntConfig: ...

        @property
        def options(self) -> _RunOptions: ...


# --------------------------------------------------------------------------- run state


class ReportState:
    """What the report needs beyond the case results: pytest's final outcome per test, files written
    (a plain class: never compared or printed, and a dataclass's __init__ costs an exec at import)."""

    def __init__(self) -> None:
        #: nodeid -> "passed" | "failed" | "skipped", from every phase's report (xfail counts as failed).
        self.outcomes: dict[str, str] = {}
        self.written: list[str] = []
        self.exit_note: str | None = None
        self.report: dict[str, Any] | None = None


def state(session: ReportedRun) -> ReportState:
    """The report's state of this run, created on first use."""
    current = session.report
    if not isinstance(current, ReportState):
        current = ReportState()
        session.report = current
    return current


def note_outcome(session: ReportedRun, report: pytest.TestReport) -> None:
    """Fold one phase's test report into the test's outcome (``pytest_runtest_logreport``)."""
    outcomes = state(session).outcomes
    nodeid = report.nodeid
    if outcomes.get(nodeid) == "failed":
        return
    if report.failed:
        outcomes[nodeid] = "failed"
    elif getattr(report, "wasxfail", None) is not None and report.skipped:
        outcomes[nodeid] = "failed"  # an expected failure still failed: no model passes by xfail
    elif report.when == "call":
        outcomes[nodeid] = "skipped" if report.skipped else "passed"
    elif report.skipped:
        outcomes[nodeid] = "skipped"


# --------------------------------------------------------------------------- xdist hand-over


def to_wire(session: ReportedRun) -> dict[str, Any]:
    """A worker's results for ``config.workeroutput``, as one compact JSON text.

    execnet serializes nested data object by object in Python: for 600 cases that is about 25 ms on
    the worker and 20 ms on the controller, both after the last test, when nothing else runs. One
    string crosses in a copy, and the ``json`` module reads and writes it in C (about 7 ms both ways);
    JSON rather than ``marshal``, since an xdist worker may run another Python (``--tx ssh=...``).
    """
    outcomes = state(session).outcomes
    cases = []
    for result in session.results:
        cases.append(
            {
                "nodeid": result.nodeid,
                "route": result.route,
                "model": result.model,
                "fault": result.fault,
                "passed": result.passed,
                "outcome": outcome_of(result, outcomes),
                "problems": list(result.problems),
                "calls": [plain(call) for call in result.calls],
                "violations": [plain(v) for v in result.violations],
                "drift": [plain(d) for d in result.drift],
            }
        )
    return {"version": REPORT_VERSION, "cases_json": json.dumps(cases, separators=(",", ":"))}


def merge_worker(session: ReportedRun, wire: Mapping[str, Any]) -> None:
    """On the controller: add one worker's results (``pytest_testnodedown``)."""
    outcomes = state(session).outcomes
    for case in json.loads(wire.get("cases_json") or "[]"):
        result = CaseResult(
            nodeid=case["nodeid"],
            route=case["route"],
            model=case["model"],
            fault=case["fault"],
            calls=[Call(**call) for call in case["calls"]],
            passed=case["passed"],
            violations=list(case["violations"]),
            drift=list(case["drift"]),
            problems=list(case["problems"]),
        )
        session.results.append(result)
        outcomes[case["nodeid"]] = case["outcome"]


# --------------------------------------------------------------------------- the pytest session


def session_report(session: ReportedRun) -> dict[str, Any]:
    """The run's report document, built once and reused by the summary and every file."""
    current = state(session)
    if current.report is None:
        current.report = build_report(
            session.config, session.results, current.outcomes, record_mode=session.options.record_mode
        )
    return current.report


def terminal_summary(session: ReportedRun, terminalreporter: pytest.TerminalReporter) -> None:
    """The per route × model table at the end of the run."""
    if terminalreporter.verbosity < -1:
        return
    from .text import terminal_lines

    try:
        report = session_report(session)
    except Exception as exc:  # noqa: BLE001 - a summary must never turn a run into an internal error
        terminalreporter.write_line(f"anyint: no route summary: {exc}", red=True)
        return
    terminalreporter.write_sep("=", "anyint routes")
    for line, markup in terminal_lines(report, verbose=terminalreporter.verbosity > 0):
        terminalreporter.write_line(line, **markup)
    current = state(session)
    for path in current.written:
        terminalreporter.write_line(f"anyint report written: {path}")
    if current.exit_note:
        terminalreporter.write_line(current.exit_note, red=True, bold=True)


def finish_session(session: ReportedRun, pytest_session: pytest.Session) -> None:
    """Write the requested report files; on an xdist worker, hand the results to the controller."""
    config = pytest_session.config
    if hasattr(config, "workerinput"):  # an xdist worker: the controller reports for everyone
        output = getattr(config, "workeroutput", None)  # set by xdist on its workers
        if output is not None:
            output["anyint"] = to_wire(session)
        return
    current = state(session)
    failed_checks = sorted({r.nodeid for r in session.results if r.problems})
    if failed_checks and int(pytest_session.exitstatus) == 0:
        pytest_session.exitstatus = 1  # pytest.ExitCode.TESTS_FAILED; e.g. a check in an xfail test
        current.exit_note = (
            f"anyint: exit status 1: contract, drift, budget or policy checks failed in {len(failed_checks)} "
            f"test(s) although pytest counted none as failed (first: {failed_checks[0]})"
        )
    baseline = config.getoption("--anyint-baseline", None)
    if baseline:
        _baseline_gate(session, current, pytest_session, baseline, config.getoption("--anyint-baseline-tolerance", None))
    targets = {
        "json": config.getoption("--anyint-report"),
        "markdown": config.getoption("--anyint-report-md"),
        "html": config.getoption("--anyint-html"),
    }
    if not any(targets.values()):
        return
    try:
        report = session_report(session)
    except Exception as exc:  # a broken anyint.yaml already failed the run; never hide that with a traceback
        sys.stderr.write(f"anyint: no report written: {exc}\n")
        return
    if targets["json"]:
        _write(current, targets["json"], json.dumps(report, indent=2) + "\n")
    if targets["markdown"]:
        from .text import render_markdown

        markdown = render_markdown(report)
        _write(current, targets["markdown"], markdown)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(markdown + "\n")
    if targets["html"]:
        from .html import render_html

        _write(current, targets["html"], render_html(report))


def _baseline_gate(
    session: ReportedRun, current: ReportState, pytest_session: pytest.Session, path: str, tolerance: str | None
) -> None:
    """Compare the run with the baseline report; a regression fails the run (exit status 1)."""
    from .baseline import BaselineError, apply, load

    try:
        baseline = load(path, tolerance)
        report = session_report(session)
    except BaselineError as exc:  # checked at startup; the file changed during the run
        sys.stderr.write(f"anyint: no baseline comparison: {exc}\n")
        pytest_session.exitstatus = 1
        return
    except Exception as exc:  # a broken anyint.yaml already failed the run; never hide that with a traceback
        sys.stderr.write(f"anyint: no baseline comparison: {exc}\n")
        return
    regressions = apply(baseline, report)
    if not regressions:
        return
    if int(pytest_session.exitstatus) == 0:
        pytest_session.exitstatus = 1  # pytest.ExitCode.TESTS_FAILED
    note = (
        f"anyint: exit status 1: {len(regressions)} regression(s) against the baseline {path} "
        f"(first: {regressions[0]['message']})"
    )
    current.exit_note = f"{current.exit_note}\n{note}" if current.exit_note else note


def _write(current: ReportState, target: str, text: str) -> None:
    """Write a report through a temporary file; a path that cannot take it is one line, no leftover."""
    path = Path(target)
    try:
        write_atomic(path, text)
    except OSError as exc:
        why = "it is a folder" if path.is_dir() else (exc.strerror or str(exc))
        sys.stderr.write(f"anyint: no report written to {target}: {why}; expected a file path\n")
        return
    current.written.append(str(path))
