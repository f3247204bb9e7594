"""Reports: the terminal summary, JSON, Markdown and HTML, and budgets."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def budget_problems(route: Any, calls: list[Any], config_path: Path) -> list[str]:
    """Recorded calls over the route's max_cost_per_call_usd or max_latency_s."""
    return []


def terminal_summary(session: Any, terminalreporter: Any) -> None:
    """The per route × model table at the end of the run."""


def finish_session(session: Any, pytest_session: Any) -> None:
    """Write the requested report files; on an xdist worker, hand the results to the controller."""
