"""Reports: what the run proved per route and model, as numbers a team can act on.

One function, :func:`build_report`, turns the session's case results into the versioned JSON
document of ``docs/reports.md`` (schema: ``schemas/report.schema.json``). Every other output — the
terminal table, Markdown, the HTML page and ``pytest-anyint report`` — is rendered from that
document alone, so a JSON report re-rendered later reads exactly like the run that wrote it.

Also here: call budgets (``max_cost_per_call_usd``, ``max_latency_s``), the hand-over of results
from xdist workers to the controller, and the exit status of a run whose checks failed. Plain
Python; nothing here imports pytest.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from ..text import utc_stamp
from .format import money, seconds  # noqa: F401 - re-exported: the renderers' helpers

REPORT_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "report.schema.json"
#: Calls whose numbers are real: answered from a cassette or the network, never injected faults.
RECORDED_SOURCES = ("cassette", "network")
#: What each ``optimize`` label asks the routing evidence to pick.
CRITERIA = {"cost": "cost", "latency": "latency", "reliability": "reliability"}


# --------------------------------------------------------------------------- budgets


def _label(call: Any) -> int | str:
    """What a failed call failed with: the injected fault, else the HTTP status."""
    if call.fault is not None:
        return call.fault
    return call.status if call.status is not None else "error"


def call_breaches(route: Any, calls: Sequence[Any]) -> list[dict[str, Any]]:
    """The recorded calls of one case that exceed the route's per-call budgets (faults never count)."""
    found: list[dict[str, Any]] = []
    max_cost = getattr(route, "max_cost_per_call_usd", None)
    max_latency = getattr(route, "max_latency_s", None)
    if max_cost is None and max_latency is None:
        return found
    for number, call in enumerate(calls, 1):
        if call.source not in RECORDED_SOURCES:
            continue
        where = {"model": call.model, "call": number, "endpoint": f"{call.method} {call.endpoint}"}
        if max_cost is not None and call.cost_usd is not None and call.cost_usd > max_cost:
            found.append({**where, "kind": "cost", "value": call.cost_usd, "limit": max_cost})
        if max_latency is not None and call.latency_s is not None and call.latency_s > max_latency:
            found.append({**where, "kind": "latency", "value": call.latency_s, "limit": max_latency})
    return found


def budget_problems(route: Any, calls: list[Any], config_path: Path) -> list[str]:
    """Recorded calls over the route's max_cost_per_call_usd or max_latency_s, one line each."""
    problems = []
    breaches = call_breaches(route, calls)
    shown = _display_path(config_path) if breaches else ""  # resolving paths costs syscalls per case
    for breach in breaches:
        if breach["kind"] == "cost":
            what = f"cost {money(breach['value'])}, over max_cost_per_call_usd {money(breach['limit'])}"
        else:
            what = f"took {seconds(breach['value'])} (recorded), over max_latency_s {breach['limit']:g} s"
        problems.append(
            f"route {route.label!r}: {breach['model']} call {breach['call']} ({breach['endpoint']}) {what} "
            f"set in {shown}"
        )
    return problems


def _display_path(path: Path | str | None) -> str:
    if path is None:
        return "anyint.yaml"
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


# --------------------------------------------------------------------------- formatting helpers


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile: a recorded value, the same whatever order the values came in."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _round(value: float | None, digits: int = 10) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------- run state


@dataclass
class ReportState:
    """What the report needs beyond the case results: pytest's final outcome per test, files written."""

    #: nodeid -> "passed" | "failed" | "skipped", from every phase's report (xfail counts as failed).
    outcomes: dict[str, str] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    exit_note: str | None = None
    report: dict[str, Any] | None = None


def state(session: Any) -> ReportState:
    current = getattr(session, "report", None)
    if not isinstance(current, ReportState):
        current = ReportState()
        session.report = current
    return current


def note_outcome(session: Any, report: Any) -> None:
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


