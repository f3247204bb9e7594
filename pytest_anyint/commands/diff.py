"""``pytest-anyint diff``: a reviewer's summary of a cassette change, for a pull request.

``diff --git REV [DIR]`` compares the working tree's cassettes with those committed at ``REV``;
``diff OLD_DIR NEW_DIR`` compares two folders. Per route × model it shows the cassettes and
interactions added or removed, status changes, breaking and additive shape changes, and the token,
cost and latency change, then every secret found in a new or changed cassette. Markdown by default
(a pull request comment, ``$GITHUB_STEP_SUMMARY``), ``--format json`` for tools.

Exit status 1 on breaking drift, a secret or an unreadable cassette; 2 on bad arguments; else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import ConfigError, Price, load_config
from ..drift.render import findings_table
from ..drift.review import Review, RouteModelChange, Side, review_trees
from ..drift.trees import DriftUsageError, read_git_tree, read_tree
from ..report.build import percentile
from ..report.format import money, seconds
from ..settings import SettingsError, find
from ..text import md_cell, write_atomic

DEFAULT_KEY_ENV = "ANYINT_API_KEY"
REVIEW_VERSION = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``diff`` subcommand's options (the CLI wires this parser)."""
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="OLD_DIR NEW_DIR; with --git, the cassette folder (default: anyint_cassette_dir of "
                             "the pytest configuration, else cassettes under the rootdir)")
    parser.add_argument("--git", metavar="REV", help="compare the working tree's cassettes with those committed at REV")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown",
                        help="output format (default: markdown)")
    parser.add_argument("--output", "-o", default=None, metavar="FILE", help="write the summary to a file as well")
    parser.add_argument("--config", default=None, metavar="PATH",
                        help="anyint.yaml whose pricing gives the costs (default: the one pytest would use from here)")
    parser.add_argument("--key-env", default=None, metavar="NAME",
                        help="environment variable holding the API key; its value is searched for too "
                             f"(default: gateway.api_key_env of anyint.yaml, else {DEFAULT_KEY_ENV})")


def run_diff(args: argparse.Namespace) -> int:
    """Print the summary (and write ``--output``); 1 on breaking drift, a secret or an unreadable cassette."""
    try:
        review = _review(args)
    except (DriftUsageError, SettingsError) as exc:
        print(f"pytest-anyint diff: {exc}", file=sys.stderr)
        return 2
    text = render_json(review) if args.format == "json" else render_markdown(review)
    sys.stdout.write(text)
    if args.output:
        target = Path(args.output)
        try:
            write_atomic(target, text)
        except OSError as exc:
            why = "it is a folder" if target.is_dir() else (exc.strerror or str(exc))
            print(f"pytest-anyint diff: cannot write {args.output}: {why}; expected a file path", file=sys.stderr)
            return 2
    return 1 if review.breaking or review.secrets or review.errors else 0


def _review(args: argparse.Namespace) -> Review:
    settings = find(config_override=args.config)
    pricing, key_env, config_note = _pricing(settings.config_path, explicit=bool(args.config))
    key_env = args.key_env or key_env
    known = [os.environ[key_env]] if os.environ.get(key_env) else []
    if args.git:
        if len(args.paths) > 1:
            raise DriftUsageError("with --git REV give at most one cassette folder, not two (or drop --git: OLD_DIR NEW_DIR)")
        directory = Path(args.paths[0]) if args.paths else Path(settings.shown(settings.cassette_dir))
        if not directory.is_dir():
            raise DriftUsageError(f"{directory}: no such cassette folder in the working tree{settings.elsewhere()}")
        old, new = read_git_tree(args.git, directory), read_tree(directory)
        labels = (args.git, "working tree")
        root = directory.as_posix()
    else:
        if len(args.paths) != 2:
            raise DriftUsageError("give OLD_DIR NEW_DIR, or --git REV [DIR] to compare the working tree with a revision")
        for name in args.paths:
            if not Path(name).is_dir():
                raise DriftUsageError(f"{name}: no such directory")
        old, new = read_tree(Path(args.paths[0])), read_tree(Path(args.paths[1]))
        labels = (args.paths[0], args.paths[1])
        root = Path(args.paths[1]).as_posix()
    review = review_trees(
        old, new, old_label=labels[0], new_label=labels[1], display_root=root, pricing=pricing, known_secrets=known
    )
    if config_note:
        review.notes.insert(0, config_note)
    return review


