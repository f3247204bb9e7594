"""``--anyint-list-cassettes=PATH``: what a ``--collect-only`` run tells ``prune`` and ``check --unused``.

A cassette is only provably orphaned when pytest collected its test file and no test of it maps
to the cassette. So the listing holds more than the collected tests' cassettes: the cassettes of
deselected tests (``-m``/``-k`` in ``addopts``), the module files whose collection succeeded, and
every module that was skipped or failed to collect, with the reason pytest gave.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest


class CassetteLister:
    """Registered as a plugin only when ``--anyint-list-cassettes`` is given."""

    def __init__(self, target: str, cassette_path: Callable[[Any, Any], Any]) -> None:
        self.target = target
        self.cassette_path = cassette_path
        self.deselected: list[Any] = []
        self.modules: dict[str, str] = {}  # nodeid -> file, every Module pytest made a node for
        self.outcomes: dict[str, str] = {}  # nodeid -> the outcome of its own collection
        self.skipped: list[dict[str, str]] = []
        self.errors: list[dict[str, str]] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self.outcomes[report.nodeid] = report.outcome
        for node in report.result or ():
            if isinstance(node, pytest.Module):
                self.modules[node.nodeid] = str(node.path)
        if report.skipped:
            self.skipped.append({"nodeid": report.nodeid or ".", "reason": _skip_reason(report.longrepr)})
        elif report.failed:
            self.errors.append({"nodeid": report.nodeid or ".", "error": error_line(str(report.longreprtext))})

    def pytest_deselected(self, items: list[Any]) -> None:
        self.deselected.extend(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        paths = []
        for item in [*session.items, *self.deselected]:
            callspec = getattr(item, "callspec", None)
            case = callspec.params.get("_anyint_case") if callspec is not None else None
            if case is not None:
                paths.append(str(self.cassette_path(item, case)))
        collected = sorted({path for nodeid, path in self.modules.items() if self.outcomes.get(nodeid) == "passed"})
        with open(self.target, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "rootdir": str(session.config.rootpath),
                    "cassettes": paths,
                    "collected_files": collected,
                    "skipped": self.skipped,
                    "errors": self.errors,
                },
                handle,
            )


def _skip_reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason
    return error_line(str(longrepr))


def error_line(text: str, limit: int = 300) -> str:
    """The line of a pytest error report that says what went wrong.

    pytest marks the exception with ``E`` lines; the last one is the exception itself
    (``ModuleNotFoundError: No module named 'x'``). A report without them (a ``pytest.fail``
    message, a usage error) says it on its first line. Warnings and summaries are never chosen.
    """
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    marked = [line[1:].strip() for line in lines if line.startswith("E ")]
    if marked:
        line = marked[-1]
    else:
        errors = [line for line in lines if line.startswith("ERROR:")]
        line = errors[0] if errors else (lines[0] if lines else "no output")
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