def _outcome(result: Any, outcomes: Mapping[str, str]) -> str:
    found = outcomes.get(result.nodeid)
    if found is not None:
        return found
    if getattr(result, "problems", None):
        return "failed"
    return {True: "passed", False: "failed"}.get(result.passed, "skipped")


# --------------------------------------------------------------------------- xdist hand-over


_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a violation, a drift finding or anything else a case carries."""
    fields = None if isinstance(value, type) else getattr(value, "__dict__", None)
    if fields is not None and is_dataclass(value) and all(type(v) in _SCALARS for v in fields.values()):
        return dict(fields)  # a flat record (every Call): as is, without asdict's deep copy and a JSON round trip
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    elif hasattr(value, "to_dict"):
        value = value.to_dict()
    elif not isinstance(value, (dict, list, tuple, str, int, float, bool, type(None))):
        value = {"message": str(value)}
    return json.loads(json.dumps(value, default=str))


def to_wire(session: Any) -> dict[str, Any]:
    """A worker's results as plain data for ``config.workeroutput`` (execnet sends basic types only)."""
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
                "outcome": _outcome(result, outcomes),
                "problems": list(getattr(result, "problems", []) or []),
                "calls": [_plain(call) for call in result.calls],
                "violations": [_plain(v) for v in result.violations],
                "drift": [_plain(d) for d in result.drift],
            }
        )
    return {"version": REPORT_VERSION, "cases": cases}


def merge_worker(session: Any, wire: Mapping[str, Any]) -> None:
    """On the controller: add one worker's results (``pytest_testnodedown``)."""
    from ..calls import Call
    from ..results import CaseResult

    outcomes = state(session).outcomes
    for case in wire.get("cases", []):
        result = CaseResult(
            nodeid=case["nodeid"],
            route=case["route"],
            model=case["model"],
            fault=case["fault"],
            calls=[Call(**call) for call in case["calls"]],
            passed=case["passed"],
            violations=list(case["violations"]),
            drift=list(case["drift"]),
        )
        result.problems = list(case["problems"])
        session.results.append(result)
        outcomes[case["nodeid"]] = case["outcome"]


# --------------------------------------------------------------------------- building the report


@dataclass
class _Row:
    route: str
    model: str
    position: int
    family: str
    optimize: str | None
    priced: bool
    tests: dict[str, int] = field(default_factory=lambda: {"passed": 0, "failed": 0, "skipped": 0})
    calls: int = 0
    recorded: int = 0
    retries: int = 0
    unforced_retries: int = 0
    faults: int = 0
    errors: int = 0
    violations: int = 0
    contract_warnings: int = 0
    drift: int = 0
    drift_breaking: int = 0
    breaches: int = 0
    latencies: list[float] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    served: set[str] = field(default_factory=set)
    #: Model cases that passed without a single gateway call: they prove nothing about the model.
    no_call_passes: int = 0

    @property
    def passes(self) -> bool:
        return self.tests["failed"] == 0 and self.tests["passed"] > 0

    @property
    def cost_per_call(self) -> float | None:
        return math.fsum(self.costs) / len(self.costs) if self.costs else None

    def as_json(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "model": self.model,
            "role": "primary" if self.position == 0 else "fallback",
            "position": self.position,
            "family": self.family,
            "optimize": self.optimize,
            "tests_passed": self.tests["passed"],
            "tests_failed": self.tests["failed"],
            "tests_skipped": self.tests["skipped"],
            "passes_all_tests": self.passes,
            "calls": self.calls,
            "recorded_calls": self.recorded,
            "retries": self.retries,
            "faults": self.faults,
            "errors": self.errors,
            "violations": self.violations,
            "contract_warnings": self.contract_warnings,
            "drift": self.drift,
            "drift_breaking": self.drift_breaking,
            "budget_breaches": self.breaches,
            "latency_p50_s": _round(percentile(self.latencies, 50), 6),
            "latency_p95_s": _round(percentile(self.latencies, 95), 6),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "priced": self.priced,
            "cost_usd": _round(math.fsum(self.costs)) if self.costs else None,
            "cost_per_call_usd": _round(self.cost_per_call),
            "served_models": sorted(self.served),
        }


