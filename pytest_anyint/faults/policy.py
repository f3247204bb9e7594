"""The fallback policy check: after a fault case, did the app do what its route's policy says?

:func:`check_policy` reads the call trail and the test's log records and says, in the user's
terms, where the app broke the policy: no fallback where one was required, a fallback that masks
an auth failure, a fallback nobody logged, or a failing model called again and again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only
    from ..calls import Call
    from ..config import Policy, RouteConfig

_MODEL_CHAR = r"A-Za-z0-9_\-"
#: Loggers of libraries, never of the app: their records cannot count as the app's fallback log.
_LIBRARY_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "anthropic", "google_genai", "google",
                    "urllib3", "asyncio", "vcr", "pytest_anyint")
_STANDARD_RECORD_KEYS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def describe_fault(fault: int | str) -> str:
    """What a fault did, as a verb phrase: '… returned 503', '… timed out'."""
    if isinstance(fault, int):
        return f"returned {fault}"
    return {
        "timeout": "timed out",
        "connect": "could not be reached (connection refused)",
        "reset": "reset the connection",
        "malformed-json": "answered malformed JSON",
        "truncated-stream": "cut its answer off mid-body",
        "stream-error": "sent an error in the middle of its stream",
        "empty-body": "answered an empty body",
    }.get(fault, f"failed with {fault}")


def _rule(policy: Policy, fault: int | str) -> str:
    if fault in policy.fallback_on:
        return f"policy: fallback_on includes {fault}"
    if fault in policy.never_fallback_on:
        return f"policy: never_fallback_on includes {fault}"
    if isinstance(fault, int):
        if fault >= 500:
            return f"policy: {fault} is in neither list, and a 5xx falls back"
        return f"policy: {fault} is in neither list, and a 4xx must surface"
    return "policy"


_SURFACE_REASONS = {
    400: "a bad request would fail on every model: it must surface, not be masked",
    401: "an auth failure must surface, not be masked",
    403: "a permission failure (subscription or key policy) must surface, not be masked",
    404: "a missing model or route is a configuration error: it must surface, not be masked",
}


def _surface_reason(fault: int | str) -> str:
    if isinstance(fault, int) and fault in _SURFACE_REASONS:
        return _SURFACE_REASONS[fault]
    if isinstance(fault, int) and 400 <= fault < 500:
        return "a client error must surface, not be masked"
    return "the policy says this fault must surface, not be masked"


def _mentions(text: str, word: str) -> bool:
    pattern = rf"(?<![{_MODEL_CHAR}.]){re.escape(word)}(?![{_MODEL_CHAR}]|\.[A-Za-z0-9])"
    return re.search(pattern, text) is not None


def _record_text(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string still says what it says
        text = str(record.msg)
    extras = [str(v) for k, v in record.__dict__.items() if k not in _STANDARD_RECORD_KEYS]
    return " ".join([text, *extras])


def _is_library(record: logging.LogRecord) -> bool:
    name = record.name or ""
    return any(name == lib or name.startswith(lib + ".") for lib in _LIBRARY_LOGGERS)


def _walk(calls: Sequence[Call]) -> str:
    """The models the app called, in order, runs collapsed: 'gpt-5-mini ×3, then deepseek-v3.2-exp'."""
    runs: list[tuple[str, int]] = []
    for model in (c.model for c in calls if c.model):
        if runs and runs[-1][0] == model:
            runs[-1] = (model, runs[-1][1] + 1)
        else:
            runs.append((model, 1))
    if not runs:
        return "no model"
    return ", then ".join(f"{m} ×{n}" if n > 1 else str(m) for m, n in runs)


def _hammering(calls: Sequence[Call], limit: int) -> list[tuple[str, int]]:
    """Models the app called more than ``limit`` times in a row while every one of those calls failed."""
    worst: dict[str, int] = {}
    run_model, run = None, 0
    for call in calls:
        if not call.model:
            continue
        if call.model == run_model and call.failed:
            run += 1
        else:
            run_model, run = (call.model, 1) if call.failed else (None, 0)
        if run_model is not None and run > worst.get(run_model, 0):
            worst[run_model] = run
    return [(model, n) for model, n in worst.items() if n > limit]


def check_policy(
    route: RouteConfig,
    fault: int | str,
    trail: Iterable[Call],
    log_records: Sequence[logging.LogRecord],
    *,
    refused: bool = False,
    passed: bool | None = True,
) -> list[str]:
    """After a fault case's body: did the app fall back when it should, stop when it should, and log it?

    ``refused`` means the plugin already refused a request of the test (a cassette miss, a wrong
    model); then only a forbidden fallback is reported, since it explains the refusal. A test that
    made no call to the primary is reported only when its body passed (``passed``): a body that
    failed or skipped before calling the app has said why already.
    """
    policy = route.policy
    primary = route.primary.model
    calls = list(trail)
    head = f"route {route.label!r}, fault {fault}"
    failed_at = next((i for i, c in enumerate(calls) if c.model == primary and c.fault is not None), None)
    if failed_at is None:
        if refused or passed is not True or any(c.model == primary for c in calls):
            return []
        return [
            f"{head}: the test made no call to the primary {primary}, so the fault was never met and the "
            f"policy was not proven; call the app under test with anyint_route.model inside the test"
        ]
    primary_calls = sum(1 for c in calls if c.model == primary)
    went_to: list[str] = []
    for call in calls[failed_at + 1 :]:
        if call.model and call.model != primary and call.model not in went_to:
            went_to.append(call.model)
    what = f"primary {primary} {describe_fault(fault)}"
    problems: list[str] = []
    expect = policy.expects_fallback(fault)
    if expect:
        required = route.required_fallback() or (route.fallbacks[0] if route.fallbacks else None)
        if required is not None and required.model not in went_to:
            times = f" ({primary_calls} calls)" if primary_calls > 1 else ""
            instead = f", it went to {', '.join(went_to)} instead" if went_to else ""
            which = ""
            if route.fallbacks and required.model != route.fallbacks[0].model:
                which = f"; {required.model} is the first fallback of the route's family ({route.family})"
            problems.append(
                f"{head}: {what}{times}, the app never tried {required.model}{instead} ({_rule(policy, fault)}{which})"
            )
    elif went_to:
        problems.append(
            f"{head}: the app fell back on {fault} from {primary} to {', '.join(went_to)}: "
            f"{_surface_reason(fault)} ({_rule(policy, fault)})"
        )
    if refused:
        return problems
    limit = policy.max_attempts_per_model
    for model, count in _hammering(calls, limit):
        problems.append(
            f"{head}: the app called the failing {model} {count} times in a row ({_walk(calls)}) "
            f"(policy: max_attempts_per_model is {limit}, one call plus the SDKs' default two retries); "
            f"cap the SDK's max_retries and any retry loop of your own"
        )
    if expect and went_to and policy.require_fallback_log:
        problem = _log_problem(head, primary, went_to, fault, log_records)
        if problem:
            problems.append(problem)
    return problems


def _log_problem(head: str, primary: str, went_to: list[str], fault: int | str, records: Sequence[logging.LogRecord]) -> str | None:
    """None when some app log record names the primary, a fallback and (for HTTP faults) the status."""
    status = str(fault) if isinstance(fault, int) else None
    naming_both: list[str] = []
    for record in records:
        if _is_library(record):
            continue
        text = _record_text(record)
        if not _mentions(text, primary) or not any(_mentions(text, m) for m in went_to):
            continue
        if status is None or re.search(rf"(?<!\d){status}(?!\d)", text):
            return None
        naming_both.append(text)
    fallback = went_to[0]
    needs = f"{primary}, {fallback}" + (f" and the status {status}" if status else "")
    if naming_both:
        quoted = naming_both[0] if len(naming_both[0]) <= 120 else naming_both[0][:117] + "..."
        return (
            f"{head}: the app logged its fallback from {primary} to {fallback} without the status {status} "
            f"(\"{quoted}\") (policy: require_fallback_log); say why it fell back"
        )
    example = (
        f'log.warning("%s failed with %s, falling back to %s", primary, {status}, fallback)'
        if status
        else 'log.warning("%s failed (%s), falling back to %s", primary, error, fallback)'
    )
    return (
        f"{head}: the app fell back from {primary} to {fallback} but no log record of the test names "
        f"{needs} (policy: require_fallback_log); a fallback must be visible, e.g. {example}"
    )


__all__ = ["check_policy", "describe_fault"]
