"""Inferring a route's ``output_schema`` from what its primary model actually answered.

A route's fallbacks are only as good as their answers' likeness to the primary's: the app parses
one JSON shape. Writing that schema by hand is guesswork; the recorded answers already hold it.
Each answer's assistant text (a stream's text assembled) is parsed as JSON and given to genson,
which merges the documents into one JSON Schema: a key present in every answer is required, one
seen in only some is optional, and a value seen with several types accepts each of them. The
result is for a person to review and then set as the route's ``output_schema``, after which every
model of the route is held to it.

Plain library code: the ``infer-schema`` command reads the cassettes and feeds the answers here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..families import get_family
from ..text import clip, one_line
from .output import assistant_text

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


class InferError(Exception):
    """No schema can be inferred (no answers, or none of them JSON); the message is one line."""


@dataclass
class SchemaInference:
    """The answers of one model of one route, gathered one by one, and the schema they imply."""

    route: str
    model: str
    #: answers whose assistant text is a JSON document
    documents: int = 0
    #: (where, how the text starts) of answers that are not JSON, for the message that names them
    not_json: list[tuple[str, str]] = field(default_factory=list)
    _builder: Any = None  # genson's SchemaBuilder (untyped), made on first use

    @property
    def answers(self) -> int:
        return self.documents + len(self.not_json)

    def add(self, *, family: str, body: bytes, content_type: str | None, where: str) -> bool:
        """Take one recorded answer; False when its text is not JSON (it is remembered for the message)."""
        text = assistant_text(get_family(family), body, content_type)
        stripped = (text or "").strip()
        try:
            document = json.loads(stripped)
        except ValueError:
            self.not_json.append((where, clip(stripped, 40) if stripped else "no assistant text"))
            return False
        if self._builder is None:
            from genson import SchemaBuilder

            self._builder = SchemaBuilder(schema_uri=SCHEMA_URI)
        self._builder.add_object(document)
        self.documents += 1
        return True

    def schema(self) -> dict[str, Any]:
        """The inferred JSON Schema (draft 2020-12), or InferError saying why there is none."""
        if self._builder is None:
            if not self.not_json:
                raise InferError(f"route {self.route!r}: no recorded answer of {self.model} was found")
            where, start = self.not_json[0]
            raise InferError(
                f"route {self.route!r}: none of the {len(self.not_json)} recorded answer(s) of {self.model} is a "
                f"JSON document (first: {where} starts {start}); infer-schema needs a route whose model answers "
                "with JSON, such as one asking for response_format json_object"
            )
        inferred: dict[str, Any] = self._builder.to_schema()
        described = {
            "$schema": SCHEMA_URI,
            "title": f"{self.route} answers",
            "description": one_line(
                f"Inferred by pytest-anyint infer-schema from {self.documents} recorded answer(s) of {self.model} "
                f"(route {self.route}): keys present in every answer are required. Review it before setting it "
                "as the route's output_schema."
            ),
        }
        return {**described, **{k: v for k, v in inferred.items() if k != "$schema"}}
