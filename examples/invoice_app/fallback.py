"""The app's own fallback chain: try a workload's models in order, fall back only when it is safe.

The AnyInt gateway does not fall back by itself (Smart Routing is "coming soon"), so the app does,
following the gateway's Model Fallbacks guide:

- fall back on temporary failures only: 429, 5xx (Anthropic's 529 included), timeouts, connection
  errors, and answers that are malformed or cut off;
- never on 400, 401, 403 or 404 (nor any other 4xx): an invalid request, a bad key or a missing
  entitlement must surface; the next model would fail the same way and the fallback would hide it;
- log every fallback at WARNING with workload, primary, fallback model, status and reason.

Each SDK reports failures its own way; :func:`classify` maps openai, anthropic, google-genai and
raw httpx / httpx2 exceptions to one decision.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger("invoice_app.fallback")

T = TypeVar("T")

#: Reasons for statuses the app falls back on (anything else of 5xx: "server error").
_TEMPORARY_REASONS = {
    429: "rate limited",
    500: "server error",
    502: "bad gateway",
    503: "upstream unavailable",
    504: "upstream timeout",
    529: "upstream overloaded",
}


@dataclass(frozen=True)
class Link:
    """One model of a chain and the API family its requests are shaped for."""

    model: str
    family: str


def as_chain(links: Iterable[Any], family: str | None = None) -> tuple[Link, ...]:
    """A chain from ``Link``s, anything with ``.model`` and ``.family`` (such as the test plugin's
    route targets), ``{"model": ..., "family": ...}`` dicts, or plain IDs when ``family`` is given."""
    chain: list[Link] = []
    for item in links:
        if isinstance(item, Link):
            chain.append(item)
        elif isinstance(item, str):
            if family is None:
                raise ValueError(f"model {item!r} needs a family: pass family= or a {{model, family}} mapping")
            chain.append(Link(item, family))
        elif isinstance(item, dict):
            chain.append(Link(item["model"], item.get("family") or family or ""))
        else:
            chain.append(Link(item.model, item.family))
    if not chain:
        raise ValueError("a chain needs at least one model")
    return tuple(chain)


class MalformedAnswer(Exception):
    """The model answered, but the answer is unusable: not JSON, wrong shape, empty or cut off."""


@dataclass(frozen=True)
class Failure:
    """What a failed call means for the chain."""

    temporary: bool
    reason: str
    status: int | None = None


class ChainExhausted(Exception):
    """Every model of the chain failed temporarily; ``attempts`` says how each one failed."""

    def __init__(self, workload: str, attempts: list[tuple[Link, Failure]]) -> None:
        self.workload = workload
        self.attempts = attempts
        tried = "; ".join(f"{link.model}: {_describe(failure)}" for link, failure in attempts)
        super().__init__(f"{workload}: every model failed ({tried})")


@dataclass(frozen=True)
class Answered(Generic[T]):
    """A workload's result, and which model produced it."""

    value: T
    link: Link
    #: The models that failed before ``link`` answered, with how they failed.
    failures: tuple[tuple[Link, Failure], ...] = ()

    @property
    def model(self) -> str:
        return self.link.model

    @property
    def fell_back(self) -> bool:
        return bool(self.failures)


def _describe(failure: Failure) -> str:
    return f"status {failure.status}, {failure.reason}" if failure.status is not None else failure.reason


def _by_status(status: int, detail: str = "") -> Failure:
    if status == 429 or status >= 500:
        reason = _TEMPORARY_REASONS.get(status, "server error")
        return Failure(True, f"{reason}{detail}", status)
    reason = {400: "invalid request", 401: "authentication failed", 403: "not allowed", 404: "not found"}.get(
        status, "client error"
    )
    return Failure(False, f"{reason}{detail}", status)


