"""The call trail: every gateway request a test made, in order, as the app's fallback chain saw it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload


@dataclass
class Call:
    """One gateway request and what answered it."""

    model: str | None
    family: str | None
    method: str
    endpoint: str
    status: int | None = None
    stream: bool = False
    #: None, or what was injected: an HTTP status or a fault kind such as "timeout".
    fault: int | str | None = None
    #: "cassette", "network", "fault", or "refused" (not recorded: answered 404 in replay).
    source: str = "network"
    #: The recorded time to the last byte (from the cassette when replaying).
    latency_s: float | None = None
    #: For a stream: the recorded time to the first event carrying answer text (from the cassette
    #: when replaying); None for other calls and for streams recorded before it was kept.
    ttft_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    cost_usd: float | None = None
    #: Echoed model version, e.g. a dated ID the provider resolved the alias to.
    served_model: str | None = None
    #: ``--anyint-record=verify``: "verified" (the live answer matched), "drift" (it did not: contract
    #: or shape) or "not verified" (the gateway stayed busy or could not be asked); None otherwise.
    verified: str | None = None

    @property
    def failed(self) -> bool:
        return self.fault is not None or (self.status is not None and self.status >= 400)

    def describe(self) -> str:
        if self.fault is not None:
            return f"{self.method} {self.endpoint} model={self.model} -> injected {self.fault}"
        return f"{self.method} {self.endpoint} model={self.model} -> {self.status} ({self.source})"


class CallTrail(Sequence[Call]):
    """The calls of one test, with assertions that read like the fallback policy."""

    def __init__(self, calls: list[Call] | None = None, *, primary: str | None = None) -> None:
        self._calls: list[Call] = calls if calls is not None else []
        self._primary = primary

    @overload
    def __getitem__(self, index: int) -> Call: ...
    @overload
    def __getitem__(self, index: slice) -> list[Call]: ...
    def __getitem__(self, index: int | slice) -> Call | list[Call]:
        return self._calls[index]

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(self._calls)

    def __repr__(self) -> str:
        return f"CallTrail({self._calls!r})"

    def append(self, call: Call) -> None:
        self._calls.append(call)

    def models(self) -> list[str]:
        """The models called, in order, each once (the order the chain was walked)."""
        seen: list[str] = []
        for call in self._calls:
            if call.model and call.model not in seen:
                seen.append(call.model)
        return seen

    def _describe(self) -> str:
        if not self._calls:
            return "no gateway calls were made"
        return "calls were:\n" + "\n".join(f"  {i}. {c.describe()}" for i, c in enumerate(self._calls, 1))

    def assert_fallback(self, from_model: str | None = None, to_model: str | None = None) -> None:
        """Assert that a call to ``from_model`` failed and ``to_model`` was called after it."""
        from_model = from_model or self._primary
        failed_at = next(
            (i for i, c in enumerate(self._calls) if c.failed and (from_model is None or c.model == from_model)), None
        )
        if failed_at is None:
            who = from_model or "any model"
            raise AssertionError(f"expected a fallback from {who}, but no call to it failed; {self._describe()}")
        failed = self._calls[failed_at]
        later = [c for c in self._calls[failed_at + 1 :] if c.model and c.model != failed.model]
        if to_model is not None:
            later = [c for c in later if c.model == to_model]
        if not later:
            target = to_model or "another model"
            raise AssertionError(
                f"expected a fallback from {failed.model} to {target} after it failed, "
                f"but the app never called it; {self._describe()}"
            )

    def assert_no_fallback(self) -> None:
        """Assert that only one model was called."""
        models = self.models()
        if len(models) > 1:
            raise AssertionError(f"expected no fallback, but the app called {', '.join(models)}; {self._describe()}")
