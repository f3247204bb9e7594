"""The report document: what the run proved per route and model, as numbers a team can act on.

One function, :func:`build_report`, turns case results into the versioned JSON document of
``docs/reports.md`` (schema: ``schemas/report.schema.json``). Every other output — the terminal
table, Markdown, the HTML page and ``pytest-anyint report`` — is rendered from that document alone,
so a JSON report re-rendered later reads exactly like the run that wrote it. Budgets live in
``budgets``, the pytest-facing outputs and the xdist hand-over in ``outputs``. Plain Python; nothing
here imports pytest or the session.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from ..calls import Call
from ..config import AnyIntConfig, RouteConfig
from ..results import CaseResult
from ..text import utc_stamp
from .budgets import RECORDED_SOURCES, call_breaches, display_path
from .format import money, seconds

REPORT_VERSION = 1
#: What each ``optimize`` label asks the routing evidence to pick.
CRITERIA = {"cost": "cost", "latency": "latency", "reliability": "reliability"}


def _label(call: Call) -> int | str:
    """What a failed call failed with: the injected fault, else the HTTP status."""
    if call.fault is not None:
        return call.fault
    return call.status if call.status is not None else "error"


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


def outcome_of(result: CaseResult, outcomes: Mapping[str, str]) -> str:
    """pytest's final outcome of a case when known, else what the plugin's own checks decided."""
    found = outcomes.get(result.nodeid)
    if found is not None:
        return found
    if result.problems:
        return "failed"
    if result.passed is None:
        return "skipped"
    return "passed" if result.passed else "failed"


# --------------------------------------------------------------------------- plain data


_SCALARS = (str, int, float, bool, type(None))


def plain(value: Any) -> Any:
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


# --------------------------------------------------------------------------- building the report


class _Row:
    """One model's working row of a route's table (a plain class: never compared or printed, and a
    dataclass's __init__ costs an exec at import on Python 3.11)."""

    def __init__(self, route: str, model: str, position: int, family: str, optimize: str | None, priced: bool) -> None:
        self.route = route
        self.model = model
        self.position = position
        self.family = family
        self.optimize = optimize
        self.priced = priced
        self.tests: dict[str, int] = {"passed": 0, "failed": 0, "skipped": 0}
        self.calls = 0
        self.recorded = 0
        self.retries = 0
        self.unforced_retries = 0
        self.faults = 0
        self.errors = 0
        self.violations = 0
        self.contract_warnings = 0
        self.drift = 0
        self.drift_breaking = 0
        self.breaches = 0
        self.latencies: list[float] = []
        #: Recorded times to the first answer text of streamed calls.
        self.ttfts: list[float] = []
        self.costs: list[float] = []
        self.input_tokens = 0
        self.output_tokens = 0
        self.cached_tokens = 0
        self.served: set[str] = set()
        #: Model cases that passed without a single gateway call: they prove nothing about the model.
        self.no_call_passes = 0

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
            "ttft_p50_s": _round(percentile(self.ttfts, 50), 6),
            "ttft_p95_s": _round(percentile(self.ttfts, 95), 6),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "priced": self.priced,
            "cost_usd": _round(math.fsum(self.costs)) if self.costs else None,
            "cost_per_call_usd": _round(self.cost_per_call),
            "served_models": sorted(self.served),
        }


def _attributed(calls: Sequence[Call], case_model: str) -> list[str]:
    """The model each call belongs to: the one it names, else the last one named before it."""
    models, current = [], case_model
    for call in calls:
        if call.model:
            current = call.model
        models.append(current)
    return models


def _failed(call: Call) -> bool:
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


def _violation_model(item: Mapping[str, Any], calls: Sequence[Call], models: Sequence[str], case_model: str) -> str:
    """Which model's answer broke the contract: the recorded call at the violation's interaction number."""
    if item.get("model"):
        return str(item["model"])
    interaction = item.get("interaction")
    recorded = [m for call, m in zip(calls, models) if call.source in RECORDED_SOURCES]
    if isinstance(interaction, int) and 1 <= interaction <= len(recorded):
        return recorded[interaction - 1]
    return case_model


def build_report(
    config: AnyIntConfig,
    results: Iterable[CaseResult],
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
        case_route = config.routes.get(case.route)
        if case_route is None:
            continue
        route = case_route
        outcome = outcome_of(case, outcomes)
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
        for message in case.problems:
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
            item = plain(raw)
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
        for finding in case.drift:
            item = plain(finding)
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
        "config": display_path(config.path),
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


def _verified(calls: Iterable[Call]) -> dict[str, dict[str, int]]:
    """``--anyint-record=verify``: how many of a test's calls the live gateway confirmed ({} otherwise)."""
    marks = [call.verified for call in calls if call.verified]
    if not marks:
        return {}
    return {"verified": {"verified": marks.count("verified"), "drift": marks.count("drift"),
                         "not_verified": marks.count("not verified")}}


def _fold_calls(rows: Mapping[tuple[str, str], _Row], case: CaseResult, calls: Sequence[Call], models: Sequence[str]) -> None:
    last: dict[tuple[str, str, str], Call] = {}
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
        if call.ttft_s is not None:
            row.ttfts.append(call.ttft_s)
        row.input_tokens += call.input_tokens or 0
        row.output_tokens += call.output_tokens or 0
        row.cached_tokens += call.cached_tokens or 0
        if call.cost_usd is not None:
            row.costs.append(call.cost_usd)
        if call.served_model and call.served_model != model:
            row.served.add(call.served_model)


def _fallbacks(
    route: RouteConfig, case: CaseResult, calls: Sequence[Call], models: Sequence[str], outcome: str
) -> list[dict[str, Any]]:
    """Every switch to another model right after a failed call: a fallback that happened."""
    events = []
    attempts = 0
    last_named: Call | None = None  # calls naming no model (a task poll) never hide the failure before a switch
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


def _evidence(route: RouteConfig, rows: Sequence[_Row], fault_tests: Mapping[str, int] | None) -> dict[str, Any]:
    """Which passing model the route's ``optimize`` label would pick, from what the run recorded."""
    criterion = CRITERIA.get(route.optimize or "")
    primary = route.primary.model
    candidates: list[dict[str, Any]] = [
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
        "budgets": {"max_cost_per_call_usd": route.max_cost_per_call_usd, "max_latency_s": route.max_latency_s,
                    "max_ttft_s": route.max_ttft_s},
        "fault_tests": dict(fault_tests or {"passed": 0, "failed": 0, "skipped": 0}),
        "candidates": candidates,
        "choice": choice,
        "reason": reason,
    }


def _flags(route: RouteConfig, rows: Sequence[_Row]) -> list[dict[str, Any]]:
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


def _config_warnings(config: AnyIntConfig) -> list[str]:
    """What ``pytest-anyint check`` warns about the config (a cross-family fallback), for the run too."""
    path = config.path
    shown = display_path(path) if path is not None else None
    return [w.replace(str(path), shown, 1) if shown and w.startswith(str(path)) else w for w in config.warnings()]


def _notes(route: RouteConfig, rows: Sequence[_Row]) -> list[str]:
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
    """The shipped report schema (its path resolved here, not at import: a replay never reads it)."""
    path = Path(__file__).resolve().parent.parent / "schemas" / "report.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


def validate_report(document: Any) -> list[str]:
    """Problems of a report document against the shipped schema, one line each (empty: valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(f"{where}: {error.message}")
    return problems