def _attributed(calls: Sequence[Any], case_model: str) -> list[str]:
    """The model each call belongs to: the one it names, else the last one named before it."""
    models, current = [], case_model
    for call in calls:
        if call.model:
            current = call.model
        models.append(current)
    return models


def _failed(call: Any) -> bool:
    return call.fault is not None or call.status is None or call.status >= 400


def _is_error(item: Mapping[str, Any]) -> bool:
    return item.get("severity", "error") == "error"


def _is_breaking(item: Mapping[str, Any]) -> bool:
    if "breaking" in item:
        return bool(item["breaking"])
    return str(item.get("kind", item.get("severity", "breaking"))).lower() in ("breaking", "error")


def _message(item: Mapping[str, Any]) -> str:
    if item.get("message"):
        return str(item["message"])
    return "; ".join(f"{key}={value}" for key, value in item.items() if value is not None)


def _violation_model(item: Mapping[str, Any], calls: Sequence[Any], models: Sequence[str], case_model: str) -> str:
    """Which model's answer broke the contract: the recorded call at the violation's interaction number."""
    if item.get("model"):
        return str(item["model"])
    interaction = item.get("interaction")
    recorded = [m for call, m in zip(calls, models) if call.source in RECORDED_SOURCES]
    if isinstance(interaction, int) and 1 <= interaction <= len(recorded):
        return recorded[interaction - 1]
    return case_model


