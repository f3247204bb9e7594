"""Violations: one broken rule in one answer, worded for a user and located to the JSON path.

A violation names the cassette, the interaction, the event of a stream and the JSON pointer, the
rule and how sure the rule is (``documented``, ``upstream`` or ``assumed``); the record itself
(``violation.Violation``) is loaded only once something is wrong. Values in messages are JSON
(``text.clip``), so a string reads ``"yesterday"`` exactly as it is on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..fastschema import KNOWN_VALUES
from ..text import clip, one_line
from .entries import IndexEntry

if TYPE_CHECKING:
    from jsonschema import ValidationError

    from .violation import Violation

_MAX_VIOLATIONS = 50  # per body: past this a report helps nobody
_VALUE_LIMIT = 80


def json_pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def short(value: object, limit: int = _VALUE_LIMIT) -> str:
    """A value as a message quotes it: JSON (a string in double quotes), clipped."""
    return clip(value, limit)


_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
               (dict, "object"), (type(None), "null"))


def _json_type(value: Any) -> str:
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _compact_value(value: Any) -> Any:
    """Scalars as they are; containers summarised so reports stay small."""
    if isinstance(value, (dict, list)):
        return short(value)
    return value


def explain(error: ValidationError) -> tuple[str, str, Any, str]:
    """(pointer, rule, value, detail) for one jsonschema error, in words a user understands."""
    keyword = error.validator
    path = list(error.absolute_path)
    instance = error.instance
    rule_value: Any = error.validator_value  # the keyword's value in the schema
    if keyword in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        return explain(best_match(error.context))
    if keyword == "required":
        missing = [k for k in rule_value if isinstance(instance, dict) and k not in instance]
        key = next((k for k in missing if error.message.startswith(repr(k))), missing[0] if missing else "?")
        return json_pointer(path + [key]), "schema.required", None, "required key is missing"
    if keyword == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return (json_pointer(path), "schema.type", _compact_value(instance),
                f"expected {expected_text}, got {_json_type(instance)} {short(instance)}")
    if keyword == "const":
        return (json_pointer(path), "schema.const", _compact_value(instance),
                f"expected {short(error.validator_value)}, got {short(instance)}")
    if keyword == "enum":
        return (json_pointer(path), "schema.enum", _compact_value(instance),
                f"{short(instance)} is not one of {short(error.validator_value, 200)}")
    if keyword is None and error.schema is False:  # a key the schema rules out (e.g. a snake_case twin)
        key = str(path[-1]) if path else ""
        camel = re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), key)
        hint = f" (the wire spells it {camel}: a snake_case key is a Python SDK's spelling)" if camel != key else ""
        return json_pointer(path), "schema.forbidden", _compact_value(instance), f"key {key!r} is not allowed here{hint}"
    if keyword == KNOWN_VALUES:
        known = ", ".join(map(str, rule_value))
        known = known if len(known) <= 200 else known[:199] + "…"
        return (json_pointer(path), "enum.unknown", instance, f"{short(instance)} is not a known value (known: {known})")
    return json_pointer(path), f"schema.{keyword}", _compact_value(instance), one_line(error.message)[:200]


def _where(cassette: str | None, interaction: int | None, event: int | None, event_name: str | None) -> str:
    parts = []
    if cassette:
        parts.append(cassette)
    if interaction is not None:
        parts.append(f"interaction #{interaction}")
    if event is not None:
        parts.append(f"event #{event}" + (f" ({event_name})" if event_name else ""))
    return " ".join(parts) + ": " if parts else ""


class Reporter:
    """Builds the violations of one body; only ever created when something is wrong (a plain class:
    a builder, never compared or printed)."""

    def __init__(self, entry: IndexEntry, cassette: str | None, interaction: int | None) -> None:
        self.entry = entry
        self.cassette = cassette
        self.interaction = interaction
        self.out: list[Violation] = []

    def add(self, pointer: str, rule: str, value: Any, detail: str, *, event: int | None = None,
            event_name: str | None = None, label: str | None = None, severity: str | None = None) -> None:
        if len(self.out) >= _MAX_VIOLATIONS:
            return
        from .violation import GROWTH_RULES, Violation  # only once something is wrong

        if severity is None:
            severity = "warning" if (self.entry.confidence == "assumed" or rule in GROWTH_RULES) else "error"
        where = _where(self.cassette, self.interaction, event, event_name)
        located = f"{pointer}: " if pointer else ""
        message = f"{where}{located}{detail} ({self.entry.confidence} rule, {label or self.entry.label})"
        self.out.append(Violation(self.cassette, self.interaction, pointer, rule, value, severity,
                                  self.entry.confidence, message, event))

    def schema_errors(self, errors: Iterable[ValidationError], *, prefix: str = "", event: int | None = None,
                      event_name: str | None = None, label: str | None = None) -> None:
        seen = set()
        for error in errors:
            pointer, rule, value, detail = explain(error)
            if (pointer, rule) in seen:
                continue
            seen.add((pointer, rule))
            self.add(prefix + pointer, rule, value, detail, event=event, event_name=event_name, label=label)


def chain(first: ValidationError, rest: Iterator[ValidationError]) -> Iterator[ValidationError]:
    yield first
    yield from rest
