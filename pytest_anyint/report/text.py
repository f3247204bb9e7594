"""The report as text: the terminal summary and Markdown (for PRs and ``$GITHUB_STEP_SUMMARY``).

Both render the JSON report document of :mod:`pytest_anyint.report`, never the live session, so
``pytest-anyint report run.json`` prints what the run printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..text import md_cell
from .format import money, percent_text, seconds, share_text

#: Column header, and how to read one cell from a row of ``report["routes"]``.
_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("model", lambda r: r["model"]),
    ("role", lambda r: "primary" if r["position"] == 0 else f"fallback{r['position']}"),
    ("tests ok/fail", lambda r: f"{r['tests_passed']}/{r['tests_failed']}" + (f" ({r['tests_skipped']} skip)" if r["tests_skipped"] else "")),
    ("calls", lambda r: str(r["calls"])),
    ("retries", lambda r: str(r["retries"])),
    ("faults", lambda r: str(r["faults"])),
    ("violations", lambda r: str(r["violations"]) + (f" (+{r['contract_warnings']} warn)" if r["contract_warnings"] else "")),
    ("drift", lambda r: str(r["drift"]) + (f" ({r['drift_breaking']} breaking)" if r["drift_breaking"] else "")),
    ("p50", lambda r: seconds(r["latency_p50_s"])),
    ("p95", lambda r: seconds(r["latency_p95_s"])),
    ("tokens in/out", lambda r: f"{r['input_tokens']}/{r['output_tokens']}"),
    ("cached", lambda r: str(r["cached_tokens"])),
    ("cost/call", lambda r: money(r["cost_per_call_usd"]) if r["priced"] else "no price"),
    ("cost", lambda r: money(r["cost_usd"]) if r["priced"] else "no price"),
    ("over budget", lambda r: str(r["budget_breaches"])),
)


#: Shown after p95 for a route whose streamed calls have a recorded time to the first answer text.
_TTFT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("TTFT p50", lambda r: seconds(r.get("ttft_p50_s"))),
    ("TTFT p95", lambda r: seconds(r.get("ttft_p95_s"))),
)


def columns(rows: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, Any], ...]:
    """The table's columns for one route's rows: TTFT only where a streamed call recorded one."""
    if not any(r.get("ttft_p50_s") is not None for r in rows):
        return _COLUMNS
    at = next(i for i, (header, _) in enumerate(_COLUMNS) if header == "p95") + 1
    return _COLUMNS[:at] + _TTFT_COLUMNS + _COLUMNS[at:]


def role_name(row: Mapping[str, Any]) -> str:
    return "primary" if row["position"] == 0 else f"fallback{row['position']}"


def trigger_text(event: Mapping[str, Any]) -> str:
    trigger = event["trigger"]
    what = f"HTTP {trigger}" if isinstance(trigger, int) else str(trigger)
    how = "injected" if event["injected"] else "recorded"
    policy = {True: "policy: fall back", False: "policy: must NOT fall back", None: "not in the policy"}[event["expected"]]
    return f"{what} ({how}; {policy})"


def fallback_text(event: Mapping[str, Any]) -> str:
    attempts = event["attempts"]
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    answered = f", which answered {event['to_status']}" if event.get("to_status") is not None else ""
    return f"{event['from_model']} -> {event['to_model']} on {trigger_text(event)}{tries}{answered}"


def route_heading(evidence: Mapping[str, Any]) -> str:
    chain = " -> ".join(m["model"] for m in evidence["chain"])
    optimize = evidence["optimize"] or "not set"
    return f"route {evidence['route']} ({evidence['family']}, optimize: {optimize}): {chain}"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def summary_line(report: Mapping[str, Any]) -> str:
    s = report["summary"]
    parts = [
        f"{s['tests_passed']} route tests passed",
        f"{s['tests_failed']} failed",
        f"{plural(s['calls'], 'gateway call')} ({plural(s['faults'], 'injected fault')}, "
        f"{plural(s['retries'], 'retry', 'retries')})",
        plural(s["fallbacks"], "fallback"),
        plural(s["violations"], "contract violation"),
        plural(s["drift"], "drift finding"),
        f"{plural(s['budget_breaches'], 'call')} over budget",
        f"estimated cost {money(s['cost_usd'])}",
    ]
    if s["checks_failed"]:
        parts.insert(2, f"{plural(s['checks_failed'], 'test')} with failed checks")
    return ", ".join(parts)


def failed_tests(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t for t in report["tests"] if t["outcome"] == "failed"]


def baseline_cells(row: Mapping[str, Any]) -> list[str]:
    """One baseline row as text cells: route, model, cost per call, p95 latency, passes (old → new (change))."""
    cost, latency, passes = row["cost_per_call_usd"], row["latency_p95_s"], row["passes_all_tests"]
    verdict = lambda ok: "passes" if ok else "fails"  # noqa: E731
    return [
        row["route"],
        row["model"],
        f"{money(cost['old'])} → {money(cost['new'])} ({percent_text(cost['change'])})",
        f"{seconds(latency['old'])} → {seconds(latency['new'])} ({percent_text(latency['change'])})",
        f"{verdict(passes['old'])} → {verdict(passes['new'])}",
    ]


BASELINE_HEADERS = ("route", "model", "cost/call old → new", "p95 old → new", "tests old → new")


def baseline_heading(section: Mapping[str, Any]) -> str:
    return f"baseline {section['source']} (tolerance {share_text(section['tolerance'])})"


def case_label(test: Mapping[str, Any]) -> str:
    return f"{test['route']} · fault {test['fault']} on {test['model']}" if test["fault"] is not None else f"{test['route']} · {test['model']}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    rows = [list(r) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


# --------------------------------------------------------------------------- terminal


def terminal_lines(report: Mapping[str, Any], *, verbose: bool = False) -> list[tuple[str, dict[str, bool]]]:
    """Lines for the terminal summary, each with its terminal markup (red, yellow, green, bold).

    Fallbacks are grouped by path unless ``verbose`` (``pytest -v``); a fallback against the
    policy or in a failed test is always listed on its own line.
    """
    lines: list[tuple[str, dict[str, bool]]] = []
    plain: dict[str, bool] = {}
    for evidence in report["evidence"]:
        rows = [r for r in report["routes"] if r["route"] == evidence["route"]]
        lines.append((route_heading(evidence), {"bold": True}))
        shown = columns(rows)
        for text in _table([h for h, _ in shown], ([cell(r) for _, cell in shown] for r in rows)):
            lines.append(("  " + text, plain))
        faults = evidence["fault_tests"]
        if faults["passed"] or faults["failed"]:
            lines.append((f"  fault cases: {faults['passed']} passed, {faults['failed']} failed", plain))
        lines.append((f"  routing evidence (reported, never applied): {evidence['reason']}", plain))
        for flag in report["flags"]:
            if flag["route"] == evidence["route"]:
                lines.append((f"  FLAG: {flag['message']}", {"yellow": True}))
        lines.append(("", plain))
    if report["fallbacks"]:
        lines.append((f"fallbacks that happened ({len(report['fallbacks'])}):", {"bold": True}))
        grouped: dict[tuple[str, str], list[str]] = {}
        for event in report["fallbacks"]:
            against = event["expected"] is False or event["outcome"] == "failed"
            if verbose or against:
                lines.append((f"  {event['nodeid']}: {fallback_text(event)}", {"red": True} if against else plain))
            else:
                grouped.setdefault((event["from_model"], event["to_model"]), []).append(trigger_text(event))
        for (source, target), triggers in grouped.items():
            kinds = ", ".join(dict.fromkeys(triggers))
            lines.append((f"  {source} -> {target}: {plural(len(triggers), 'time')}, on {kinds}", plain))
        if grouped:
            lines.append(("  (pytest -v lists every fallback with its test)", plain))
    if report["budget_breaches"]:
        lines.append((f"calls over budget ({len(report['budget_breaches'])}):", {"bold": True, "red": True}))
        for breach in report["budget_breaches"]:
            lines.append((f"  {breach['nodeid']}: {breach_text(breach)}", {"red": True}))
    section = report.get("baseline")
    if section:
        lines.append((f"anyint {baseline_heading(section)}:", {"bold": True}))
        for text in _table(BASELINE_HEADERS, (baseline_cells(r) for r in section["rows"])):
            lines.append(("  " + text, plain))
        for regression in section["regressions"]:
            lines.append((f"  REGRESSION: {regression['message']}", {"red": True}))
        for note in section["notes"]:
            lines.append((f"  note: {note}", {"yellow": True}))
    for note in report["notes"]:
        lines.append((f"note: {note}", {"yellow": True}))
    status = report["summary"]["status"]
    lines.append((f"anyint: {summary_line(report)}", {"green": status == "passed", "red": status != "passed", "bold": True}))
    return lines


def breach_text(breach: Mapping[str, Any]) -> str:
    if breach["kind"] == "cost":
        what = f"cost {money(breach['value'])} > max_cost_per_call_usd {money(breach['limit'])}"
    elif breach["kind"] == "ttft":
        what = f"first answer text after {seconds(breach['value'])} > max_ttft_s {breach['limit']:g} s"
    else:
        what = f"took {seconds(breach['value'])} > max_latency_s {breach['limit']:g} s"
    return f"{breach['model']} call {breach['call']} ({breach['endpoint']}): {what}"


# --------------------------------------------------------------------------- Markdown


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as GitHub-flavoured Markdown: verdict, a table per route, evidence, fallbacks, findings."""
    s = report["summary"]
    verdict = "✅ all route checks passed" if s["status"] == "passed" else "❌ route checks failed"
    out = [
        "## pytest-anyint report",
        "",
        f"**{verdict}** — {summary_line(report)}.",
        "",
        f"Config `{report['config']}` · mode `{report['record_mode']}` · pytest-anyint {report['plugin_version']} · "
        f"{report['generated_at']} · costs are estimates: recorded tokens × `pricing` in the config.",
        "",
    ]
    if failed_tests(report):
        out += ["### Failed tests", ""]
        out += [f"- `{t['nodeid']}` ({md_cell(case_label(t))})" for t in failed_tests(report)]
        out.append("")
    if report["problems"]:
        out += ["### Failed checks", ""]
        out += [f"- `{p['nodeid']}`: {md_cell(p['message'])}" for p in report["problems"]]
        out.append("")
    for evidence in report["evidence"]:
        rows = [r for r in report["routes"] if r["route"] == evidence["route"]]
        out += [f"### Route `{evidence['route']}`", ""]
        chain = " → ".join(f"`{m['model']}`" for m in evidence["chain"])
        out += [f"{evidence['family']} family · optimise for **{evidence['optimize'] or 'not set'}** · chain {chain}", ""]
        shown = columns(rows)
        out += _md_table([h for h, _ in shown], ([cell(r) for _, cell in shown] for r in rows))
        out.append("")
        faults = evidence["fault_tests"]
        if faults["passed"] or faults["failed"]:
            out += [f"Fault cases: {faults['passed']} passed, {faults['failed']} failed.", ""]
        out += [f"**Routing evidence** (reported, never applied): {md_cell(evidence['reason'])}.", ""]
        for flag in report["flags"]:
            if flag["route"] == evidence["route"]:
                out += [f"> ⚠️ {md_cell(flag['message'])}", ""]
        served = [f"`{r['model']}` answered as {', '.join(f'`{m}`' for m in r['served_models'])}" for r in rows if r["served_models"]]
        if served:
            out += ["Model versions the provider echoed (shown, not priced): " + "; ".join(served) + ".", ""]
    if report["fallbacks"]:
        out += ["### Fallbacks that happened", ""]
        out += _md_table(
            ["test", "from", "to", "trigger", "attempts on from", "outcome"],
            (
                [f"`{e['nodeid']}`", e["from_model"], e["to_model"], trigger_text(e), e["attempts"], e["outcome"]]
                for e in report["fallbacks"]
            ),
        )
        out.append("")
    if report["violations"]:
        out += ["### Contract violations", ""]
        out += _md_table(
            ["test", "model", "severity", "where", "message"],
            ([f"`{v['nodeid']}`", v["model"], v["severity"], _where(v), v["message"]] for v in report["violations"]),
        )
        out.append("")
    if report["drift"]:
        out += ["### Drift", ""]
        out += _md_table(
            ["test", "model", "breaking", "message"],
            ([f"`{d['nodeid']}`", d["model"], "yes" if d["breaking"] else "no", d["message"]] for d in report["drift"]),
        )
        out.append("")
    if report["budget_breaches"]:
        out += ["### Calls over budget", ""]
        out += [f"- `{b['nodeid']}`: {md_cell(breach_text(b))}" for b in report["budget_breaches"]]
        out.append("")
    section = report.get("baseline")
    if section:
        out += [f"### Against the {md_cell(baseline_heading(section))}", ""]
        out += _md_table(list(BASELINE_HEADERS), (baseline_cells(r) for r in section["rows"]))
        out.append("")
        out += [f"- ❌ {md_cell(r['message'])}" for r in section["regressions"]]
        out += [f"- {md_cell(n)}" for n in section["notes"]]
        if section["regressions"] or section["notes"]:
            out.append("")
    if report["notes"]:
        out += ["### Notes", ""]
        out += [f"- {md_cell(n)}" for n in report["notes"]]
        out.append("")
    return "\n".join(out)


def _where(item: Mapping[str, Any]) -> str:
    parts = [str(item[k]) for k in ("cassette",) if item.get(k)]
    if item.get("interaction") is not None:
        parts.append(f"interaction {item['interaction']}")
    if item.get("pointer"):
        parts.append(str(item["pointer"]))
    return " ".join(parts) or "-"
