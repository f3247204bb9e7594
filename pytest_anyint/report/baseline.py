"""The baseline gate: this run's cost and latency per route × model against a previous report.

``--anyint-baseline=PATH`` names a JSON report an earlier run wrote with ``--anyint-report``. Per
route × model present in both, the run fails when the cost per call or the p95 latency grew by
more than ``--anyint-baseline-tolerance`` (default 20 %), or when a model that passed all of its
tests in the baseline fails one now. Costs come from the recorded tokens and today's ``pricing``
in anyint.yaml, so an edited price moves the cost even when the cassettes did not change.

The comparison is added to the report document (``baseline``), so the terminal, Markdown and
HTML reports show old, new and the change, and ``pytest-anyint report`` re-renders it later.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .build import REPORT_VERSION, validate_report
from .format import money, percent_text, seconds, share_text

DEFAULT_TOLERANCE = 0.20


class BaselineError(Exception):
    """A baseline report or tolerance that cannot be used (one line, the option and file named)."""


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline report and the tolerance it is held to."""

    source: str
    document: Mapping[str, Any]
    tolerance: float


def parse_tolerance(value: str | None) -> float:
    """``20%``, ``20`` or ``12.5 %`` as a fraction (0.2); None gives the default."""
    if value is None:
        return DEFAULT_TOLERANCE
    text = str(value).strip().removesuffix("%").strip()
    try:
        percent = float(text)
    except ValueError:
        percent = math.nan
    if not math.isfinite(percent) or percent < 0:
        raise BaselineError(
            f"--anyint-baseline-tolerance={value}: expected a percentage of 0 or more, such as 20% or 5"
        )
    return percent / 100


def load(path: str, tolerance: str | None = None) -> Baseline:
    """Read and check the baseline report; every problem is one :class:`BaselineError` line."""
    where = f"--anyint-baseline={path}"
    share = parse_tolerance(tolerance)
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(
            f"{where}: no such file (write one on the base branch with pytest --anyint-report={path})"
        ) from None
    except IsADirectoryError:
        raise BaselineError(f"{where}: is a folder; expected a JSON report written by --anyint-report") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{where}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except ValueError as exc:
        raise BaselineError(f"{where}: not JSON ({exc}); expected a report written by --anyint-report") from None
    version = document.get("version") if isinstance(document, dict) else None
    if version != REPORT_VERSION:
        raise BaselineError(
            f"{where}: report format version {version!r} is not supported; expected a report written by "
            f"--anyint-report (version {REPORT_VERSION})"
        )
    problems = validate_report(document)
    if problems:
        raise BaselineError(f"{where}: not a valid report: {problems[0]}")
    return Baseline(path, document, share)


def check_options(path: str | None, tolerance: str | None) -> str | None:
    """The one line that explains bad baseline options at startup, or None (xdist workers skip the file)."""
    try:
        if path is None:
            parse_tolerance(tolerance)
            return f"--anyint-baseline-tolerance={tolerance} needs --anyint-baseline=PATH (the report to compare with)"
        load(path, tolerance)
    except BaselineError as exc:
        return str(exc)
    return None


def _change(old: float | None, new: float | None) -> float | None:
    if old is None or new is None:
        return None
    if old == 0:
        return 0.0 if new == 0 else math.inf
    return (new - old) / old


def _json_change(change: float | None) -> float | str | None:
    """A change for JSON: a rounded fraction, ``"new"`` where the old value was 0."""
    if change is None:
        return None
    return "new" if math.isinf(change) else round(change, 6)


def compare(baseline: Baseline, report: Mapping[str, Any]) -> dict[str, Any]:
    """The ``baseline`` section of the report: per route × model old, new, change, and the regressions."""
    old_rows = {(r["route"], r["model"]): r for r in baseline.document.get("routes", [])}
    tolerance = baseline.tolerance
    shown_tolerance = share_text(tolerance)
    rows, regressions, notes = [], [], []
    for row in report["routes"]:
        key = (row["route"], row["model"])
        before = old_rows.pop(key, None)
        if before is None:
            notes.append(f"route {row['route']!r} model {row['model']}: not in the baseline; nothing to compare")
            continue
        cost = _change(before.get("cost_per_call_usd"), row["cost_per_call_usd"])
        latency = _change(before.get("latency_p95_s"), row["latency_p95_s"])
        failing = bool(before.get("passes_all_tests")) and row["tests_failed"] > 0
        found = []
        label = f"route {row['route']!r} model {row['model']}"
        if cost is not None and cost > tolerance:
            found.append(("cost", f"{label}: cost per call {money(before['cost_per_call_usd'])} → "
                                  f"{money(row['cost_per_call_usd'])} ({percent_text(cost)}), over the "
                                  f"{shown_tolerance} tolerance of the baseline {baseline.source}"))
        if latency is not None and latency > tolerance:
            found.append(("latency", f"{label}: p95 latency {seconds(before['latency_p95_s'])} → "
                                     f"{seconds(row['latency_p95_s'])} ({percent_text(latency)}), over the "
                                     f"{shown_tolerance} tolerance of the baseline {baseline.source}"))
        if failing:
            found.append(("failing", f"{label}: passed all of its tests in the baseline {baseline.source}, "
                                     f"fails {row['tests_failed']} now"))
        regressions += [{"route": row["route"], "model": row["model"], "kind": kind, "message": message}
                        for kind, message in found]
        rows.append({
            "route": row["route"],
            "model": row["model"],
            "cost_per_call_usd": {"old": before.get("cost_per_call_usd"), "new": row["cost_per_call_usd"],
                                  "change": _json_change(cost)},
            "latency_p95_s": {"old": before.get("latency_p95_s"), "new": row["latency_p95_s"],
                              "change": _json_change(latency)},
            "passes_all_tests": {"old": bool(before.get("passes_all_tests")), "new": row["passes_all_tests"]},
            "regressed": [kind for kind, _ in found],
        })
    for route, model in old_rows:
        notes.append(f"route {route!r} model {model}: in the baseline, not tested in this run")
    return {
        "source": baseline.source,
        "tolerance": tolerance,
        "generated_at": baseline.document.get("generated_at"),
        "rows": rows,
        "regressions": regressions,
        "notes": notes,
    }


def apply(baseline: Baseline, report: dict[str, Any]) -> list[dict[str, Any]]:
    """Add the comparison to ``report`` (a regression fails its summary); the regressions."""
    section = compare(baseline, report)
    report["baseline"] = section
    report["summary"]["baseline_regressions"] = len(section["regressions"])
    if section["regressions"]:
        report["summary"]["status"] = "failed"
    regressions: list[dict[str, Any]] = section["regressions"]
    return regressions