def build_report(
    config: Any,
    results: Iterable[Any],
    outcomes: Mapping[str, str] | None = None,
    *,
    record_mode: str = "none",
    generated_at: str | None = None,
) -> dict[str, Any]:
    """The JSON report (format version 1) of a run: rows per route × model, fallbacks, evidence."""
    from .. import __version__

    outcomes = outcomes or {}
    cases = sorted(results, key=lambda r: (r.nodeid, str(r.fault)))
    rows: dict[tuple[str, str], _Row] = {}
    used_routes = {case.route for case in cases}
    for label, route in config.routes.items():
        if label not in used_routes:
            continue
        for position, member in enumerate(route.chain):
            rows[(label, member.model)] = _Row(
                label, member.model, position, member.family, route.optimize, member.model in config.pricing
            )

    tests, problems, fallbacks, violations, drift, breaches = [], [], [], [], [], []
    fault_tests: dict[str, dict[str, int]] = {}
    for case in cases:
        route = config.routes.get(case.route)
        if route is None:
            continue
        outcome = _outcome(case, outcomes)
        tests.append({"nodeid": case.nodeid, "route": case.route, "model": case.model, "fault": case.fault, "outcome": outcome,
                      **_verified(case.calls)})
        if case.fault is None:
            row = rows.get((case.route, case.model))
            if row is not None:
                if outcome == "passed" and not case.calls:
                    row.no_call_passes += 1  # never evidence that the model works
                else:
                    row.tests[outcome] += 1
        else:
            fault_tests.setdefault(case.route, {"passed": 0, "failed": 0, "skipped": 0})[outcome] += 1
        for message in getattr(case, "problems", None) or []:
            problems.append({"nodeid": case.nodeid, "route": case.route, "model": case.model, "message": message})
        calls = list(case.calls)
        models = _attributed(calls, case.model)
        _fold_calls(rows, case, calls, models)
        fallbacks += _fallbacks(route, case, calls, models, outcome)
        for breach in call_breaches(route, calls):
            breaches.append({"nodeid": case.nodeid, "route": case.route, **breach})
            row = rows.get((case.route, breach["model"] or case.model))
            if row is not None:
                row.breaches += 1
        for raw in case.violations:
            item = _plain(raw)
            item = item if isinstance(item, dict) else {"message": str(item)}
            model = _violation_model(item, calls, models, case.model)
            severity = item.get("severity", "error")
            violations.append({"nodeid": case.nodeid, "route": case.route, **item, "model": model, "severity": severity, "message": _message(item)})
            row = rows.get((case.route, model))
            if row is not None:
                if _is_error(item):
                    row.violations += 1
                else:
                    row.contract_warnings += 1
        for raw in case.drift:
            item = _plain(raw)
            item = item if isinstance(item, dict) else {"message": str(item)}
            breaking = _is_breaking(item)
            model = str(item.get("model") or case.model)
            drift.append({"nodeid": case.nodeid, "route": case.route, **item, "model": model, "breaking": breaking, "message": _message(item)})
            row = rows.get((case.route, model))
            if row is not None:
                row.drift += 1
                row.drift_breaking += int(breaking)

    row_list = sorted(rows.values(), key=lambda r: (list(config.routes).index(r.route), r.position))
    evidence, flags, notes = [], [], []
    for label, route in config.routes.items():
        if label not in used_routes:
            continue
        route_rows = [r for r in row_list if r.route == label]
        evidence.append(_evidence(route, route_rows, fault_tests.get(label)))
        flags += _flags(route, route_rows)
        notes += _notes(route, route_rows)
    notes += _config_warnings(config)

    json_rows = [r.as_json() for r in row_list]
    priced_costs = [r["cost_usd"] for r in json_rows if r["cost_usd"] is not None]
    total = lambda key: sum(r[key] for r in json_rows)  # noqa: E731
    summary = {
        "tests_passed": sum(t["outcome"] == "passed" for t in tests),
        "tests_failed": sum(t["outcome"] == "failed" for t in tests),
        "tests_skipped": sum(t["outcome"] == "skipped" for t in tests),
        "calls": total("calls"),
        "recorded_calls": total("recorded_calls"),
        "faults": total("faults"),
        "retries": total("retries"),
        "fallbacks": len(fallbacks),
        "violations": sum(_is_error(v) for v in violations),
        "contract_warnings": sum(not _is_error(v) for v in violations),
        "drift": len(drift),
        "drift_breaking": sum(d["breaking"] for d in drift),
        "budget_breaches": len(breaches),
        "flags": len(flags),
        "checks_failed": len({p["nodeid"] for p in problems}),
        "input_tokens": total("input_tokens"),
        "output_tokens": total("output_tokens"),
        "cached_tokens": total("cached_tokens"),
        "cost_usd": _round(math.fsum(priced_costs)) if priced_costs else None,
    }
    summary["status"] = "failed" if summary["tests_failed"] or summary["checks_failed"] else "passed"
    return {
        "version": REPORT_VERSION,
        "generated_at": generated_at or utc_stamp(),
        "plugin_version": __version__,
        "record_mode": record_mode,
        "config": _display_path(getattr(config, "path", None)),
        "summary": summary,
        "routes": json_rows,
        "evidence": evidence,
        "flags": flags,
        "fallbacks": fallbacks,
        "violations": violations,
        "drift": drift,
        "budget_breaches": breaches,
        "problems": problems,
        "tests": tests,
        "notes": notes,
    }


def _verified(calls: Iterable[Any]) -> dict[str, Any]:
    """``--anyint-record=verify``: how many of a test's calls the live gateway confirmed ({} otherwise)."""
    marks = [mark for mark in (getattr(call, "verified", None) for call in calls) if mark]
    if not marks:
        return {}
    return {"verified": {"verified": marks.count("verified"), "drift": marks.count("drift"),
                         "not_verified": marks.count("not verified")}}