def _pricing(path: Path, *, explicit: bool) -> tuple[Mapping[str, Price], str, str | None]:
    """(pricing, key variable, a note when costs cannot be computed) from anyint.yaml."""
    if not path.is_file() and not explicit:
        return {}, DEFAULT_KEY_ENV, f"no {path.name} here, so no costs: give --config PATH for its pricing"
    try:
        config = load_config(path)
    except ConfigError as exc:
        if explicit:
            raise DriftUsageError(str(exc)) from None
        return {}, DEFAULT_KEY_ENV, f"costs not computed: {exc}"
    return config.pricing, config.api_key_env, None


# --------------------------------------------------------------------------- numbers


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _change(old: float | None, new: float | None) -> float | None:
    """The relative change from ``old`` to ``new`` (0.25 for +25 %), None when it has no meaning."""
    if old is None or new is None or old == 0:
        return None
    return (new - old) / old


def _side_json(side: Side) -> dict[str, Any]:
    return {
        "cassettes": side.cassettes,
        "interactions": side.interactions,
        "input_tokens": side.input_tokens,
        "output_tokens": side.output_tokens,
        "cached_tokens": side.cached_tokens,
        "cost_usd": round(sum(side.costs), 10) if side.costs else None,
        "cost_per_call_usd": _round(_mean(side.costs)),
        "unpriced_calls": side.unpriced,
        "latency_p50_s": percentile(side.latencies, 50),
        "latency_p95_s": percentile(side.latencies, 95),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 10)


def _row_json(row: RouteModelChange) -> dict[str, Any]:
    old, new = _side_json(row.old), _side_json(row.new)
    return {
        "route": row.route,
        "model": row.model,
        "cassettes": {"added": row.cassettes_added, "removed": row.cassettes_removed, "changed": row.cassettes_changed},
        "interactions": {"old": old["interactions"], "new": new["interactions"],
                         "added": row.interactions_added, "removed": row.interactions_removed},
        "status_changes": [
            {"cassette": f.cassette, "interaction": f.interaction, "request": f.request, "old": f.old, "new": f.new,
             "breaking": f.breaking}
            for f in row.status_changes
        ],
        "breaking": row.breaking,
        "additive": row.additive,
        "old": old,
        "new": new,
        "change": {
            "input_tokens": new["input_tokens"] - old["input_tokens"],
            "output_tokens": new["output_tokens"] - old["output_tokens"],
            "cost_per_call": _round(_change(old["cost_per_call_usd"], new["cost_per_call_usd"])),
            "latency_p95": _round(_change(old["latency_p95_s"], new["latency_p95_s"])),
        },
    }


def _rows(review: Review) -> list[RouteModelChange]:
    return [review.rows[key] for key in sorted(review.rows)]


def render_json(review: Review) -> str:
    document = {
        "version": REVIEW_VERSION,
        "old": review.old_label,
        "new": review.new_label,
        "compared": review.compared,
        "unchanged": review.unchanged,
        "breaking": len(review.breaking),
        "additive": len(review.additive),
        "routes": [_row_json(row) for row in _rows(review)],
        "findings": [f.to_dict() for f in review.findings],
        "secrets": list(review.secrets),
        "notes": list(review.notes),
        "errors": list(review.errors),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- Markdown


def _percent(change: float | None) -> str:
    return "" if change is None else f" ({change:+.0%})"


def _arrow(old: str, new: str, change: float | None = None) -> str:
    return old if old == new and not change else f"{old} → {new}{_percent(change)}"


def _cassettes_cell(row: RouteModelChange) -> str:
    parts = [f"{count} {what}" for count, what in
             ((row.cassettes_changed, "changed"), (row.cassettes_added, "new"), (row.cassettes_removed, "removed")) if count]
    return ", ".join(parts)


def _interactions_cell(row: RouteModelChange) -> str:
    text = _arrow(str(row.old.interactions), str(row.new.interactions))
    moved = [f"+{row.interactions_added}" if row.interactions_added else "",
             f"−{row.interactions_removed}" if row.interactions_removed else ""]
    moved = [m for m in moved if m]
    return text + (f" ({', '.join(moved)})" if moved else "")


def _status_cell(row: RouteModelChange) -> str:
    counts: dict[str, int] = {}
    for finding in row.status_changes:
        key = f"{finding.old} → {finding.new}"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"`{k}`" + (f" ×{n}" if n > 1 else "") for k, n in counts.items()) or "—"


