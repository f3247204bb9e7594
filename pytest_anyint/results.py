"""What one case did, as plain data: the session writes it, the report and the xdist wire read it.

A ground module, so ``report`` can read results (and rebuild them from a worker's wire) without
importing the session that produced them. The violation and drift records are therefore described
by what the report reads of them, not imported from ``contracts`` and ``drift``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .calls import Call

# Protocols: for the type checker only (each costs a class build at import, and nothing reads them at run time).
if TYPE_CHECKING:
    class ViolationRecord(Protocol):
        """What the report reads of a contract violation (``contracts.violation.Violation``)."""

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


class CaseResult:
    """What one case did, for the reports (a plain class: never compared or printed, and a
    dataclass's generated methods cost an exec each at import on Python 3.11)."""

    def __init__(
        self,
        nodeid: str,
        route: str,
        model: str,
        fault: int | str | None,
        calls: list[Call],
        passed: bool | None = None,
        violations: list[ViolationRecord | WireRecord] | None = None,
        drift: list[DriftRecord | WireRecord] | None = None,
        problems: list[str] | None = None,
    ) -> None:
        self.nodeid = nodeid
        self.route = route
        self.model = model
        self.fault = fault
        self.calls = calls
        self.passed = passed
        #: The session's records; on the xdist controller, a worker's in their wire form.
        self.violations: list[ViolationRecord | WireRecord] = [] if violations is None else violations
        self.drift: list[DriftRecord | WireRecord] = [] if drift is None else drift
        #: The plugin's checks that failed the case (contract, drift, budget, policy), one line each.
        self.problems: list[str] = [] if problems is None else problems
