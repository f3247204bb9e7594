"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no fetches.

Written for a reviewer who has not read the docs: a verdict first, then one section per route
(its chain, a table per model, cost and latency charts, the routing evidence), then every
fallback, failed check, contract violation, drift finding and budget breach.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from .format import money, seconds
from .text import (
    BASELINE_HEADERS,
    baseline_cells,
    baseline_heading,
    breach_text,
    case_label,
    failed_tests,
    role_name,
    summary_line,
    trigger_text,
)

_CSS = """
:root { --ok: #15803d; --bad: #b91c1c; --warn: #a16207; --ink: #1f2937; --muted: #6b7280;
        --line: #e5e7eb; --primary: #2563eb; --fallback: #0d9488; --soft: #f9fafb; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0; background: #fff; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 6px; }
.meta, .muted { color: var(--muted); font-size: 13px; }
.verdict { border-radius: 8px; padding: 14px 18px; margin: 16px 0; font-size: 17px; font-weight: 600; }
.verdict.passed { background: #dcfce7; color: var(--ok); border: 1px solid #86efac; }
.verdict.failed { background: #fee2e2; color: var(--bad); border: 1px solid #fca5a5; }
.verdict span { display: block; font-weight: 400; font-size: 14px; color: var(--ink); margin-top: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(118px, 1fr)); gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: var(--soft); }
.card b { display: block; font-size: 20px; white-space: nowrap; }
.card.wide { grid-column: span 2; }
.card.bad b { color: var(--bad); } .card.warn b { color: var(--warn); }
.card small { color: var(--muted); }
details.guide { background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; }
details.guide summary { cursor: pointer; font-weight: 600; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 12px; font-size: 13px; }
td code { white-space: nowrap; }
td code.wrap { white-space: normal; overflow-wrap: anywhere; }
.small { font-size: 12px; }
details.list summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.failing td { background: #fef2f2; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.primary { background: #dbeafe; color: var(--primary); }
.badge.fallback { background: #ccfbf1; color: var(--fallback); }
.badge.pass { background: #dcfce7; color: var(--ok); } .badge.fail { background: #fee2e2; color: var(--bad); }
.badge.none { background: #f3f4f6; color: var(--muted); }
.chain { margin: 4px 0 10px; } .chain code { font-size: 13px; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
.chart { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; background: #fff; margin: 0; }
.chart h4 { margin: 0 0 4px; font-size: 13.5px; }
.evidence { border-left: 4px solid var(--primary); background: #eff6ff; padding: 8px 14px; margin: 10px 0;
            border-radius: 0 8px 8px 0; }
.flag { border-left: 4px solid var(--warn); background: #fefce8; padding: 8px 14px; margin: 8px 0;
        border-radius: 0 8px 8px 0; }
.problem { border-left: 4px solid var(--bad); background: #fef2f2; padding: 6px 14px; margin: 6px 0;
           border-radius: 0 8px 8px 0; font-family: ui-monospace, monospace; font-size: 13px; white-space: pre-wrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""

_GUIDE = """
<details class="guide" open><summary>How to read this page</summary>
<ul>
<li>Each <b>route</b> of <code>anyint.yaml</code> is a workload with a primary model and fallbacks. Route-marked
tests run once per model of the chain (<i>model cases</i>) and, with <code>faults=</code>, once per fault injected
on the primary (<i>fault cases</i>), to prove the app falls back when it should and stops when it should.</li>
<li><b>calls</b> are gateway requests; <b>retries</b> are repeats after a failed call to the same model and endpoint
(an SDK's own retries included); <b>faults</b> are failures the test injected on the wire.</li>
<li><b>Latency</b> and <b>tokens</b> come from recorded answers (cassettes), never from injected faults. <b>Cost</b> is an
estimate: tokens &times; the <code>pricing</code> of the model that answered (cached tokens at
<code>cached_input</code> when set).</li>
<li><b>Routing evidence</b> says which passing model the route's <code>optimize</code> label would favour, from what
this run recorded. It is evidence for your team's decision and is never applied by itself.</li>
</ul></details>
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _card(label: str, value: Any, note: str = "", level: str = "") -> str:
    """One number at a glance; ``level`` is "", "bad", "warn" or "wide" (css classes)."""
    return (
        f'<div class="card {level}" data-card="{_e(label)}"><small>{_e(label)}</small><b>{_e(value)}</b>'
        f"<small>{_e(note)}</small></div>"
    )


def _table(name: str, headers: Sequence[tuple[str, bool]], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    """A table; ``headers`` are (title, numeric); each row is (css class, already-escaped cells)."""
    head = "".join(f'<th class="num">{_e(h)}</th>' if num else f"<th>{_e(h)}</th>" for h, num in headers)
    body = []
    for css, cells in rows:
        tds = "".join(
            f'<td class="num">{c}</td>' if num else f"<td>{c}</td>" for c, (_, num) in zip(cells, headers)
        )
        body.append(f'<tr class="{css}">{tds}</tr>')
    return f'<div class="scroll"><table data-table="{_e(name)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _test_cell(nodeid: str) -> str:
    """A test as its name (wrapping) above its file, so long parametrized ids stay readable."""
    path, _, name = nodeid.rpartition("::")
    cell = f'<code class="wrap">{_e(name or nodeid)}</code>'
    return cell + (f'<br><span class="muted small">{_e(path)}</span>' if path else "")


def _fallback_section(events: Sequence[Mapping[str, Any]]) -> str:
    """Fallback paths (route, from, to: how often, on what) first, then every fallback."""
    if not events:
        return ""
    paths: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for event in events:
        paths.setdefault((event["route"], event["from_model"], event["to_model"]), []).append(event)
    summary_rows = []
    for (route, source, target), group in paths.items():
        triggers: list[str] = []
        for event in group:
            label = f"HTTP {event['trigger']}" if isinstance(event["trigger"], int) else str(event["trigger"])
            if label not in triggers:
                triggers.append(label)
        unexpected = sum(e["expected"] is False for e in group)
        failed = sum(e["outcome"] == "failed" for e in group)
        summary_rows.append(
            (
                "failing" if unexpected or failed else "",
                [
                    f"<code>{_e(route)}</code>",
                    f"<code>{_e(source)}</code> &rarr; <code>{_e(target)}</code>",
                    str(len(group)),
                    _e(", ".join(triggers)),
                    str(unexpected),
                    str(failed),
                ],
            )
        )
    summary = _table(
        "fallback-paths",
        [("route", False), ("fallback", False), ("times", True), ("triggers", False), ("against the policy", True), ("in failed tests", True)],
        summary_rows,
    )
    every = _table(
        "fallbacks",
        [("test", False), ("from", False), ("to", False), ("trigger", False), ("attempts on from", True), ("answer", True), ("test outcome", False)],
        [
            (
                "failing" if e["outcome"] == "failed" or e["expected"] is False else "",
                [
                    _test_cell(e["nodeid"]),
                    f"<code>{_e(e['from_model'])}</code>",
                    f"<code>{_e(e['to_model'])}</code>",
                    _e(trigger_text(e)),
                    str(e["attempts"]),
                    _e(e["to_status"] if e["to_status"] is not None else "-"),
                    _e(e["outcome"]),
                ],
            )
            for e in events
        ],
    )
    opened = " open" if len(events) <= 10 else ""
    return f'{summary}<details class="list"{opened}><summary>Every fallback ({len(events)})</summary>{every}</details>'


def _bar_chart(
    kind: str,
    route: str,
    title: str,
    rows: Sequence[Mapping[str, Any]],
    value: Callable[[Mapping[str, Any]], float | None],
    label: Callable[[Mapping[str, Any]], str],
    secondary: Callable[[Mapping[str, Any]], float | None] | None = None,
) -> str:
    """A horizontal bar per model, as inline SVG (a lighter bar behind for a secondary value, e.g. p95)."""
    name_w, bar_w, text_w, row_h, top = 170, 210, 160, 30, 6
    width, height = name_w + bar_w + text_w, top + row_h * max(1, len(rows)) + 4
    values = [v for r in rows for v in (value(r), secondary(r) if secondary else None) if v is not None]
    scale = max(values) if values else 0
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_e(title)}" data-chart="{_e(kind)}" data-route="{_e(route)}">',
        f"<title>{_e(title)}</title>",
    ]
    for index, row in enumerate(rows):
        y = top + index * row_h
        color = "#2563eb" if row["position"] == 0 else "#0d9488"
        parts.append(
            f'<text x="{name_w - 8}" y="{y + 18}" text-anchor="end" font-size="12.5" fill="#1f2937">'
            f"{_e(row['model'])}</text>"
        )
        main = value(row)
        extra = secondary(row) if secondary else None
        if main is None:
            parts.append(f'<text x="{name_w + 4}" y="{y + 18}" font-size="12" fill="#6b7280">no data</text>')
            continue
        if extra is not None and scale:
            w = max(2.0, bar_w * extra / scale)
            parts.append(
                f'<rect x="{name_w}" y="{y + 5}" width="{w:.1f}" height="18" rx="3" fill="{color}" opacity="0.28" '
                f'data-model="{_e(row["model"])}" data-series="secondary" data-value="{extra}"/>'
            )
        w = max(2.0, bar_w * main / scale) if scale else 2.0
        parts.append(
            f'<rect x="{name_w}" y="{y + 5}" width="{w:.1f}" height="18" rx="3" fill="{color}" '
            f'data-model="{_e(row["model"])}" data-series="main" data-value="{main}">'
            f"<title>{_e(row['model'])}: {_e(label(row))}</title></rect>"
        )
        end = name_w + bar_w * max(main, extra or 0) / scale if scale else name_w
        parts.append(f'<text x="{end + 6:.1f}" y="{y + 18}" font-size="12" fill="#1f2937">{_e(label(row))}</text>')
    parts.append("</svg>")
    return f'<figure class="chart"><h4>{_e(title)}</h4>{"".join(parts)}</figure>'


