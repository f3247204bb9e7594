"""What one case did, as plain data: the session writes it, the report and the xdist wire read it.

A ground module, so ``report`` can read results (and rebuild them from a worker's wire) without
importing the session that produced them. The violation and drift records are therefore described
by what the report reads of them, not imported from ``contracts`` and ``drift``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from .calls import Call


class ViolationRecord(Protocol):
    """What the report reads of a contract violation (``contracts.violations.Violation``)."""

    @property
    def severity(self) -> str: ...
    @property
    def interaction(self) -> int | None: ...
    @property
    def message(self) -> str: ...


class DriftRecord(Protocol):
    """What the report reads of a drift finding (``drift.findings.DriftFinding``)."""

    @property
    def kind(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def message(self) -> str: ...


#: A record as an xdist worker sent it (``report.outputs.to_wire``): JSON, so its values are ``Any``.
WireRecord = dict[str, Any]


@dataclass
class CaseResult:
    """What one case did, for the reports."""

    nodeid: str
    route: str
    model: str
    fault: int | str | None
    calls: list[Call]
    passed: bool | None = None
    #: The session's records; on the xdist controller, a worker's in their wire form.
    violations: list[ViolationRecord | WireRecord] = field(default_factory=list)
    drift: list[DriftRecord | WireRecord] = field(default_factory=list)
    #: The plugin's checks that failed the case (contract, drift, budget, policy), one line each.
    problems: list[str] = field(default_factory=list)
