"""Reports: what a run proved per route and model.

Owns call budgets (``budgets``), the versioned JSON report document and its schema (``build``;
the schema file stays in ``pytest_anyint/schemas/``), what the report does inside a pytest run —
outcomes, the xdist hand-over, the terminal summary, the report files (``outputs``) —, the
terminal and Markdown renderers (``text``) and the HTML page (``html``), all rendered from the
JSON document alone.

May import: the standard library, third-party libraries and the ground modules. It reads case
results (``pytest_anyint.results``); it never imports the session (``run``), so a report can be
re-rendered without one.

``load_schema`` and ``validate_report`` are public (``pytest_anyint.report.validate_report``);
they are loaded on first use, so importing a renderer does not import the builder.
"""

from __future__ import annotations

from typing import Any

_PUBLIC = ("load_schema", "validate_report")


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        from . import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_PUBLIC)