def _model_rows(rows: Sequence[Mapping[str, Any]], choice: str | None) -> str:
    headers = [
        ("model", False), ("tests", False), ("calls", True), ("retries", True), ("faults", True),
        ("violations", True), ("drift", True), ("latency p50 / p95", True),
        ("tokens in / out / cached", True), ("cost per call", True), ("cost", True), ("over budget", True),
    ]
    body = []
    for r in rows:
        tested = r["tests_passed"] + r["tests_failed"]
        if not tested:
            verdict = '<span class="badge none">not tested</span>'
        elif r["tests_failed"]:
            verdict = f'<span class="badge fail">{r["tests_failed"]} of {tested} failed</span>'
        else:
            verdict = f'<span class="badge pass">{r["tests_passed"]} passed</span>'
        if r["tests_skipped"]:
            verdict += f' <span class="muted">{r["tests_skipped"]} skipped</span>'
        role = "primary" if r["position"] == 0 else "fallback"
        model = f"<code>{_e(r['model'])}</code><br><span class=\"badge {role}\">{_e(role_name(r))}</span>"
        if r["model"] == choice:
            model += ' <span class="badge pass" title="routing evidence favours this model">evidence pick</span>'
        if r["served_models"]:
            model += f'<br><span class="muted">answered as {_e(", ".join(r["served_models"]))}</span>'
        violations = str(r["violations"]) + (f' <span class="muted">+{r["contract_warnings"]} warn</span>' if r["contract_warnings"] else "")
        drift = str(r["drift"]) + (f' <span class="muted">({r["drift_breaking"]} breaking)</span>' if r["drift_breaking"] else "")
        cells = [
            model,
            verdict,
            str(r["calls"]),
            str(r["retries"]),
            str(r["faults"]),
            violations,
            drift,
            _e(f"{seconds(r['latency_p50_s'])} / {seconds(r['latency_p95_s'])}")
            + (f'<br><span class="muted">TTFT {_e(seconds(r["ttft_p50_s"]))} / {_e(seconds(r["ttft_p95_s"]))}</span>'
               if r.get("ttft_p50_s") is not None else ""),
            f"{r['input_tokens']:,} / {r['output_tokens']:,} / {r['cached_tokens']:,}",
            _e(money(r["cost_per_call_usd"])) if r["priced"] else '<span class="muted">no price</span>',
            _e(money(r["cost_usd"])) if r["priced"] else '<span class="muted">no price</span>',
            str(r["budget_breaches"]),
        ]
        failing = r["tests_failed"] or r["violations"] or r["budget_breaches"] or r["drift_breaking"]
        body.append(("failing" if failing else "", cells))
    return _table("models", headers, body)


