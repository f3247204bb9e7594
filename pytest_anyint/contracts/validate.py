"""Validation: one answer (a JSON body or a stream's events) against its index entry's schemas.

This is the hot path: the interceptor validates every recorded or replayed answer, ``check``
every cassette. So a body is parsed once by the caller, a stream is parsed once and its events
handed along, each schema is compiled once per index into the fast "valid?" closures of
``fastschema``, and jsonschema (slow to import, slow to run) is asked only to explain a "no".
A body that validates cleanly builds nothing else.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import sse
from ..fastschema import FastCompiler, Unsupported
from ..text import one_line
from .entries import IndexEntry
from .schemas import BUILD_LOCK, ContractError, read_document, schema_file, validator_class

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator
    from referencing import Registry, Resource

    from .violation import Violation
    from .violations import Reporter

#: One event as the grammar and schemas meet it: (event name, data or a stand-in, raw data).
Event = tuple[str | None, Any, str | None]


def is_stream(content_type: str | None, body: bytes) -> bool:
    """Whether an answer is a server-sent event stream (by its type; a cassette without one, by its start)."""
    return sse.is_event_stream(content_type or None, body)


class Validators:
    """The schemas of one index, compiled on first use and kept: fast closures, jsonschema validators."""

    def __init__(self) -> None:
        self._validators: dict[str, Validator] = {}
        self._resources: dict[str, Resource[Any]] = {}
        self._documents: dict[str, Any] = {}
        self._registry: Registry[Any] | None = None
        self.fast_checks: dict[str, Callable[[Any], bool] | None] = {}
        self._fast_compiler: FastCompiler | None = None

    def fast(self, ref: str) -> Callable[[Any], bool] | None:
        """The fast "valid?" check of a schema, or None when only jsonschema can judge it.

        Compiled under the build lock and published only once whole: the compiler's memo holds
        placeholders while it works (for cycles), which another thread must never call."""
        try:
            return self.fast_checks[ref]
        except KeyError:
            pass
        with BUILD_LOCK:
            if ref in self.fast_checks:
                return self.fast_checks[ref]
            compiler = self._fast_compiler
            if compiler is None:
                compiler = self._fast_compiler = FastCompiler(self.document)
            try:
                check: Callable[[Any], bool] | None = compiler.ref(ref if "#" in ref else ref + "#")
            except (Unsupported, ContractError, KeyError, TypeError, ValueError, IndexError):
                check = None
                self._fast_compiler = None  # its memo may hold a placeholder that is never filled
            self.fast_checks[ref] = check
            return check

    def errors(self, ref: str, data: Any) -> Iterator[ValidationError] | None:
        """None when ``data`` satisfies the schema, else an iterator over its errors (non-empty)."""
        fast = self.fast(ref)
        if fast is not None and fast(data):
            return None
        try:
            errors = list(self.validator(ref).iter_errors(data))
        except ContractError:
            raise
        except Exception as exc:  # an unresolvable $ref in a user schema, surfacing mid-validation
            raise ContractError(f"{schema_file(ref)}: cannot be used: {one_line(str(exc))[:200]}") from None
        return iter(errors) if errors else None

    def validator(self, ref: str) -> Validator:
        validator = self._validators.get(ref)
        if validator is not None:
            return validator
        with BUILD_LOCK:
            return self._build_validator(ref)

    def _build_validator(self, ref: str) -> Validator:
        validator = self._validators.get(ref)
        if validator is None:
            cls = validator_class()
            uri, _, fragment = ref.partition("#")
            if fragment:
                schema: Any = {"$ref": ref}
            else:
                schema = dict(self._resource(uri).contents)
            validator = cls(schema, registry=self._get_registry(), format_checker=None)
            self._validators[ref] = validator
        return validator

    def document(self, uri: str) -> Any:
        """A schema file's contents, read once; the fast path needs no ``referencing`` (~30 ms to import)."""
        try:
            return self._documents[uri]
        except KeyError:
            pass
        if not uri.startswith("file:"):
            raise Unsupported(f"$ref to {uri}")
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(uri).path))
        contents = read_document(path)
        if isinstance(contents, dict):
            # Relative $refs resolve beside the file; without "$schema" jsonschema keeps our
            # class (with x-known-values) when a $ref crosses into this file.
            contents = {**{k: v for k, v in contents.items() if k != "$schema"}, "$id": uri}
        self._documents[uri] = contents
        return contents

    def _resource(self, uri: str) -> Resource[Any]:
        resource = self._resources.get(uri)
        if resource is None:
            from referencing.jsonschema import DRAFT202012

            if not uri.startswith("file:"):
                from referencing.exceptions import NoSuchResource

                raise NoSuchResource(uri)
            resource = DRAFT202012.create_resource(self.document(uri))
            self._resources[uri] = resource
        return resource

    def _get_registry(self) -> Registry[Any]:
        if self._registry is None:
            from referencing import Registry

            # referencing declares the field "_retrieve" (attrs strips the underscore, mypy does not)
            self._registry = Registry(retrieve=self._resource)  # type: ignore[call-arg]
        return self._registry


def new_reporter(entry: IndexEntry, cassette: str | None, interaction: int | None) -> Reporter:
    """The builder of one body's violations; its module is loaded only once something is wrong."""
    from .violations import Reporter

    return Reporter(entry, cassette, interaction)