def _fold_calls(rows: Mapping[tuple[str, str], _Row], case: Any, calls: Sequence[Any], models: Sequence[str]) -> None:
    last: dict[tuple[str, str, str], Any] = {}
    for call, model in zip(calls, models):
        row = rows.get((case.route, model))
        if row is None:  # a model outside the route: the interceptor refused it and failed the test
            continue
        row.calls += 1
        key = (model, call.method, call.endpoint)
        previous = last.get(key)
        if previous is not None and _failed(previous):
            row.retries += 1
            if previous.source != "fault":
                row.unforced_retries += 1
        last[key] = call
        if call.source == "fault":
            row.faults += 1
            continue
        if call.source not in RECORDED_SOURCES:
            continue
        row.recorded += 1
        if _failed(call):
            row.errors += 1
        if call.latency_s is not None:
            row.latencies.append(call.latency_s)
        row.input_tokens += call.input_tokens or 0
        row.output_tokens += call.output_tokens or 0
        row.cached_tokens += call.cached_tokens or 0
        if call.cost_usd is not None:
            row.costs.append(call.cost_usd)
        if call.served_model and call.served_model != model:
            row.served.add(call.served_model)


def _fallbacks(route: Any, case: Any, calls: Sequence[Any], models: Sequence[str], outcome: str) -> list[dict[str, Any]]:
    """Every switch to another model right after a failed call: a fallback that happened."""
    events = []
    attempts = 0
    last_named: Any = None  # calls naming no model (a task poll) never hide the failure before a switch
    for index, (call, model) in enumerate(zip(calls, models)):
        if index and model != models[index - 1]:
            previous = last_named
            if previous is not None and _failed(previous):
                trigger = _label(previous)
                events.append(
                    {
                        "nodeid": case.nodeid,
                        "route": case.route,
                        "from_model": models[index - 1],
                        "to_model": model,
                        "trigger": trigger,
                        "injected": previous.source == "fault",
                        "expected": route.policy.expects_fallback(trigger) if trigger != "error" else None,
                        "attempts": attempts,
                        "to_status": call.status if call.fault is None else None,
                        "outcome": outcome,
                    }
                )
            attempts = 0
        if call.model:
            attempts += 1
            last_named = call
    return events


def _evidence(route: Any, rows: Sequence[_Row], fault_tests: Mapping[str, int] | None) -> dict[str, Any]:
    """Which passing model the route's ``optimize`` label would pick, from what the run recorded."""
    criterion = CRITERIA.get(route.optimize or "")
    primary = route.primary.model
    candidates = [
        {
            "model": r.model,
            "role": "primary" if r.position == 0 else "fallback",
            "passes": r.passes,
            "tests_passed": r.tests["passed"],
            "tests_failed": r.tests["failed"],
            "cost_per_call_usd": _round(r.cost_per_call),
            "latency_p50_s": _round(percentile(r.latencies, 50), 6),
            "latency_p95_s": _round(percentile(r.latencies, 95), 6),
            "failures": r.tests["failed"] + r.errors,
            "retries": r.unforced_retries,
        }
        for r in rows
    ]
    passing = [c for c in candidates if c["passes"]]
    no_call = {r.model: r.no_call_passes for r in rows if r.no_call_passes}
    untested = [c["model"] for c in candidates if c["tests_passed"] + c["tests_failed"] == 0 and c["model"] not in no_call]
    choice, reason = None, ""
    if not passing:
        reason = "no model of this route passed all of its tests in this run"
    elif criterion == "cost":
        known = [c for c in passing if c["cost_per_call_usd"] is not None]
        if known:
            best = min(known, key=lambda c: (c["cost_per_call_usd"], candidates.index(c)))
            choice = best["model"]
            reason = f"cheapest passing model: {choice} at {money(best['cost_per_call_usd'])} per call"
        unpriced = [c["model"] for c in passing if c["cost_per_call_usd"] is None]
        if unpriced:
            reason += ("; " if reason else "") + f"no cost known for {', '.join(unpriced)} (add it under pricing:)"
    elif criterion == "latency":
        known = [c for c in passing if c["latency_p50_s"] is not None]
        if known:
            best = min(known, key=lambda c: (c["latency_p50_s"], c["latency_p95_s"], candidates.index(c)))
            choice = best["model"]
            reason = f"fastest passing model: {choice} at p50 {seconds(best['latency_p50_s'])} per call"
        else:
            reason = "no recorded latency for the passing models"
    elif criterion == "reliability":
        best = min(passing, key=lambda c: (c["failures"], c["retries"], candidates.index(c)))
        choice = best["model"]
        reason = (
            f"most robust passing model: {choice} with {best['failures']} failed call(s) and "
            f"{best['retries']} retr{'y' if best['retries'] == 1 else 'ies'} not caused by injected faults"
        )
    else:
        label = route.optimize or "no optimize label"
        reason = f"{label}: judged by the tests themselves; passing models: {', '.join(c['model'] for c in passing)}"
    if choice is not None:
        reason += "; matches the configured primary" if choice == primary else f"; the configured primary is {primary}"
    if untested:
        reason += f"; not tested per model in this run: {', '.join(untested)}"
    for model, count in no_call.items():
        cases = "1 passing case made" if count == 1 else f"{count} passing cases made"
        reason += f"; {model}: {cases} no gateway call; not counted as evidence"
    return {
        "route": route.label,
        "family": route.family,
        "optimize": route.optimize,
        "criterion": criterion,
        "primary": primary,
        "chain": [
            {"model": m.model, "family": m.family, "role": "primary" if i == 0 else "fallback"}
            for i, m in enumerate(route.chain)
        ],
        "budgets": {"max_cost_per_call_usd": route.max_cost_per_call_usd, "max_latency_s": route.max_latency_s},
        "fault_tests": dict(fault_tests or {"passed": 0, "failed": 0, "skipped": 0}),
        "candidates": candidates,
        "choice": choice,
        "reason": reason,
    }


