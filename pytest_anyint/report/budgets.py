"""Call budgets: the recorded calls of a case over the route's ``max_cost_per_call_usd`` or ``max_latency_s``.

The run fails a case on them (``budget_problems``, one line per breach naming the route, model,
call and the file that set the limit) and the report counts them (``call_breaches``). Injected
faults never count: their numbers are not the gateway's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..calls import Call
from ..config import RouteConfig
from .format import money, seconds

#: Calls whose numbers are real: answered from a cassette or the network, never injected faults.
RECORDED_SOURCES = ("cassette", "network")


def call_breaches(route: RouteConfig, calls: Sequence[Call]) -> list[dict[str, Any]]:
    """The recorded calls of one case that exceed the route's per-call budgets (faults never count)."""
    found: list[dict[str, Any]] = []
    max_cost = route.max_cost_per_call_usd
    max_latency = route.max_latency_s
    max_ttft = route.max_ttft_s
    if max_cost is None and max_latency is None and max_ttft is None:
        return found
    for number, call in enumerate(calls, 1):
        if call.source not in RECORDED_SOURCES:
            continue
        where = {"model": call.model, "call": number, "endpoint": f"{call.method} {call.endpoint}"}
        if max_cost is not None and call.cost_usd is not None and call.cost_usd > max_cost:
            found.append({**where, "kind": "cost", "value": call.cost_usd, "limit": max_cost})
        if max_latency is not None and call.latency_s is not None and call.latency_s > max_latency:
            found.append({**where, "kind": "latency", "value": call.latency_s, "limit": max_latency})
        if max_ttft is not None and call.ttft_s is not None and call.ttft_s > max_ttft:
            found.append({**where, "kind": "ttft", "value": call.ttft_s, "limit": max_ttft})
    return found


def budget_problems(route: RouteConfig, calls: Sequence[Call], config_path: Path) -> list[str]:
    """Recorded calls over the route's max_cost_per_call_usd or max_latency_s, one line each."""
    problems = []
    breaches = call_breaches(route, calls)
    shown = display_path(config_path) if breaches else ""  # resolving paths costs syscalls per case
    for breach in breaches:
        if breach["kind"] == "cost":
            what = f"cost {money(breach['value'])}, over max_cost_per_call_usd {money(breach['limit'])}"
        elif breach["kind"] == "ttft":
            what = (f"streamed its first answer text after {seconds(breach['value'])} (recorded), "
                    f"over max_ttft_s {breach['limit']:g} s")
        else:
            what = f"took {seconds(breach['value'])} (recorded), over max_latency_s {breach['limit']:g} s"
        problems.append(
            f"route {route.label!r}: {breach['model']} call {breach['call']} ({breach['endpoint']}) {what} "
            f"set in {shown}"
        )
    return problems


def display_path(path: Path | str | None) -> str:
    """A path as the user would type it from here: relative to the working folder when inside it."""
    if path is None:
        return "anyint.yaml"
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
