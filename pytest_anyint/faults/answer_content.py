"""What an answer fault says, before a family frames it: its text, its tool call, its broken output.

Shared by the renderers of the chat families (``answers``) and of the Responses API
(``answer_responses``): the kinds' texts, the checks of ``inject()`` arguments, and the documents an
``invalid-output`` answer builds from the route's ``output_schema``.

A module of ``faults``: it imports the standard library and the ground modules only.
"""


from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..kinds import ANSWER_FAMILIES, ANSWER_KINDS

#: The ``variant=`` values of ``invalid-output``, the first the default.
INVALID_OUTPUT_VARIANTS: tuple[str, ...] = ("prose", "fenced-json", "missing-key")

#: What each kind did, as a verb phrase for policy messages ("primary gpt-5-mini ...").
DESCRIPTIONS: Mapping[str, str] = {
    "truncated-answer": "answered an answer cut off at the token limit",
    "refusal": "refused to answer",
    "content-filter": "answered with its content filtered out",
    "invalid-output": "answered output that breaks the route's output_schema",
    "empty-answer": "answered an empty answer",
    "broken-tool-call": "answered a tool call whose arguments are not valid JSON",
}

ID = "anyint-answer-fault"
CREATED = 1_750_000_000
REFUSAL = "I'm sorry, but I can't help with that request."
_TRUNCATED = ("The invoice from ACME Corp lists three items: the first is", " a service fee of")
#: A tool call's arguments cut mid-value, as a model that ran out of tokens leaves them.
_BROKEN_ARGUMENTS = ('{"query": "ACME invoice", ', '"limit": ')
_TOOL_NAME = "lookup"
_PROSE = "Sure! The vendor is ACME Corp and the total comes to 42 euros."


class AnswerFaultError(ValueError):
    """An answer fault that cannot be built for a request (its endpoint carries no model answer)."""


# --------------------------------------------------------------------------- checking inject() arguments


def check_variant(kind: str, variant: str | None, output_schema: Path | None, route: str | None) -> str | None:
    """The variant an answer fault uses (lower case), or ValueError naming what is accepted."""
    if kind != "invalid-output":
        if variant is not None:
            raise ValueError(
                f"variant= picks the broken output of kind='invalid-output' "
                f"({', '.join(INVALID_OUTPUT_VARIANTS)}); kind={kind!r} takes none"
            )
        return None
    chosen = (variant or INVALID_OUTPUT_VARIANTS[0]).lower() if isinstance(variant, str) or variant is None else None
    if chosen not in INVALID_OUTPUT_VARIANTS:
        raise ValueError(
            f"unknown variant {variant!r} of kind='invalid-output'; expected one of {', '.join(INVALID_OUTPUT_VARIANTS)}"
        )
    if chosen == "missing-key":
        where = f"route {route!r}" if route else "the route"
        if output_schema is None:
            raise ValueError(
                f"variant='missing-key' leaves out a required key of the route's output_schema, and {where} has "
                f"no output_schema; use variant='prose' or 'fenced-json'"
            )
        if not _required_keys(load_schema(output_schema)):
            raise ValueError(
                f"variant='missing-key' leaves out a required key of {where}'s output_schema {output_schema}, "
                f"which requires none at its top level; use variant='prose' or 'fenced-json'"
            )
    return chosen


def check_family(kind: str, family: str | None, model: str | None) -> None:
    """ValueError when the model's family has no answers to imitate (media and music task flows)."""
    if family is not None and family not in ANSWER_FAMILIES:
        raise ValueError(
            f"kind={kind!r} is an answer fault of the chat families ({', '.join(ANSWER_FAMILIES)}); "
            f"{model or 'this model'} is on the {family} family, whose task flows have no such answer"
        )


# --------------------------------------------------------------------------- the output schema


_SCHEMAS: dict[Path, Any] = {}


def load_schema(path: Path) -> Any:
    """A route's output_schema document (JSON, or YAML by extension), read once per process."""
    schema = _SCHEMAS.get(path)
    if schema is None:
        text = Path(path).read_text(encoding="utf-8")
        if Path(path).suffix.lower() in (".yaml", ".yml"):
            import yaml

            schema = yaml.safe_load(text)
        else:
            schema = json.loads(text)
        _SCHEMAS[path] = schema
    return schema