def _route_section(report: Mapping[str, Any], evidence: Mapping[str, Any]) -> str:
    label = evidence["route"]
    rows = [r for r in report["routes"] if r["route"] == label]
    chain = " &rarr; ".join(
        f'<code>{_e(m["model"])}</code>' + ("" if m["family"] == evidence["family"] else f' <span class="muted">({_e(m["family"])})</span>')
        for m in evidence["chain"]
    )
    optimize = evidence["optimize"] or "not set"
    budgets = evidence["budgets"]
    limits = []
    if budgets["max_cost_per_call_usd"] is not None:
        limits.append(f"max cost per call {money(budgets['max_cost_per_call_usd'])}")
    if budgets["max_latency_s"] is not None:
        limits.append(f"max latency {budgets['max_latency_s']:g} s")
    if budgets.get("max_ttft_s") is not None:
        limits.append(f"max time to first answer text {budgets['max_ttft_s']:g} s")
    out = [
        f'<section class="route" data-route="{_e(label)}">',
        f"<h2>Route <code>{_e(label)}</code> <span class=\"muted\">{_e(evidence['family'])} family &middot; optimise for "
        f"<b>{_e(optimize)}</b></span></h2>",
        f'<div class="chain">Chain: {chain}' + (f' <span class="muted">&middot; budgets: {_e(", ".join(limits))}</span>' if limits else "") + "</div>",
        _model_rows(rows, evidence["choice"]),
    ]
    faults = evidence["fault_tests"]
    if faults["passed"] or faults["failed"] or faults["skipped"]:
        state = "fail" if faults["failed"] else "pass"
        out.append(
            f'<p>Fault cases (faults injected on the primary): <span class="badge {state}">{faults["passed"]} passed, '
            f'{faults["failed"]} failed</span></p>'
        )
    out.append('<div class="charts">')
    out.append(
        _bar_chart(
            "cost", label, "Estimated cost per call (USD)", rows,
            lambda r: r["cost_per_call_usd"],
            lambda r: money(r["cost_per_call_usd"]),
        )
    )
    out.append(
        _bar_chart(
            "latency", label, "Recorded latency per call (dark: p50, light: p95)", rows,
            lambda r: r["latency_p50_s"],
            lambda r: f"p50 {seconds(r['latency_p50_s'])} · p95 {seconds(r['latency_p95_s'])}",
            secondary=lambda r: r["latency_p95_s"],
        )
    )
    out.append("</div>")
    out.append(
        f'<div class="evidence" data-evidence="{_e(label)}"><b>Routing evidence</b> '
        f'<span class="muted">(reported, never applied)</span>: {_e(evidence["reason"])}.</div>'
    )
    for flag in report["flags"]:
        if flag["route"] == label:
            out.append(f'<div class="flag" data-flag="{_e(flag["kind"])}"><b>Flag:</b> {_e(flag["message"])}</div>')
    out.append("</section>")
    return "\n".join(out)


