"""A violation: one broken rule in one answer, and whether it fails a test in each mode.

A module of its own, loaded only once something is wrong (by ``violations.Reporter`` and the
output check): a frozen dataclass builds six methods by ``exec`` at import on Python 3.11, which a
replay whose answers all keep their contracts never needs. ``Violation.fails`` says whether it
fails a test under each ``--anyint-contracts`` mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Rules that report API growth rather than breakage: warnings in every mode.
GROWTH_RULES = frozenset({"enum.unknown", "stream.unknown-event"})


@dataclass(frozen=True)
class Violation:
    """One broken rule in one recorded answer, located precisely enough to fix it."""

    cassette: str | None
    interaction: int | None
    pointer: str
    rule: str
    value: Any
    severity: str  # "error" | "warning"
    confidence: str  # documented | upstream | assumed
    message: str
    #: For streams: the 1-based number of the event the pointer lies in.
    event: int | None = None

    def fails(self, mode: str = "fail") -> bool:
        """Whether this violation fails a test under ``--anyint-contracts=mode``.

        ``fail`` fails errors; ``strict`` also fails warnings of ``assumed`` rules (API growth such
        as an unknown enum value still only warns); ``warn`` and ``off`` never fail.
        """
        if mode == "fail":
            return self.severity == "error"
        if mode == "strict":
            return self.severity == "error" or (self.confidence == "assumed" and self.rule not in GROWTH_RULES)
        return False