def _resolve(schema: Any, root: Any) -> Any:
    """A local ``$ref`` (``#/$defs/x``) followed; other schemas as they are."""
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/") and seen < 20:
        target: Any = root
        for part in schema["$ref"][2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
        schema, seen = target, seen + 1
    return schema


def _required_keys(schema: Any) -> list[str]:
    resolved = _resolve(schema, schema)
    required = resolved.get("required") if isinstance(resolved, dict) else None
    return [k for k in required if isinstance(k, str)] if isinstance(required, list) else []


def example_instance(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A small document that satisfies a plain JSON Schema: every required key, first choices."""
    root = schema if root is None else root
    resolved = _resolve(schema, root)
    if not isinstance(resolved, dict) or depth > 12:
        return {}
    node: dict[str, Any] = resolved
    if "const" in node:
        return node["const"]
    for key in ("enum", "examples"):
        if isinstance(node.get(key), list) and node[key]:
            return node[key][0]
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list) and node[key]:
            return example_instance(node[key][0], root, depth + 1)
    if isinstance(node.get("allOf"), list):
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        for part in node["allOf"]:
            part = _resolve(part, root)
            if isinstance(part, dict):
                merged.setdefault("properties", {}).update(part.get("properties") or {})
                merged["required"] = [*merged.get("required", []), *(part.get("required") or [])]
                merged.setdefault("type", part.get("type"))
        return example_instance(merged, root, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    properties: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else {}
    required: list[Any] = node["required"] if isinstance(node.get("required"), list) else []
    if kind == "object" or (kind is None and (properties or required)):
        keys = [*required, *(p for p in properties if p not in required)]
        return {key: example_instance(properties.get(key, {}), root, depth + 1) for key in keys if isinstance(key, str)}
    if kind == "array":
        count = node["minItems"] if isinstance(node.get("minItems"), int) else 1
        return [example_instance(node.get("items", {}), root, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        low = node.get("minimum", node.get("exclusiveMinimum", 0))
        value = (low if isinstance(low, (int, float)) else 0) + (1 if "exclusiveMinimum" in node else 0)
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "string":
        least = node.get("minLength")
        return "ACME Corp".ljust(least, "x") if isinstance(least, int) else "ACME Corp"
    return {}


def invalid_output(variant: str, output_schema: Path | None) -> str:
    """The assistant text of ``invalid-output``: prose, a valid answer fenced in Markdown, or one key short."""
    if variant == "prose":
        return _PROSE
    document = example_instance(load_schema(output_schema)) if output_schema is not None else {"vendor": "ACME Corp", "total": 42}
    if variant == "fenced-json":
        return "```json\n" + json.dumps(document, indent=2, ensure_ascii=False) + "\n```"
    assert output_schema is not None  # check_variant refused missing-key without a schema
    required = _required_keys(load_schema(output_schema))
    if isinstance(document, dict) and required:
        document.pop(required[0], None)
    return json.dumps(document, ensure_ascii=False)


# --------------------------------------------------------------------------- what an answer says


@dataclass(frozen=True)
class Answer:
    """One bad answer before a family frames it: its text pieces (one per stream event) and its end."""

    kind: str
    #: The assistant text, in the pieces a stream delivers; () for no text at all.
    pieces: tuple[str, ...] = ()
    #: A tool call: (name, argument fragments), the fragments joined being invalid JSON.
    tool: tuple[str, tuple[str, ...]] | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def split_text(text: str) -> tuple[str, ...]:
    """Two stream pieces of a text (one when it is short)."""
    if len(text) < 8:
        return (text,) if text else ()
    cut = text.rfind(" ", 0, len(text) // 2 + 1)
    cut = cut if cut > 0 else len(text) // 2
    return (text[:cut], text[cut:])


def _tool_name(family: str, request_json: Any) -> str:
    """The first tool the request offered (an app dispatches on its name), else a plain name."""
    tools = request_json.get("tools") if isinstance(request_json, dict) else None
    if not isinstance(tools, list) or not tools or not isinstance(tools[0], dict):
        return _TOOL_NAME
    first = tools[0]
    if family == "openai":
        name = (first.get("function") or {}).get("name") if isinstance(first.get("function"), dict) else first.get("name")
    elif family == "gemini":
        declarations = first.get("functionDeclarations") or first.get("function_declarations") or [{}]
        name = declarations[0].get("name") if isinstance(declarations, list) and declarations and isinstance(declarations[0], dict) else None
    else:
        name = first.get("name")
    return name if isinstance(name, str) and name else _TOOL_NAME


def answer_of(kind: str, family: str, request_json: Any, variant: str | None, output_schema: Path | None) -> Answer:
    if kind == "truncated-answer":
        return Answer(kind, _TRUNCATED)
    if kind == "refusal":
        return Answer(kind, (REFUSAL,) if family == "openai" else ())
    if kind == "content-filter":
        return Answer(kind, _TRUNCATED[:1] if family == "anthropic" else ())
    if kind == "invalid-output":
        return Answer(kind, split_text(invalid_output(variant or INVALID_OUTPUT_VARIANTS[0], output_schema)))
    if kind == "empty-answer":
        return Answer(kind)
    if kind == "broken-tool-call":
        return Answer(kind, tool=(_tool_name(family, request_json), _BROKEN_ARGUMENTS))
    raise ValueError(f"{kind!r} is not an answer fault; expected one of {', '.join(ANSWER_KINDS)}")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0
