"""Output schemas: is the model's own answer (its text) the JSON document the app's route expects?

A route's ``output_schema`` holds every model of the route, fallbacks too, to the JSON the app
parses. The answer's assistant text is taken per family (a stream's text assembled from the
events the caller already parsed) and must be a bare JSON document matching the schema; fenced
JSON (```json …```) fails naming the model, since that is the silent fallback breakage this exists
to catch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import sse
from ..families import get_family
from .schemas import ContractError, check_schema, read_document
from .validate import is_stream

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from ..families import Family
    from .violation import Violation


def load_output_schema(path: Path) -> dict[str, Any]:
    """A route's ``output_schema`` file (JSON, or YAML by extension), checked against the draft
    2020-12 metaschema so a broken schema fails at load with its file named, not mid-test."""
    path = Path(path)
    schema = read_document(path)
    if not isinstance(schema, dict):
        raise ContractError(f"{path}: not a JSON Schema (expected an object, got {type(schema).__name__})")
    check_schema(schema, path)
    return schema


def assistant_text(family: Family, body: bytes, content_type: str | None, *, parsed: Any = None,
                   events: Sequence[sse.SSEEvent] | None = None) -> str | None:
    """The assistant's text in an answer, per family; streams (SSE or a Gemini array) assembled.

    ``parsed`` / ``events``: the body as the caller already parsed it (JSON, or a stream's events)."""
    if events is not None or is_stream(content_type, body):
        if events is None:
            events = sse.parse(body.decode("utf-8", "replace"))
        return family.stream_text(sse.json_data(events))
    data = parsed
    if data is None:
        try:
            data = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            return None
    if isinstance(data, list):
        return family.stream_text(data)
    return family.text(data)


class OutputChecker:
    """Checks answers against output schemas, each schema's validator built once."""

    def __init__(self) -> None:
        self._validators: dict[str, tuple[dict[str, Any], Validator]] = {}

    def check(self, *, family: str, model: str, body: bytes, content_type: str | None, schema: dict[str, Any],
              schema_path: str, parsed: Any = None, events: Sequence[sse.SSEEvent] | None = None) -> Violation | None:
        """The violation of the answer's text against ``schema``, or None when it conforms."""
        text = assistant_text(get_family(family), body, content_type, parsed=parsed, events=events)
        label = f"output_schema {schema_path}"

        def violation(pointer: str, rule: str, value: Any, detail: str) -> Violation:
            from .violation import Violation  # only once something is wrong

            return Violation(None, None, pointer, rule, value, "error", "documented", f"model {model}: {detail}")

        if not text or not text.strip():
            return violation("", "output.no-text", None, f"the answer has no assistant text to check against {label}")
        stripped = text.strip()
        try:
            data = json.loads(stripped)
        except ValueError:
            if stripped.startswith("```"):
                fence = "```" + stripped[3:].split("\n", 1)[0].strip()
                how = f"fenced in {fence} … ``` instead of bare JSON"
            else:
                how = "not JSON"
            from .violations import short

            return violation("", "output.not-json", stripped[:60],
                             f"the answer is {how} (it starts {short(stripped, 40)}); {label} needs a bare JSON document")
        errors = self._validator(schema, schema_path).iter_errors(data)
        first = next(errors, None)
        if first is None:
            return None
        from jsonschema.exceptions import best_match

        from .violations import chain, explain

        pointer, rule, value, detail = explain(best_match(chain(first, errors)))
        at = f" at {pointer}" if pointer else ""
        return violation(pointer, "output.schema", value, f"the answer breaks {label}{at}: {detail}")

    def _validator(self, schema: dict[str, Any], schema_path: str) -> Validator:
        cached = self._validators.get(schema_path)
        if cached is not None and (cached[0] is schema or cached[0] == schema):
            return cached[1]
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator(schema, format_checker=None)
        self._validators[schema_path] = (schema, validator)
        return validator
