"""``--anyint-record=verify``: every recorded request asked again of the live gateway, and compared.

The app still gets the recorded answer (so the test runs as in replay); the live answer is checked
against the family contracts and the route's ``output_schema``, and its shape against the recorded
interaction's (the same fingerprints as drift on re-record). Nothing is written: not the cassette,
not the parse cache. A 429 is waited out (its ``retry-after``, bounded) and then reported as "not
verified", since a busy gateway says nothing about shapes. Fault cases replay as usual.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import cassettes
from ..calls import Call
from ..results import CaseResult
from .context import CaseContext

#: A 429 is asked again this many times (after its retry-after) before the call is "not verified".
RETRIES_ON_429 = 2
#: The longest wait for one retry-after; a longer one is cut to this (the run must end).
MAX_RETRY_WAIT_S = 20.0
#: The wait when a 429 names none.
DEFAULT_RETRY_WAIT_S = 1.0


@dataclass(frozen=True)
class LiveAnswer:
    """What the live gateway answered one request (the body decoded, not yet scrubbed)."""

    status: int
    content_type: str | None
    body: bytes
    retry_after: str | None = None
    retry_after_ms: str | None = None


def retry_wait(answer: LiveAnswer, attempt: int) -> float | None:
    """Seconds to wait before asking again (``attempt`` counts the retries made), or None to stop."""
    if answer.status != 429 or attempt >= RETRIES_ON_429:
        return None
    wait = _seconds(answer.retry_after)
    if wait is None and answer.retry_after_ms is not None:
        try:
            wait = float(answer.retry_after_ms) / 1000
        except ValueError:
            wait = None
    return min(max(wait if wait is not None else DEFAULT_RETRY_WAIT_S, 0.0), MAX_RETRY_WAIT_S)


def _seconds(value: str | None) -> float | None:
    """A retry-after header: seconds, or an HTTP date."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def decode(httpx_mod: Any, response: Any, raw: bytes) -> LiveAnswer | str:
    """The live answer from an httpx response and its raw bytes, or why it cannot be read."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "deflate"):
        return f"the gateway answered with content-encoding {encoding!r}, which pytest-anyint cannot decode"
    body = raw
    if encoding not in ("", "identity"):
        body = httpx_mod.Response(response.status_code, headers=response.headers, content=raw).content
    return LiveAnswer(
        response.status_code,
        response.headers.get("content-type"),
        body,
        response.headers.get("retry-after"),
        response.headers.get("retry-after-ms"),
    )


def not_verified(context: CaseContext, call: Call, interaction: int, reason: str) -> None:
    """The call could not be compared with the live gateway: one note, never drift."""
    call.verified = "not verified"
    context.verify_notes.append(
        f"{context.test_id}: {context.cassette_display} interaction #{interaction} ({call.method} {call.endpoint}) "
        f"not verified: {reason}"
    )


def check(context: CaseContext, call: Call, recorded: Mapping[str, Any], interaction: int, answer: LiveAnswer) -> None:
    """Hold the live answer to the contracts, the output schema and the recorded shape."""
    if answer.status == 429:
        shown = f" (retry-after {answer.retry_after})" if answer.retry_after else ""
        not_verified(context, call, interaction, f"the gateway answered 429{shown} {RETRIES_ON_429 + 1} times")
        return
    body = answer.body
    if context.secrets:  # checks quote values: never an echoed key
        body = cassettes.scrub_bytes(body, context.secrets, context.key_placeholder)
    found_before = len(context.contracts.violations) if context.contracts is not None else 0
    if context.contracts is not None:
        context.contracts.check_response(
            call,
            method=call.method,
            path=call.endpoint,
            status=answer.status,
            content_type=answer.content_type,
            body=body,
            cassette=f"{context.cassette_display} (live answer)",
            interaction=interaction,
        )
    changed = context.contracts is not None and len(context.contracts.violations) > found_before
    if context.drift_mode != "off":
        changed = _compare(context, call, recorded, interaction, answer.status, answer.content_type, body) or changed
    call.verified = "drift" if changed else "verified"


def _compare(
    context: CaseContext, call: Call, recorded: Mapping[str, Any], interaction: int,
    status: int, content_type: str | None, body: bytes,
) -> bool:
    from ..drift.findings import DriftFinding
    from ..drift.shape import ShapeFingerprint, compare_fingerprints

    old = ShapeFingerprint.of_response(
        recorded["status"]["code"], cassettes.header_value(recorded["headers"], "content-type"), recorded["body"]["string"]
    )
    new = ShapeFingerprint.of_response(status, content_type, body)
    model = call.model or context.case_model or ""
    request = f"{call.method} {call.endpoint}"
    findings = [
        DriftFinding(
            test=context.test_id, model=model, interaction=interaction, path=change.path, old=change.old,
            new=change.new, kind=change.kind, change=change.what, request=request,
            cassette=context.cassette_display, route=context.route_label,
        )
        for change in compare_fingerprints(old, new)
    ]
    context.drift += findings
    if old.served_model and new.served_model and old.served_model != new.served_model:
        context.verify_notes.append(
            f"{context.cassette_display}: interaction #{interaction} ({request}): the gateway now serves "
            f"{new.served_model!r} for {model} (was {old.served_model!r}): a model rollover, not contract drift"
        )
    return bool(findings)


# --------------------------------------------------------------------------- asking the live gateway


def run_sync(
    context: CaseContext, call: Call, played: tuple[int, Mapping[str, Any]], httpx_mod: Any,
    send: Callable[[], Any], read: Callable[[Any, float], bytes],
) -> None:
    """Send the request live (again after a 429's retry-after, bounded) and check the answer."""
    interaction, recorded = played
    attempt = 0
    while True:
        started = time.perf_counter()
        try:
            response = send()
            try:
                raw = read(response.stream, started)
            finally:
                response.close()
        except httpx_mod.HTTPError as exc:
            not_verified(context, call, interaction, _unreachable(context, exc))
            return
        answer = decode(httpx_mod, response, raw)
        if isinstance(answer, str):
            not_verified(context, call, interaction, answer)
            return
        wait = retry_wait(answer, attempt)
        if wait is None:
            break
        time.sleep(wait)
        attempt += 1
    check(context, call, recorded, interaction, answer)


async def run_async(
    context: CaseContext, call: Call, played: tuple[int, Mapping[str, Any]], httpx_mod: Any,
    send: Callable[[], Awaitable[Any]], read: Callable[[Any, float], Awaitable[bytes]],
) -> None:
    """``run_sync`` for the async transports."""
    import asyncio

    interaction, recorded = played
    attempt = 0
    while True:
        started = time.perf_counter()
        try:
            response = await send()
            try:
                raw = await read(response.stream, started)
            finally:
                await response.aclose()
        except httpx_mod.HTTPError as exc:
            not_verified(context, call, interaction, _unreachable(context, exc))
            return
        answer = decode(httpx_mod, response, raw)
        if isinstance(answer, str):
            not_verified(context, call, interaction, answer)
            return
        wait = retry_wait(answer, attempt)
        if wait is None:
            break
        await asyncio.sleep(wait)
        attempt += 1
    check(context, call, recorded, interaction, answer)


def _unreachable(context: CaseContext, exc: Exception) -> str:
    text = cassettes.scrub_text(f"{type(exc).__name__}: {exc}", context.secrets, context.key_placeholder)
    return f"the live gateway could not be asked ({text})"


def summary_line(results: Iterable[CaseResult]) -> str:
    """The terminal's one line about a verify run: how many calls the live gateway confirmed."""
    marks = [call.verified for result in results for call in result.calls if call.verified]
    verified, drifted, busy = marks.count("verified"), marks.count("drift"), marks.count("not verified")
    return (
        f"anyint verify: {verified} call(s) verified against the live gateway, {drifted} drifted, "
        f"{busy} not verified; no cassette was written"
    )