def _section(title: str, name: str, content: str, empty: str) -> str:
    return f'<section data-section="{_e(name)}"><h2>{_e(title)}</h2>{content or f"<p class=empty>{_e(empty)}</p>"}</section>'


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page, as a string."""
    s = report["summary"]
    passed = s["status"] == "passed"
    verdict = "All route checks passed" if passed else "Route checks failed"
    cards = "".join(
        [
            _card("tests", f"{s['tests_passed']} / {s['tests_passed'] + s['tests_failed']}", "passed", "" if not s["tests_failed"] else "bad"),
            _card("gateway calls", s["calls"], f"{s['recorded_calls']} recorded, {s['faults']} injected, {s['retries']} retried"),
            _card("fallbacks", s["fallbacks"], "that happened"),
            _card("contract violations", s["violations"], f"+{s['contract_warnings']} warnings", "bad" if s["violations"] else ""),
            _card("drift", s["drift"], f"{s['drift_breaking']} breaking", "bad" if s["drift_breaking"] else ""),
            _card("over budget", s["budget_breaches"], "calls", "bad" if s["budget_breaches"] else ""),
            _card("flags", s["flags"], "routing concerns", "warn" if s["flags"] else ""),
            _card(
                "estimated cost", money(s["cost_usd"]),
                f"{s['input_tokens']:,} in / {s['output_tokens']:,} out / {s['cached_tokens']:,} cached tokens", "wide",
            ),
        ]
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>pytest-anyint report: {_e(verdict)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>pytest-anyint report</h1>",
        f'<div class="meta">Config <code>{_e(report["config"])}</code> &middot; mode <code>{_e(report["record_mode"])}</code> '
        f'&middot; {_e(report["generated_at"])} &middot; pytest-anyint {_e(report["plugin_version"])}</div>',
        f'<div class="verdict {"passed" if passed else "failed"}" data-status="{_e(s["status"])}">'
        f'{"&#10004;" if passed else "&#10008;"} {_e(verdict)}<span>{_e(summary_line(report))}</span></div>',
        f'<div class="cards">{cards}</div>',
        _GUIDE,
    ]
    failed = failed_tests(report)
    if failed:
        rows = [("failing", [_test_cell(t["nodeid"]), _e(case_label(t))]) for t in failed]
        parts.append(_section("Failed tests", "failed-tests", _table("failed-tests", [("test", False), ("case", False)], rows), ""))
    if report["problems"]:
        items = "".join(f'<div class="problem"><b>{_e(p["nodeid"])}</b>\n{_e(p["message"])}</div>' for p in report["problems"])
        parts.append(_section("Failed checks", "problems", items, ""))
    if not report["evidence"]:
        parts.append('<p class="empty">No route-marked test ran in this session.</p>')
    for evidence in report["evidence"]:
        parts.append(_route_section(report, evidence))
    parts.append(_section("Fallbacks that happened", "fallbacks", _fallback_section(report["fallbacks"]), "No fallback happened in this run."))
    violations = _table(
        "violations",
        [("test", False), ("model", False), ("severity", False), ("cassette / interaction / pointer", False), ("message", False)],
        [
            (
                "failing" if v["severity"] == "error" else "",
                [
                    _test_cell(v["nodeid"]),
                    f"<code>{_e(v['model'])}</code>",
                    _e(v["severity"]),
                    _e(" ".join(str(v[k]) for k in ("cassette", "interaction", "pointer") if v.get(k) is not None) or "-"),
                    _e(v["message"]),
                ],
            )
            for v in report["violations"]
        ],
    ) if report["violations"] else ""
    parts.append(_section("Contract violations", "violations", violations, "Every recorded answer matched its contract."))
    drift = _table(
        "drift",
        [("test", False), ("model", False), ("breaking", False), ("change", False)],
        [
            (
                "failing" if d["breaking"] else "",
                [_test_cell(d["nodeid"]), f"<code>{_e(d['model'])}</code>", "yes" if d["breaking"] else "no", _e(d["message"])],
            )
            for d in report["drift"]
        ],
    ) if report["drift"] else ""
    parts.append(_section("Drift", "drift", drift, "No response shape changed (drift is compared when cassettes are re-recorded)."))
    breaches = "".join(
        f'<div class="problem">{_e(b["nodeid"])}: {_e(breach_text(b))}</div>' for b in report["budget_breaches"]
    )
    parts.append(_section("Calls over budget", "budget", breaches, "No recorded call went over its route's budget."))
    section = report.get("baseline")
    if section:
        rows = [("failing" if r["regressed"] else "", [_e(c) for c in baseline_cells(r)]) for r in section["rows"]]
        table = _table("baseline", [(h, i > 1) for i, h in enumerate(BASELINE_HEADERS)], rows) if rows else ""
        items = "".join(f'<div class="problem">{_e(r["message"])}</div>' for r in section["regressions"])
        notes = "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in section["notes"]) + "</ul>" if section["notes"] else ""
        parts.append(_section(f"Against the {baseline_heading(section)}", "baseline", table + items + notes, ""))
    if report["notes"]:
        parts.append(_section("Notes", "notes", "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in report["notes"]) + "</ul>", ""))
    parts.append(
        f'<footer>JSON report format version {_e(report["version"])} &middot; rendered by pytest-anyint. '
        "This page is self-contained: no scripts, no external resources.</footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