def validate_body(validators: Validators, entry: IndexEntry, *, status: int, body: bytes, parsed: Any,
                  cassette: str | None, interaction: int | None) -> list[Violation]:
    """A JSON answer (or a Gemini stream without ``alt=sse``: a JSON array of chunks) against its entry."""
    if entry.schema is None:
        return []
    if not body:
        reporter = new_reporter(entry, cassette, interaction)
        reporter.add("", "body.empty", None, f"HTTP {status} answer has an empty body where JSON is expected")
        return reporter.out
    try:
        data = json.loads(body) if parsed is None else parsed
    except (ValueError, UnicodeDecodeError) as exc:
        reporter = new_reporter(entry, cassette, interaction)
        from .violations import short

        reporter.add("", "json.invalid", short(body[:60].decode("utf-8", "replace")),
                     f"body is not JSON ({one_line(str(exc))})")
        return reporter.out
    if entry.grammar is not None and isinstance(data, list) and "*" in entry.event_schemas:
        return validate_events(validators, entry, [(None, item, None) for item in data], True, cassette,
                               interaction, array=True)
    errors = validators.errors(entry.schema, data)
    if errors is None:
        return []
    reporter = new_reporter(entry, cassette, interaction)
    reporter.schema_errors(errors)
    return reporter.out


def validate_stream(validators: Validators, entry: IndexEntry, body: bytes, cassette: str | None,
                    interaction: int | None, events: Sequence[sse.SSEEvent] | None = None) -> list[Violation]:
    """A server-sent event stream against its entry: each event's schema and the family's grammar.

    ``events``: the stream as ``sse.parse`` gave it to the caller (parsed once per stream)."""
    if not entry.event_schemas and entry.grammar is None and entry.schema is None:
        return []
    from .grammars import BAD_JSON, DONE, PARTIAL  # streams only: a run without one never loads them

    if events is None:
        events = sse.parse(body.decode("utf-8", "replace"))
    terminated = sse.is_terminated(body[-4:].decode("utf-8", "replace"))
    parsed: list[Event] = []
    for number, event in enumerate(events, 1):
        if event.is_done:
            parsed.append((event.event, DONE, None))
            continue
        try:
            parsed.append((event.event, event.json(), None))
        except ValueError:
            partial = number == len(events) and not terminated
            parsed.append((event.event, PARTIAL if partial else BAD_JSON, event.data))
    if not terminated and parsed and parsed[-1][1] is DONE:
        terminated = True  # "data: [DONE]" without its blank line is a finished stream
    return validate_events(validators, entry, parsed, terminated, cassette, interaction, array=False)


def validate_events(validators: Validators, entry: IndexEntry, parsed: list[Event], terminated: bool,
                    cassette: str | None, interaction: int | None, *, array: bool) -> list[Violation]:
    from .grammars import BAD_JSON, DONE, GRAMMARS, PARTIAL, GenericGrammar  # streams only

    reporter: Reporter | None = None

    def report() -> Reporter:
        nonlocal reporter
        if reporter is None:
            reporter = new_reporter(entry, cassette, interaction)
        return reporter

    grammar = GRAMMARS.get(entry.grammar or "", GenericGrammar)(entry.family)
    # Hot loop (a 2,000-chunk stream runs it 2,000 times): lookups hoisted, the fast check of a
    # schema taken straight from its cache, the message context built only for a report.
    step, event_schemas, fast_checks = grammar.step, entry.event_schemas, validators.fast_checks
    fallback = event_schemas.get("*") or (None if array else entry.schema)
    for number, (name, data, raw) in enumerate(parsed, 1):
        if data is PARTIAL:
            continue  # the cut-off tail: reported once as stream.truncated below
        kind: str | None
        if name:
            kind = name
        elif type(data) is dict:
            found_kind = data.get("type")
            kind = found_kind if type(found_kind) is str else None
        else:
            kind = None
        if data is BAD_JSON:
            from .violations import short

            report().add(f"/{number - 1}" if array else "", "json.invalid", short(raw or ""),
                         "event data is not JSON", event=None if array else number, event_name=kind)
            continue
        found = step(number, name, data)
        if found:
            for rule, detail in found:
                report().add(f"/{number - 1}" if array else "", rule, None, detail,
                             event=None if array else number, event_name=kind)
        if data is DONE or grammar.skip_schema:
            continue
        schema = (event_schemas.get(kind) if kind else None) or fallback
        if schema is None:
            if event_schemas and kind and entry.grammar == "anthropic":
                report().add(f"/{number - 1}" if array else "", "stream.unknown-event", kind,
                             f"unknown event type {kind!r} (clients ignore it)",
                             event=None if array else number, event_name=kind)
            continue
        try:
            fast = fast_checks[schema]
        except KeyError:
            fast = validators.fast(schema)
        if fast is not None and fast(data):
            continue
        errors = validators.errors(schema, data)
        if errors is not None:
            label = f"{entry.family} {kind}" if entry.grammar in ("anthropic", "responses") and kind else None
            report().schema_errors(errors, prefix=f"/{number - 1}" if array else "", label=label,
                                   event=None if array else number, event_name=kind)
    for rule, detail in grammar.finish(terminated, len(parsed)):
        report().add("", rule, None, detail)
    return reporter.out if reporter is not None else []