def classify(exc: BaseException) -> Failure | None:
    """The chain's decision for an exception; None when it is no gateway failure (a bug: re-raise it).

    Only SDKs that are imported can have raised, so each is looked up in ``sys.modules``.
    """
    if isinstance(exc, MalformedAnswer):
        return Failure(True, f"malformed answer: {exc}")
    for name in ("openai", "anthropic"):
        sdk = sys.modules.get(name)
        if sdk is None:
            continue
        if isinstance(exc, sdk.APITimeoutError):
            return Failure(True, "timeout")
        if isinstance(exc, sdk.APIConnectionError):
            cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else None
            return Failure(True, f"connection error ({cause})" if cause else "connection error")
        if isinstance(exc, sdk.APIStatusError):
            if exc.status_code < 400:  # an error event inside a 200 stream (Anthropic)
                return Failure(True, "error event in the stream")
            return _by_status(exc.status_code)
        if isinstance(exc, sdk.APIResponseValidationError):
            return Failure(True, "malformed answer: the response does not match the API's shape")
        if isinstance(exc, sdk.APIError):  # an error event inside a 200 stream (OpenAI)
            return Failure(True, "error event in the stream")
    genai_errors = sys.modules.get("google.genai.errors")
    if genai_errors is not None:
        if isinstance(exc, genai_errors.APIError):
            return _by_status(int(exc.code or 500), f" ({exc.status})" if exc.status else "")
        if isinstance(exc, genai_errors.UnknownApiResponseError):
            return Failure(True, "malformed answer: the response is not JSON")
    for name in ("httpx", "httpx2"):
        http = sys.modules.get(name)
        if http is None:
            continue
        if isinstance(exc, http.TimeoutException):
            return Failure(True, "timeout")
        if isinstance(exc, http.HTTPStatusError):
            return _by_status(exc.response.status_code)
        if isinstance(exc, http.RequestError):  # connect, reset, a stream cut off, undecodable body
            return Failure(True, f"connection error ({type(exc).__name__})")
    if isinstance(exc, json.JSONDecodeError):  # an SDK met a 200 whose body is not JSON
        return Failure(True, "malformed answer: the response is not JSON")
    return None


class _Walk:
    """The bookkeeping of one pass down a chain, shared by the sync and async runners."""

    def __init__(self, workload: str, chain: Iterable[Any], on_fallback: Callable[[Link, Link], None] | None) -> None:
        self.workload = workload
        self.chain = as_chain(chain)
        self.on_fallback = on_fallback
        self.failures: list[tuple[Link, Failure]] = []

    def failed(self, index: int, exc: BaseException) -> None:
        """Decide after ``chain[index]`` raised: return to try the next model, or raise."""
        link = self.chain[index]
        failure = classify(exc)
        if failure is None:
            raise exc
        self.failures.append((link, failure))
        if not failure.temporary:
            log.error(
                "%s: %s failed with %s; not falling back (fix the request, key or entitlement)",
                self.workload, link.model, _describe(failure),
                extra={"workload": self.workload, "model": link.model, "status": failure.status, "reason": failure.reason},
            )
            raise exc
        if index + 1 >= len(self.chain):
            raise ChainExhausted(self.workload, self.failures) from exc
        primary, fallback = self.chain[0], self.chain[index + 1]
        status = failure.status if failure.status is not None else "-"
        log.warning(
            "fallback: workload=%s primary=%s failed=%s fallback=%s status=%s reason=%s",
            self.workload, primary.model, link.model, fallback.model, status, failure.reason,
            extra={
                "workload": self.workload,
                "primary": primary.model,
                "failed_model": link.model,
                "fallback_model": fallback.model,
                "status": failure.status,
                "reason": failure.reason,
            },
        )
        if self.on_fallback is not None:
            self.on_fallback(link, fallback)

    def answered(self, index: int, value: T) -> Answered[T]:
        return Answered(value, self.chain[index], tuple(self.failures))


def run_chain(
    workload: str,
    chain: Iterable[Any],
    call: Callable[[Link], T],
    *,
    on_fallback: Callable[[Link, Link], None] | None = None,
) -> Answered[T]:
    """Call ``call(link)`` for each model in order until one answers; see the module docstring."""
    walk = _Walk(workload, chain, on_fallback)
    for index, link in enumerate(walk.chain):
        try:
            return walk.answered(index, call(link))
        except Exception as exc:  # noqa: BLE001 - classify() decides; anything unknown is re-raised
            walk.failed(index, exc)
    raise AssertionError("unreachable: the last failure raises")


async def arun_chain(
    workload: str,
    chain: Iterable[Any],
    call: Callable[[Link], Awaitable[T]],
    *,
    on_fallback: Callable[[Link, Link], None] | None = None,
) -> Answered[T]:
    """The async :func:`run_chain`."""
    walk = _Walk(workload, chain, on_fallback)
    for index, link in enumerate(walk.chain):
        try:
            return walk.answered(index, await call(link))
        except Exception as exc:  # noqa: BLE001 - classify() decides; anything unknown is re-raised
            walk.failed(index, exc)
    raise AssertionError("unreachable: the last failure raises")
