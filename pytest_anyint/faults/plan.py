"""Faults injected on purpose: the fault record, its validation, and the fault plan of a case.

A fault answers a gateway request in place of the cassette and the network, at the httpx / httpx2
transport, so the app's own client code meets it exactly as it would meet a failing upstream:
an HTTP error with the gateway's (or the family's native) body, a transport exception of the httpx
module the request came through, or a 200 whose body is broken. Faults are never written into a
cassette (the interceptor answers them before the cassette is asked).

The emulator's ``fail()`` switches are :class:`Fault` objects too, checked by the same
:func:`validate` and answered with the same :meth:`Fault.wire`, so an emulated fault and an
injected one are one thing. The fault kinds themselves live in :mod:`pytest_anyint.kinds`, which
``config`` reads without importing this package.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..families import task_poll
from ..kinds import (
    ALL_KINDS,
    ANSWER_KINDS,
    FAULT_KINDS,
    STREAM_KINDS,
    TASK_KINDS,
    TRANSPORT_KINDS,
    listed,
)
from .tasks import TASK_VARIANTS, failed_task
from .wire import (
    NATIVE_VARIANTS,
    Wire,
    body_fault_wire,
    error_wire,
    family_of,
    json_wire,
    transport_error,
    wire_response,
)

if TYPE_CHECKING:  # types only: the engine loads without the config and trail modules
    from ..calls import Call
    from ..config import AnyIntConfig
    from ..families import StreamForm


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
    variant: str | None = None
    #: For ``truncated-stream`` and ``stream-error``: content events delivered before the break (None: 1).
    after_events: int | None = None
    #: How many calls this fault has answered so far.
    used: int = 0
    #: The route's output_schema file, which an ``invalid-output`` answer breaks.
    output_schema: Path | None = None

    @property
    def label(self) -> int | str:
        """What the trail and the case ids call it: the status, or the kind."""
        return self.status if self.status is not None else str(self.kind)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

    def matches(self, model: str | None) -> bool:
        if self.exhausted:
            return False
        return self.model is None or self.model == model

    def applies_to(self, call: Call) -> bool:
        """Whether this fault answers ``call``: a task fault answers the polls of a task (which name
        no model: the task is the one the test's app created), every other fault calls to its model."""
        if self.kind in TASK_KINDS:
            return not self.exhausted and task_poll(call.method, call.endpoint) is not None
        return self.matches(call.model)

    def wire(
        self, family: str | None, model: str | None, *, stream: bool, form: StreamForm | None = None, answer: Any = None,
        endpoint: str | None = None, request_json: Any = None,
    ) -> Wire:
        """The bytes this fault answers with (transport faults have none: see :func:`transport_error`).

        ``answer``: the complete answer a body fault breaks (the emulator's own); None: a canned one.
        An answer fault is shaped by the request: its ``endpoint`` (chat completions or Responses,
        messages, generateContent) and the tools its ``request_json`` offers.
        """
        if self.status is not None:
            return error_wire(
                self.status, family, envelope=self.envelope, variant=self.variant,
                retry_after=self.retry_after, should_retry=self.should_retry,
            )
        assert self.kind is not None
        if self.kind in ANSWER_KINDS:
            from .answers import answer_wire

            headers, chunks = answer_wire(
                self.kind, family, model, endpoint=endpoint or "", stream=stream, sse=form is None or form.sse,
                request_json=request_json, variant=self.variant, output_schema=self.output_schema,
            )
            return Wire(200, headers, chunks)
        return body_fault_wire(
            self.kind, family, model, stream=stream, form=form, answer=answer, after_events=self.after_events
        )

    def respond(self, call: Call, request: Any, httpx_mod: Any) -> Any:
        """Answer one intercepted request: an httpx Response, or raise the transport's exception."""
        if self.kind in TRANSPORT_KINDS:
            raise transport_error(self.kind, request, httpx_mod)
        poll = task_poll(request.method, request.url.path, request.url.query) if self.kind in TASK_KINDS else None
        if poll is not None:
            return wire_response(json_wire(failed_task(poll, self.variant)), request, httpx_mod)
        form = family_of(call.family).stream_form(request.url.query) if call.stream else None
        request_json = None
        if self.kind in ANSWER_KINDS:
            from ..families import parse_json

            request_json = parse_json(getattr(request, "content", b""))
        wire = self.wire(call.family, call.model, stream=bool(call.stream), form=form, endpoint=call.endpoint,
                         request_json=request_json)
        return wire_response(wire, request, httpx_mod)

    def __str__(self) -> str:
        what = f"status {self.status}" if self.status is not None else str(self.kind)
        if self.variant:
            what += f" ({self.variant})"
        elif self.status is not None and self.envelope == "native":
            what += " (native body)"
        if self.after_events is not None:
            what += f" after {self.after_events} event(s)"
        who = self.model or "any model"
        times = "every call" if self.times is None else f"{self.times} call(s), {self.used} used"
        return f"{what} on {who}, {times}"


def _is_count(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def validate(
    *,
    status: int | None,
    kind: str | None,
    times: int | None,
    retry_after: float | None,
    envelope: str,
    should_retry: bool | None,
    variant: str | None,
    after_events: int | None = None,
    who: str = "inject()",
) -> tuple[int | None, str]:
    """Check the arguments of a fault; returns the (status, envelope) a variant implies. ValueError on misuse.

    ``who`` names the call in the messages: ``inject()`` or the emulator's ``fail()``.
    """
    if kind in ANSWER_KINDS and who != "inject()":
        raise ValueError(
            f"kind={kind!r} is an answer fault: inject it with anyint_faults.inject(..., kind={kind!r}); "
            f"{who} answers the transport and body kinds ({', '.join(FAULT_KINDS)})"
        )
    if kind in TASK_KINDS:
        if variant is not None and variant.lower() not in TASK_VARIANTS:
            raise ValueError(f"unknown task state {variant!r} for kind={kind!r}; known: {', '.join(TASK_VARIANTS)}")
        variant = None  # a task state, checked: not a native error body
    if variant is not None and kind not in ANSWER_KINDS:
        key = variant.lower()
        if key not in NATIVE_VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; known native variants: {', '.join(NATIVE_VARIANTS)}")
        family, variant_status = NATIVE_VARIANTS[key]
        if kind is not None:
            raise ValueError(f"variant={variant!r} is an HTTP error body; it goes with status=, not kind=")
        if status is not None and status != variant_status:
            raise ValueError(f"variant {variant!r} is {family}'s {variant_status} body, not a {status}")
        status, envelope = variant_status, "native"
    if (status is None) == (kind is None):
        raise ValueError(f'{who} takes exactly one of status= (e.g. 503) or kind= (e.g. "timeout")')
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599):
        raise ValueError(f"status= must be an HTTP error status (400-599), got {status!r}")
    if kind is not None and kind not in ALL_KINDS and kind not in TASK_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {listed()}; task polls: {', '.join(TASK_KINDS)}")
    if envelope not in ("gateway", "native"):
        raise ValueError(f'envelope= must be "gateway" or "native", got {envelope!r}')
    if kind is not None and (retry_after is not None or should_retry is not None or envelope != "gateway"):
        raise ValueError(
            f"retry_after=, should_retry= and envelope= shape an HTTP error answer; they go with status=, "
            f"not kind={kind!r}"
        )
    if after_events is not None:
        if kind not in STREAM_KINDS:
            shown = f"kind={kind!r}" if kind is not None else f"status={status}"
            raise ValueError(
                f"after_events= says where a stream breaks; it goes with kind= {' or '.join(STREAM_KINDS)}, not {shown}"
            )
        if not _is_count(after_events, 0):
            raise ValueError(f"after_events= must be a number of content events >= 0, got {after_events!r}")
    if times is not None and not _is_count(times, 1):
        raise ValueError(f"times= must be a positive number of calls (or None for every call), got {times!r}")
    if retry_after is not None and (isinstance(retry_after, bool) or not isinstance(retry_after, (int, float)) or retry_after < 0):
        raise ValueError(f"retry_after= must be a number of seconds >= 0, got {retry_after!r}")
    if should_retry not in (None, True, False):
        raise ValueError(f"should_retry= must be True, False or None, got {should_retry!r}")
    return status, envelope


def make_fault(
    model: str | None,
    *,
    status: int | None = None,
    kind: str | None = None,
    times: int | None = None,
    retry_after: float | None = None,
    envelope: str = "gateway",
    should_retry: bool | None = None,
    variant: str | None = None,
    after_events: int | None = None,
    who: str = "inject()",
) -> Fault:
    """A validated :class:`Fault` (ValueError on misuse): what ``inject()`` and ``fail()`` both build."""
    status, envelope = validate(
        status=status, kind=kind, times=times, retry_after=retry_after, envelope=envelope,
        should_retry=should_retry, variant=variant, after_events=after_events, who=who,
    )
    return Fault(model, status, kind, times, retry_after, envelope, should_retry, variant.lower() if variant else None,
                 after_events)


class _Session(Protocol):
    @property
    def config(self) -> AnyIntConfig: ...


class _Case(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def fault(self) -> int | str | None: ...


class FaultPlan:
    """The faults of one running case; the interceptor asks it first for every gateway request.

    In a fault case (``faults=`` on the marker) the plan starts with the case's fault on the
    primary, for the whole test. ``inject()`` adds more; the latest matching fault answers.
    """

    def __init__(self, session: _Session | None = None, case: _Case | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._label: str | None = case.label if case is not None else None
        self._chain: tuple[str, ...] = ()
        #: The family of each model of the chain, and the route's output_schema (for answer faults).
        self._families: dict[str, str] = {}
        self._output_schema: Path | None = None
        if session is not None and case is not None:
            try:
                route = session.config.route(case.label)
                self._chain = tuple(m.model for m in route.chain)
                self._families = {m.model: m.family for m in route.chain}
                self._output_schema = route.output_schema
            except Exception:  # noqa: BLE001 - a bad label is reported by collection, not here
                self._chain = ()
        fault = case.fault if case is not None else None
        if case is not None and fault is not None:
            self._faults.append(
                Fault(case.model, status=fault if isinstance(fault, int) else None, kind=None if isinstance(fault, int) else fault,
                      output_schema=self._output_schema if fault in ANSWER_KINDS else None)
            )

    @property
    def faults(self) -> list[Fault]:
        """The faults of this case, oldest first (the case's own fault, then each ``inject``)."""
        return list(self._faults)

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
        variant: str | None = None,
        after_events: int | None = None,
    ) -> Fault:
        """Make calls to ``model`` (None: any model) fail with ``status`` or ``kind``.

        ``times=None`` fails every call; ``envelope="native"`` sends the upstream family's own error
        body; ``variant`` picks a named native body ("insufficient_quota", "api_key_invalid") and
        implies its status; ``retry_after`` adds a ``retry-after`` header (and Gemini's RetryInfo);
        ``should_retry=False`` adds ``x-should-retry: false``, which the SDKs obey;
        ``after_events`` (``truncated-stream``, ``stream-error``) is how many content events of a
        stream arrive before the break (default 1).

        A bad argument raises ``ValueError`` with its one line; left uncaught, it fails the test
        with that line alone (a ``MisuseError``), not a traceback through this module.
        """
        try:
            fault = self._checked(
                model, status=status, kind=kind, times=times, retry_after=retry_after, envelope=envelope,
                should_retry=should_retry, variant=variant, after_events=after_events,
            )
        except ValueError as exc:
            problem = str(exc)
        else:
            with self._lock:
                self._faults.append(fault)
            return fault
        from ..misuse import MisuseError  # raised outside the except block: no "during handling" chain

        raise MisuseError(problem)

    def _checked(self, model: str | None, *, kind: str | None, variant: str | None, **arguments: Any) -> Fault:
        """The fault ``inject()`` asked for, checked against the route; ValueError on misuse."""
        fault = make_fault(model, kind=kind, variant=variant, **arguments)
        if model is not None and self._chain and model not in self._chain:
            raise ValueError(
                f"inject({model!r}): {model} is not in route {self._label!r} (chain: {', '.join(self._chain)}), "
                f"so no call of this test can reach it"
            )
        if kind in ANSWER_KINDS:
            from .answers import check_family, check_variant

            fault.variant = check_variant(kind, variant, self._output_schema, self._label)
            fault.output_schema = self._output_schema
            if model is not None:
                check_family(kind, self._families.get(model), model)
        return fault

    def take(self, call: Call) -> Fault | None:
        """The fault that answers this call (the latest matching one), counting it as used."""
        with self._lock:
            for fault in reversed(self._faults):
                if fault.applies_to(call):
                    fault.used += 1
                    return fault
        return None

    def __repr__(self) -> str:
        return f"FaultPlan([{'; '.join(str(f) for f in self._faults)}])"


__all__ = ["Fault", "FaultPlan", "make_fault", "validate"]