def _flags(route: Any, rows: Sequence[_Row]) -> list[dict[str, Any]]:
    """A cost route whose fallback costs more than its primary; a latency route whose fallback is slower."""
    flags: list[dict[str, Any]] = []
    primary = next((r for r in rows if r.position == 0), None)
    if primary is None:
        return flags
    for row in rows:
        if row.position == 0:
            continue
        if route.optimize == "cost" and row.cost_per_call is not None and primary.cost_per_call is not None:
            if row.cost_per_call > primary.cost_per_call:
                flags.append(
                    {
                        "route": route.label,
                        "kind": "cost",
                        "model": row.model,
                        "primary": primary.model,
                        "value": _round(row.cost_per_call),
                        "primary_value": _round(primary.cost_per_call),
                        "message": f"route {route.label!r} optimises for cost, but fallback {row.model} costs "
                        f"{money(row.cost_per_call)} per call, more than primary {primary.model} "
                        f"({money(primary.cost_per_call)})",
                    }
                )
        if route.optimize == "latency" and row.latencies and primary.latencies:
            mine, theirs = percentile(row.latencies, 50), percentile(primary.latencies, 50)
            if mine is not None and theirs is not None and mine > theirs:
                flags.append(
                    {
                        "route": route.label,
                        "kind": "latency",
                        "model": row.model,
                        "primary": primary.model,
                        "value": mine,
                        "primary_value": theirs,
                        "message": f"route {route.label!r} optimises for latency, but fallback {row.model} is "
                        f"slower (p50 {seconds(mine)}) than primary {primary.model} (p50 {seconds(theirs)})",
                    }
                )
    return flags


def _config_warnings(config: Any) -> list[str]:
    """What ``pytest-anyint check`` warns about the config (a cross-family fallback), for the run too."""
    warnings = getattr(config, "warnings", None)
    if warnings is None:
        return []
    path = getattr(config, "path", None)
    shown = _display_path(path) if path is not None else None
    return [w.replace(str(path), shown, 1) if shown and w.startswith(str(path)) else w for w in warnings()]


