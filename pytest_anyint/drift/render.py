"""Drift reports as text: the terminal listing, the Markdown table for a pull request, JSON.

Rendered from a ``DriftReport`` alone; the same change in many cassettes (a gateway-wide new field)
is one Markdown row, not hundreds.
"""

from __future__ import annotations

import json
from typing import Any

from ..text import md_cell
from .findings import DriftFinding
from .trees import DriftReport

# --------------------------------------------------------------------------- rendering


_MARKDOWN_DETAIL_LIMIT = 300


def render_markdown(report: DriftReport) -> str:
    lines = ["## Contract drift", ""]
    verdict = (
        f"**{len(report.breaking)} breaking**, {len(report.additive)} additive change(s)"
        if report.findings
        else "No shape changes"
    )
    lines.append(
        f"{verdict} in {report.compared} cassette(s) compared ({report.unchanged} byte-identical), "
        f"{report.old_label} → {report.new_label}."
    )
    if report.findings:
        lines += [
            "",
            "| Kind | Test | Model | Interaction | JSON path | Old | New |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        # The same change in many cassettes (a gateway-wide new field) is one row, not hundreds.
        groups: dict[tuple[Any, ...], list[DriftFinding]] = {}
        for f in sorted(report.findings, key=lambda f: (not f.breaking, f.cassette, f.interaction, f.path)):
            groups.setdefault((f.kind, f.interaction, f.request, f.path, f.old, f.new), []).append(f)
        for (_, number, request, path, old, new), members in groups.items():
            first = members[0]
            kind = "**breaking**" if first.breaking else "additive"
            test = f"`{md_cell(first.test)}`" + (f" and {len(members) - 1} more" if len(members) > 1 else "")
            models = list(dict.fromkeys(m.model for m in members))
            model = ", ".join(f"`{md_cell(m)}`" for m in models[:3]) + (f" and {len(models) - 3} more" if len(models) > 3 else "")
            interaction = f"#{number} `{request}`" if request else f"#{number}"
            lines.append(f"| {kind} | {test} | {model} | {md_cell(interaction)} | `{md_cell(path)}` | `{md_cell(old)}` | `{md_cell(new)}` |")
        if len(groups) < len(report.findings):
            shown = report.findings[:_MARKDOWN_DETAIL_LIMIT]
            lines += ["", f"<details><summary>Every finding ({len(report.findings)})</summary>", ""]
            lines += [f"- {f.kind}: `{md_cell(f.test)}` (`{md_cell(f.model)}`) {md_cell(f.cassette)} #{f.interaction}: {md_cell(f.describe())}" for f in shown]
            if len(report.findings) > len(shown):
                lines.append(f"- … and {len(report.findings) - len(shown)} more (`--format json` lists all)")
            lines += ["", "</details>"]
    if report.errors:
        lines += ["", "### Unreadable cassettes", ""] + [f"- {md_cell(e)}" for e in report.errors]
    if report.notes:
        lines += ["", "<details><summary>Notes</summary>", ""] + [f"- {md_cell(n)}" for n in report.notes] + ["", "</details>"]
    return "\n".join(lines) + "\n"


def render_text(report: DriftReport) -> str:
    lines = []
    if report.findings:
        lines.append(
            f"{len(report.breaking)} breaking, {len(report.additive)} additive shape change(s) "
            f"({report.old_label} → {report.new_label}, {report.compared} cassette(s) compared)"
        )
        current = None
        for f in sorted(report.findings, key=lambda f: (f.cassette, f.interaction, not f.breaking, f.path)):
            if f.cassette != current:
                current = f.cassette
                lines.append(f"{f.cassette}")
                lines.append(f"  test {f.test}  model {f.model}")
            lines.append(f"  {f.kind.upper():9}#{f.interaction} {f.request}  {f.describe()}")
    else:
        lines.append(
            f"no shape changes ({report.old_label} → {report.new_label}, {report.compared} cassette(s) compared)"
        )
    for error in report.errors:
        lines.append(f"error: {error}")
    for note in report.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def render(report: DriftReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report)