def _tokens_cell(row: RouteModelChange) -> str:
    old = f"{row.old.input_tokens} / {row.old.output_tokens}"
    new = f"{row.new.input_tokens} / {row.new.output_tokens}"
    return _arrow(old if row.old.cassettes else "—", new if row.new.cassettes else "—")


def _money_side(side: Side, model: str) -> str:
    if side.costs:
        return money(_mean(side.costs))
    return f"n/a (no pricing for {model})" if side.unpriced else "n/a"


def _cost_cell(row: RouteModelChange) -> str:
    old, new = _mean(row.old.costs), _mean(row.new.costs)
    before = _money_side(row.old, row.model) if row.old.cassettes else "—"
    after = _money_side(row.new, row.model) if row.new.cassettes else "—"
    return _arrow(before, after, _change(old, new))


def _latency_cell(row: RouteModelChange) -> str:
    old, new = percentile(row.old.latencies, 95), percentile(row.new.latencies, 95)
    before = seconds(old) if row.old.cassettes else "—"
    after = seconds(new) if row.new.cassettes else "—"
    return _arrow(before, after, _change(old, new))


def render_markdown(review: Review) -> str:
    rows = _rows(review)
    lines = ["## Cassette changes per route × model", ""]
    changed = sum(r.cassettes_changed for r in rows)
    added = sum(r.cassettes_added for r in rows)
    removed = sum(r.cassettes_removed for r in rows)
    where = f"{review.old_label} → {review.new_label}"
    if not rows and not review.errors:
        lines.append(f"No cassette changed ({review.compared} compared, all byte-identical), {where}.")
    else:
        breaking = f"**{len(review.breaking)} breaking**" if review.breaking else "0 breaking"
        secrets = f"**{len(review.secrets)} secret(s)**" if review.secrets else "no secrets"
        lines.append(
            f"{breaking}, {len(review.additive)} additive shape change(s), {secrets} in {changed} changed, "
            f"{added} new and {removed} removed cassette(s) ({review.unchanged} byte-identical), {where}."
        )
    if rows:
        lines += [
            "",
            "| Route | Model | Cassettes | Interactions | Status changes | Breaking | Additive | Tokens in / out "
            "| Cost per call | Latency p95 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in rows:
            breaking_cell = f"**{row.breaking}**" if row.breaking else "0"
            cells = [f"`{md_cell(row.route)}`", f"`{md_cell(row.model)}`", _cassettes_cell(row), _interactions_cell(row),
                     _status_cell(row), breaking_cell, str(row.additive), _tokens_cell(row), _cost_cell(row),
                     _latency_cell(row)]
            lines.append("| " + " | ".join(md_cell(c) if i > 1 else c for i, c in enumerate(cells)) + " |")
        lines += ["", "Costs are at the pricing of anyint.yaml today, for both sides: a cost change is a usage change."]
    if review.findings:
        lines += ["", "### Shape changes", "", *findings_table(review.findings)]
    if review.secrets:
        lines += ["", "### Secrets", ""] + [f"- {md_cell(s)}" for s in review.secrets]
        lines += ["", "Re-record the cassette (the key is scrubbed on recording) or remove the value by hand; "
                  "`pytest-anyint check` lists every secret of the tree."]
    if review.errors:
        lines += ["", "### Unreadable cassettes", ""] + [f"- {md_cell(e)}" for e in review.errors]
    if review.notes:
        lines += ["", "<details><summary>Notes</summary>", ""] + [f"- {md_cell(n)}" for n in review.notes]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
