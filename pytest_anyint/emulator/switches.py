"""The emulator's switches: faults, planted keys, canned replies, set answers, quirks and drift.

A test flips them between requests (``emu.fail(...)``, ``emu.drift("breaking")``) and the next
matching requests obey. Faults are the fault engine's own :class:`~pytest_anyint.faults.plan.Fault`
objects, checked by its validation, so ``fail()`` takes exactly what ``inject()`` takes and answers
with the same wire; only what a real server cannot do differs (``connect`` needs no server).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ..families import FAMILIES
from ..faults.plan import Fault, make_fault
from .replies import Reply, answer_text

#: Per-model answer quirks (``quirks={"qwen3-max": "fenced-json"}``; several: comma-separated).
#: ``endless-stream``: a streamed answer sends its events but never ends (keep-alive comments follow).
QUIRKS: tuple[str, ...] = ("fenced-json", "prose", "slow", "endless-stream")
#: Where ``plant_key`` makes the emulator echo the key it received, as gateways sometimes do.
KEY_PLACES: tuple[str, ...] = ("header", "query", "json", "error", "redirect", "contract")
DRIFT_CHANGES: tuple[str, ...] = ("additive", "breaking", "wording")


class Switches:
    """The switchable behaviour of an emulator; :class:`~pytest_anyint.emulator.Emulator` is one."""

    #: The model IDs served (set by the emulator before any switch is flipped).
    models: list[str]

    def __init__(self, quirks: Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        #: Per-model quirks; may be changed between requests.
        self.quirks: dict[str, str] = dict(quirks or {})
        for model in self.quirks:
            self.quirks_of(model)  # validate early
        self._faults: list[Fault] = []
        self._plants: list[list[Any]] = []  # [where, model, times left]
        self._canned: list[list[Any]] = []  # [model, reply, times left]
        self._answers: list[list[Any]] = []  # [model, assistant text, times left] (answer_with)
        #: Per model, the assistant text configured for its route (``emulator: reply:`` in anyint.yaml).
        self.route_answers: dict[str, str] = {}
        self._drift: set[tuple[str, str | None]] = set()

    def _known(self, model: str | None) -> None:
        if model is not None and model not in self.models:
            raise ValueError(f"unknown model {model!r}; the emulator serves {', '.join(self.models)}")

    def fail(
        self,
        model: str | None = None,
        *,
        status: int | None = None,
        kind: str | None = None,
        times: int | None = None,
        envelope: str = "gateway",
        retry_after: float | None = None,
        should_retry: bool | None = None,
        variant: str | None = None,
        after_events: int | None = None,
    ) -> Fault:
        """Make the next ``times`` requests naming ``model`` (None: any model) fail.

        Takes the arguments of ``anyint_faults.inject()`` and answers with the same bodies, headers
        and broken streams; a broken stream is cut from the answer the emulator would have sent.
        Faults stack and are used in the order given. ``connect`` needs no server: stop() the
        emulator instead.
        """
        if kind == "connect":
            raise ValueError("fail(kind='connect'): a connect failure needs no server: stop() the emulator instead")
        fault = make_fault(
            model, status=status, kind=kind, times=times, retry_after=retry_after, envelope=envelope,
            should_retry=should_retry, variant=variant, after_events=after_events, who="fail()",
        )
        self._known(model)
        with self._lock:
            self._faults.append(fault)
        return fault

    def plant_key(self, where: str, *, model: str | None = None, times: int | None = 1) -> None:
        """Echo the key the request carried in the next ``times`` answers naming ``model`` (None: any).

        For proving that no echo of a key survives into cassettes, logs or reports. ``where``:
        ``header`` (an ``x-anyint-echo-key`` response header), ``query`` (a JSON field holding the
        request URL with ``?key=``, URL-encoded), ``json`` (a JSON body field), ``error`` (a 400 whose
        message quotes the key), ``redirect`` (a 307 to the same path with ``?key=``, served normally
        when followed), ``contract`` (the key in an OpenAI answer's ``created``, where the contract
        wants a number, so a violation quotes it).
        """
        if where not in KEY_PLACES:
            raise ValueError(f"unknown place {where!r}; expected one of {', '.join(KEY_PLACES)}")
        self._known(model)
        with self._lock:
            self._plants.append([where, model, times])

    def reply_with(
        self,
        body: bytes,
        *,
        model: str | None = None,
        status: int = 200,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the next ``times`` requests naming ``model`` with exactly these bytes (huge, binary…)."""
        self._known(model)
        reply = Reply(status=status, body=bytes(body), content_type=content_type, headers=dict(headers or {}))
        with self._lock:
            self._canned.append([model, reply, times])

    def answer_with(self, answer: Any, *, model: str | None = None, times: int | None = None) -> None:
        """Make the assistant's answer ``answer`` for requests naming ``model`` (None: any model).

        Unlike :meth:`reply_with`, the answer keeps each family's shape (chat completion, Anthropic
        message, Gemini candidates, their streams): only the text changes. Text is sent as it is;
        anything else (a dict, a list, a number) as its JSON. ``times=None``: until :meth:`reset`.
        """
        self._known(model)
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        with self._lock:
            self._answers.append([model, answer_text(answer), times])

    def drift(self, change: str, *, family: str | None = None) -> None:
        """Change every following answer of ``family`` (None: all): additive, breaking or wording."""
        if change not in DRIFT_CHANGES:
            raise ValueError(f"unknown drift {change!r}; expected one of {', '.join(DRIFT_CHANGES)}")
        if family is not None and family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
        with self._lock:
            self._drift.add((change, family))

    def clear_switches(self) -> None:
        """Clear faults, planted keys, canned replies, set answers and drift."""
        with self._lock:
            self._faults.clear()
            self._plants.clear()
            self._canned.clear()
            self._answers.clear()
            self._drift.clear()

    # ----------------------------------------------------------------- reading the switches

    def take_fault(self, model: str) -> Fault | None:
        """The first fault for ``model`` (or any model) whose calls are not used up, counting this one."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(model):
                    fault.used += 1
                    return fault
        return None

    def take(self, switches: list[list[Any]], model: str, model_at: int) -> list[Any] | None:
        """The first switch for ``model`` (or any model), counting down its ``times``."""
        with self._lock:
            for switch in switches:
                if switch[model_at] is None or switch[model_at] == model:
                    if switch[-1] is not None:
                        switch[-1] -= 1
                        if switch[-1] <= 0:
                            switches.remove(switch)
                    return switch
        return None

    def take_canned(self, model: str) -> Reply | None:
        switch = self.take(self._canned, model, 0)
        return switch[1] if switch is not None else None

    def take_plant(self, model: str) -> str | None:
        switch = self.take(self._plants, model, 1)
        return switch[0] if switch is not None else None

    def take_answer(self, model: str) -> str | None:
        switch = self.take(self._answers, model, 0)
        return switch[1] if switch is not None else None

    def quirks_of(self, model: str) -> set[str]:
        quirks = {q.strip() for q in (self.quirks.get(model) or "").split(",") if q.strip()}
        unknown = quirks - set(QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirk {sorted(unknown)[0]!r} for {model}; expected one of {', '.join(QUIRKS)}")
        return quirks

    def has_drift(self, change: str, family: str) -> bool:
        with self._lock:
            return (change, None) in self._drift or (change, family) in self._drift

    def apply_drift(self, family: str, obj: Any) -> Any:
        if isinstance(obj, dict):
            if self.has_drift("additive", family):
                _drift_additive(obj)
            if self.has_drift("breaking", family):
                _drift_breaking(family, obj)
        return obj


def _usage_dicts(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found = [obj.get("usage"), obj.get("usageMetadata")]
    message = obj.get("message")
    if isinstance(message, dict):
        found.append(message.get("usage"))
    return [u for u in found if isinstance(u, dict)]


def _drift_additive(obj: dict[str, Any]) -> None:
    obj["anyint_new_field"] = "x"
    for usage in _usage_dicts(obj):
        usage["anyint_new_detail"] = 0


def _drift_breaking(family: str, obj: dict[str, Any]) -> None:
    if family == "openai":
        for choice in obj.get("choices") or []:
            if isinstance(choice, dict):
                choice.pop("finish_reason", None)
        if "created" in obj:
            obj["created"] = str(obj["created"])
    elif family == "anthropic":
        for holder in (obj, obj.get("message"), obj.get("delta")):
            if isinstance(holder, dict):
                holder.pop("stop_reason", None)
        for usage in _usage_dicts(obj):
            if "input_tokens" in usage:
                usage["input_tokens"] = str(usage["input_tokens"])
    elif family == "gemini":
        for candidate in obj.get("candidates") or []:
            if isinstance(candidate, dict):
                candidate.pop("content", None)
        metadata = obj.get("usageMetadata")
        if isinstance(metadata, dict) and "totalTokenCount" in metadata:
            metadata["totalTokenCount"] = str(metadata["totalTokenCount"])


__all__ = ["DRIFT_CHANGES", "KEY_PLACES", "QUIRKS", "Switches"]
