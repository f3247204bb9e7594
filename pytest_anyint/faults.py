"""Faults injected on the wire: what can go wrong between an app and the gateway."""

from __future__ import annotations

#: Named fault kinds besides HTTP statuses, in the order ``faults="policy"`` lists them.
FAULT_KINDS: tuple[str, ...] = (
    "timeout",
    "connect",
    "reset",
    "malformed-json",
    "truncated-stream",
    "stream-error",
    "empty-body",
)

import json
from dataclasses import dataclass
from typing import Any

from .families import FAMILIES, gateway_error


@dataclass
class Fault:
    """One injection rule: which model's calls fail, how, and how many times."""

    model: str | None
    status: int | None = None
    kind: str | None = None
    times: int | None = None
    retry_after: float | None = None
    envelope: str = "gateway"
    should_retry: bool | None = None
    used: int = 0

    @property
    def label(self) -> int | str:
        return self.status if self.status is not None else str(self.kind)

    def matches(self, model: str | None) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        return self.model is None or self.model == model

    def respond(self, call: Any, request: Any, httpx_mod: Any) -> Any:
        family = FAMILIES.get(call.family or "openai", FAMILIES["openai"])
        status = self.status or 500
        body = gateway_error(status) if self.envelope == "gateway" else family.native_error(status, None)
        headers = {"content-type": "application/json", "retry-after-ms": "1"}
        if self.should_retry is False:
            headers["x-should-retry"] = "false"
        return httpx_mod.Response(status, headers=headers, content=json.dumps(body).encode(), request=request)


class FaultPlan:
    """The faults of one running case; the interceptor asks it first for every gateway request."""

    def __init__(self, session: Any = None, case: Any = None) -> None:
        self._faults: list[Fault] = []
        if case is not None and getattr(case, "fault", None) is not None:
            fault = case.fault
            self._faults.append(
                Fault(case.model, status=fault if isinstance(fault, int) else None, kind=None if isinstance(fault, int) else fault)
            )

    def inject(
        self,
        model: str | None = None,
        *,
        status: int | None = None,
        kind: str | None = None,
        times: int | None = None,
        retry_after: float | None = None,
        envelope: str = "gateway",
        should_retry: bool | None = None,
    ) -> Fault:
        """Make calls to ``model`` (None: any) fail with ``status`` or ``kind``; ``times=None``: every call."""
        if (status is None) == (kind is None):
            raise ValueError("inject() takes exactly one of status= or kind=")
        fault = Fault(model, status, kind, times, retry_after, envelope, should_retry)
        self._faults.append(fault)
        return fault

    def take(self, call: Any) -> Fault | None:
        for fault in reversed(self._faults):
            if fault.matches(call.model):
                fault.used += 1
                return fault
        return None


def check_policy(route: Any, fault: int | str, trail: Any, log_records: list[Any]) -> list[str]:
    """After a fault case's body: did the app fall back when it should, stop when it should, and log it?"""
    return []
