"""``pytest-anyint report REPORT.json``: a JSON report (``--anyint-report``) rendered as Markdown or HTML.

Exit status 0 when rendered, 2 when the file is missing, unreadable, not JSON, of another format
version or not a valid report (one line saying which).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..report.build import REPORT_VERSION, validate_report
from ..text import write_atomic


def run_report(args: argparse.Namespace) -> int:
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
        from ..report.html import render_html

        text = render_html(document)
    else:
        from ..report.text import render_markdown

        text = render_markdown(document)
    if args.output:
        target = Path(args.output)
        try:
            write_atomic(target, text)
        except OSError as exc:
            why = "it is a folder" if target.is_dir() else (exc.strerror or str(exc))
            sys.stderr.write(f"pytest-anyint report: cannot write {target}: {why}; expected a file path\n")
            return 2
    else:
        sys.stdout.write(text)
    return 0

