"""What one case did, as plain data: the session writes it, the report and the xdist wire read it.

A ground module, so ``report`` can read results (and rebuild them from a worker's wire) without
importing the session that produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .calls import Call


@dataclass
class CaseResult:
    """What one case did, for the reports."""

    nodeid: str
    route: str
    model: str
    fault: int | str | None
    calls: list[Call]
    passed: bool | None = None
    violations: list[Any] = field(default_factory=list)
    drift: list[Any] = field(default_factory=list)
    #: The plugin's checks that failed the case (contract, drift, budget, policy), one line each.
    problems: list[str] = field(default_factory=list)