def _notes(route: Any, rows: Sequence[_Row]) -> list[str]:
    notes = []
    unpriced = [r.model for r in rows if not r.priced and r.recorded]
    if unpriced and route.max_cost_per_call_usd is not None:
        notes.append(
            f"route {route.label!r}: no pricing for {', '.join(unpriced)}, so max_cost_per_call_usd was not checked "
            f"for it; add it under pricing: in anyint.yaml"
        )
    elif unpriced and route.optimize == "cost":
        notes.append(f"route {route.label!r} optimises for cost, but there is no pricing for {', '.join(unpriced)}")
    untested = [
        r.model for r in rows if not r.tests["passed"] + r.tests["failed"] + r.tests["skipped"] + r.no_call_passes
    ]
    if untested:
        notes.append(
            f"route {route.label!r}: no test ran {', '.join(untested)} on its own; add @pytest.mark.route("
            f"{route.label!r}) to a test so every model of the chain is proven"
        )
    return notes


# --------------------------------------------------------------------------- validation


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_report(document: Any) -> list[str]:
    """Problems of a report document against the shipped schema, one line each (empty: valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(f"{where}: {error.message}")
    return problems


# --------------------------------------------------------------------------- the pytest session


def session_report(session: Any) -> dict[str, Any]:
    current = state(session)
    if current.report is None:
        current.report = build_report(
            session.config, session.results, current.outcomes, record_mode=session.options.record_mode
        )
    return current.report


def terminal_summary(session: Any, terminalreporter: Any) -> None:
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


def finish_session(session: Any, pytest_session: Any) -> None:
    """Write the requested report files; on an xdist worker, hand the results to the controller."""
    config = pytest_session.config
    if hasattr(config, "workerinput"):  # an xdist worker: the controller reports for everyone
        config.workeroutput["anyint"] = to_wire(session)
        return
    current = state(session)
    failed_checks = sorted({r.nodeid for r in session.results if getattr(r, "problems", None)})
    if failed_checks and int(pytest_session.exitstatus) == 0:
        pytest_session.exitstatus = 1  # pytest.ExitCode.TESTS_FAILED; e.g. a check in an xfail test
        current.exit_note = (
            f"anyint: exit status 1: contract, drift, budget or policy checks failed in {len(failed_checks)} "
            f"test(s) although pytest counted none as failed (first: {failed_checks[0]})"
        )
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


def _write(current: ReportState, target: str, text: str) -> None:
    """Write a report through a temporary file; a path that cannot take it is one line, no leftover."""
    path = Path(target)
    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        try:
            temporary.unlink()
        except OSError:
            pass
        why = "it is a folder" if path.is_dir() else (exc.strerror or str(exc))
        sys.stderr.write(f"anyint: no report written to {target}: {why}; expected a file path\n")
        return
    current.written.append(str(path))


# --------------------------------------------------------------------------- pytest-anyint report


def run_report(args: Any) -> int:
    """``pytest-anyint report REPORT.json --format markdown|html [-o FILE]``: 0 rendered, 2 bad input."""
    source = Path(args.json_report)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        sys.stderr.write(f"pytest-anyint report: {source}: no such file (write one with pytest --anyint-report={source})\n")
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"pytest-anyint report: {source}: cannot read: {exc}\n")
        return 2
    except ValueError as exc:
        sys.stderr.write(f"pytest-anyint report: {source}: not JSON: {exc}\n")
        return 2
    version = document.get("version") if isinstance(document, dict) else None
    if version != REPORT_VERSION:
        sys.stderr.write(
            f"pytest-anyint report: {source}: report format version {version!r} is not supported; "
            f"this pytest-anyint reads version {REPORT_VERSION}\n"
        )
        return 2
    problems = validate_report(document)
    if problems:
        sys.stderr.write(f"pytest-anyint report: {source}: not a valid report: {problems[0]}\n")
        return 2
    if args.format == "html":
        from .html import render_html

        text = render_html(document)
    else:
        from .text import render_markdown

        text = render_markdown(document)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
