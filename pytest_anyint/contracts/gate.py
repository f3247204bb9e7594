"""The contract gate of one route case: what the interceptor asks of the contracts, request by request.

Before a request: is it a route the gateway publishes? After each answer: does it satisfy its
contract, and (for a model answer on a route with an ``output_schema``) is its text the JSON the
app expects? At the end: which violations fail the test under ``--anyint-contracts``. The index
and output schemas are loaded once per process and shared by every case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import sse
from .index import ContractIndex
from .output import load_output_schema
from .schemas import BUILD_LOCK, ContractError
from .validate import is_stream

if TYPE_CHECKING:
    from ..config import RouteConfig
    from .violation import Violation


# Protocols: for the type checker only (each costs a class build at import, and nothing reads them at run time).
if TYPE_CHECKING:
    class CallFacts(Protocol):
        """What the gate reads of a call (``calls.Call`` has it; ``check`` builds one per interaction)."""

        @property
        def model(self) -> str | None: ...

        @property
        def family(self) -> str | None: ...

    class OptionFacts(Protocol):
        @property
        def rootdir(self) -> Path: ...

        @property
        def contracts_mode(self) -> str: ...

        @property
        def contracts_dirs(self) -> Sequence[str]: ...

    class SessionFacts(Protocol):
        """What the gate reads of the run's session: its contract options."""

        @property
        def options(self) -> OptionFacts: ...


_SESSION_INDEXES: dict[tuple[str, ...], ContractIndex] = {}
_OUTPUT_SCHEMAS: dict[Path, dict[str, Any]] = {}
#: Endpoints that carry no model answer, so a route's output_schema does not apply to them.
_NO_ANSWER_SUFFIXES = ("/models", "/count_tokens")


def session_index(extra_dirs: Sequence[str] = ()) -> ContractIndex:
    """The shipped contracts plus the user's, loaded and compiled once per process."""
    key = tuple(extra_dirs)
    index = _SESSION_INDEXES.get(key)
    if index is None:
        with BUILD_LOCK:
            index = _SESSION_INDEXES.get(key)
            if index is None:
                index = _SESSION_INDEXES[key] = ContractIndex.load([Path(d) for d in extra_dirs])
    return index


class ContractGate:
    """The contracts as the interceptor meets them during one route case: published routes before a
    request, every response validated after it, and the route's output_schema on model answers."""

    def __init__(self, index: ContractIndex, mode: str, route_label: str,
                 output_schema: dict[str, Any] | None = None, output_schema_path: str | None = None) -> None:
        self.index = index
        self.mode = mode
        self.route_label = route_label
        self.output_schema = output_schema
        self.output_schema_path = output_schema_path
        self.violations: list[Violation] = []

    @classmethod
    def for_route(cls, session: SessionFacts, route: RouteConfig) -> ContractGate:
        """Raises ConfigError (one line) for a bad user contract directory or output schema."""
        from ..config import ConfigError

        try:
            index = session_index(session.options.contracts_dirs)
            schema = None
            if route.output_schema is not None:
                schema = _OUTPUT_SCHEMAS.get(route.output_schema)
                if schema is None:
                    schema = _OUTPUT_SCHEMAS[route.output_schema] = load_output_schema(route.output_schema)
        except ContractError as exc:
            raise ConfigError(str(exc)) from None
        shown = str(route.output_schema) if route.output_schema is not None else None
        if shown is not None:
            try:
                shown = str(Path(shown).relative_to(session.options.rootdir))
            except ValueError:
                pass
        return cls(index, session.options.contracts_mode, route.label, schema, shown)

    def check_request(self, call: CallFacts, method: str, path: str) -> str | None:
        if self.index.is_published(method, path):
            return None
        return (
            f"{method} {path} is not a published gateway route; the closest published route is "
            f"{self.index.closest_route(method, path)}"
        )

    def check_response(self, call: CallFacts, *, method: str, path: str, status: int, content_type: str | None,
                       body: bytes, cassette: str | None, interaction: int | None, parsed: Any = None,
                       events: Sequence[sse.SSEEvent] | None = None) -> None:
        """Validate one answer and, for a model answer, its text against the route's output_schema.

        A stream is parsed once here (when the caller has not) and its events serve both checks."""
        check_output = (self.output_schema is not None and 200 <= status < 300 and call.model and call.family
                        and not path.endswith(_NO_ANSWER_SUFFIXES))
        if events is None and parsed is None and check_output and is_stream(content_type, body):
            events = sse.parse(body.decode("utf-8", "replace"))
        found = self.index.validate(method=method, path=path, status=status, content_type=content_type,
                                    body=body, cassette=cassette, interaction=interaction, parsed=parsed,
                                    events=events)
        if found:
            self.violations.extend(found)
        if check_output and self.output_schema is not None and call.model and call.family:
            problem = self.index.check_output(family=call.family, model=call.model, body=body,
                                              content_type=content_type, schema=self.output_schema,
                                              schema_path=self.output_schema_path or "output_schema",
                                              parsed=parsed, events=events)
            if problem is not None:
                where = f"{cassette} interaction #{interaction}: " if cassette else ""
                self.violations.append(dataclasses.replace(
                    problem, cassette=cassette, interaction=interaction,
                    message=f"route {self.route_label!r}: {where}{problem.message}"))

    def outcome(self) -> tuple[list[str], list[str]]:
        """(messages that fail the test, messages shown as warnings) under the session's mode."""
        if self.mode == "off":
            return [], []
        errors: list[str] = []
        warnings: list[str] = []
        for violation in self.violations:
            (errors if violation.fails(self.mode) else warnings).append(f"contract: {violation.message}")
        return errors, warnings
