"""Answer faults: HTTP 200 answers that are bad as answers, in each family's own shapes.

The failures that hurt most in production arrive as a normal 200: an answer cut off at the token
limit, a refusal, a content filter, prose where JSON was asked for, an empty answer, a tool call
whose arguments are not JSON. Each kind here is built from the family's documented fields (OpenAI
``finish_reason`` / ``message.refusal``, Anthropic ``stop_reason``, Gemini ``finishReason`` /
``promptFeedback.blockReason``), as a JSON body or as the family's stream, and is valid against the
family's contract: only the app's handling is on trial, never the shape of the answer.

Nothing here touches a cassette: the interceptor answers an injected fault before the cassette is
asked, so an injected answer is never recorded.

A module of ``faults``: it imports the standard library and the ground modules only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..kinds import ANSWER_KINDS

#: The ``variant=`` values of ``invalid-output``, the first the default.
INVALID_OUTPUT_VARIANTS: tuple[str, ...] = ("prose", "fenced-json", "missing-key")
#: The families whose answers these faults imitate (media and music have task flows, not answers).
ANSWER_FAMILIES: tuple[str, ...] = ("openai", "anthropic", "gemini")

#: What each kind did, as a verb phrase for policy messages ("primary gpt-5-mini ...").
DESCRIPTIONS: Mapping[str, str] = {
    "truncated-answer": "answered an answer cut off at the token limit",
    "refusal": "refused to answer",
    "content-filter": "answered with its content filtered out",
    "invalid-output": "answered output that breaks the route's output_schema",
    "empty-answer": "answered an empty answer",
    "broken-tool-call": "answered a tool call whose arguments are not valid JSON",
}

_ID = "anyint-answer-fault"
_CREATED = 1_750_000_000
_REFUSAL = "I'm sorry, but I can't help with that request."
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


def _split(text: str) -> tuple[str, ...]:
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
        return Answer(kind, (_REFUSAL,) if family == "openai" else ())
    if kind == "content-filter":
        return Answer(kind, _TRUNCATED[:1] if family == "anthropic" else ())
    if kind == "invalid-output":
        return Answer(kind, _split(invalid_output(variant or INVALID_OUTPUT_VARIANTS[0], output_schema)))
    if kind == "empty-answer":
        return Answer(kind)
    if kind == "broken-tool-call":
        return Answer(kind, tool=(_tool_name(family, request_json), _BROKEN_ARGUMENTS))
    raise ValueError(f"{kind!r} is not an answer fault; expected one of {', '.join(ANSWER_KINDS)}")


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


# --------------------------------------------------------------------------- OpenAI chat completions

_OPENAI_FINISH = {
    "truncated-answer": "length",
    "refusal": "stop",
    "content-filter": "content_filter",
    "invalid-output": "stop",
    "empty-answer": "stop",
    "broken-tool-call": "tool_calls",
}


def _openai_usage(answer: Answer) -> dict[str, int]:
    output = _tokens(answer.text) + (_tokens("".join(answer.tool[1])) if answer.tool else 0)
    return {"prompt_tokens": 12, "completion_tokens": output, "total_tokens": 12 + output}


def _openai_body(answer: Answer, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if answer.kind == "refusal":
        message["refusal"] = answer.text
    elif answer.tool is not None:
        name, fragments = answer.tool
        message["tool_calls"] = [
            {"id": "call_anyint_fault", "type": "function", "function": {"name": name, "arguments": "".join(fragments)}}
        ]
    elif answer.kind != "content-filter":
        message["content"] = answer.text
    return {
        "id": f"chatcmpl-{_ID}",
        "object": "chat.completion",
        "created": _CREATED,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _OPENAI_FINISH[answer.kind]}],
        "usage": _openai_usage(answer),
    }


def _openai_events(answer: Answer, model: str, include_usage: bool) -> list[Any]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{_ID}",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    if answer.kind == "refusal":
        events += [chunk({"refusal": piece}) for piece in _split(answer.text)]
    elif answer.tool is not None:
        name, fragments = answer.tool
        opening = {"index": 0, "id": "call_anyint_fault", "type": "function", "function": {"name": name, "arguments": ""}}
        events.append(chunk({"tool_calls": [opening]}))
        events += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}) for piece in fragments]
    else:
        events += [chunk({"content": piece}) for piece in answer.pieces]
    events.append(chunk({}, _OPENAI_FINISH[answer.kind]))
    if include_usage:
        events.append({**chunk({}), "choices": [], "usage": _openai_usage(answer)})
    return events


# --------------------------------------------------------------------------- Anthropic messages

_ANTHROPIC_STOP = {
    "truncated-answer": "max_tokens",
    "refusal": "refusal",
    "content-filter": "refusal",
    "invalid-output": "end_turn",
    "empty-answer": "end_turn",
    "broken-tool-call": "max_tokens",
}


def _anthropic_input(fragments: Sequence[str]) -> dict[str, Any]:
    """What Anthropic's non-stream body keeps of a cut tool call: the arguments complete so far
    (the SDK's stream accumulator reads the same from the stream's fragments)."""
    done = "".join(fragments[:-1]).rstrip().rstrip(",")
    try:
        parsed = json.loads(done + "}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _anthropic_blocks(answer: Answer) -> list[dict[str, Any]]:
    if answer.tool is not None:
        name, fragments = answer.tool
        return [{"type": "tool_use", "id": "toolu_anyint_fault", "name": name, "input": _anthropic_input(fragments)}]
    return [{"type": "text", "text": answer.text}] if answer.pieces else []


def _anthropic_body(answer: Answer, model: str) -> dict[str, Any]:
    output = _tokens(answer.text) + (_tokens("".join(answer.tool[1])) if answer.tool else 0)
    body: dict[str, Any] = {
        "id": "msg_anyint_fault",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _anthropic_blocks(answer),
        "stop_reason": _ANTHROPIC_STOP[answer.kind],
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": output},
    }
    return body


def _anthropic_events(answer: Answer, model: str) -> list[Any]:
    start = {**_anthropic_body(answer, model), "content": [], "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}
    events: list[Any] = [{"type": "message_start", "message": start}]
    if answer.tool is not None:
        name, fragments = answer.tool
        block = {"type": "tool_use", "id": "toolu_anyint_fault", "name": name, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in fragments]
    elif answer.pieces:
        block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in answer.pieces]
    else:
        block, deltas = None, []
    if block is not None:
        events.append({"type": "content_block_start", "index": 0, "content_block": block})
        events += [{"type": "content_block_delta", "index": 0, "delta": delta} for delta in deltas]
        events.append({"type": "content_block_stop", "index": 0})
    output = _anthropic_body(answer, model)["usage"]["output_tokens"]
    events.append(
        {"type": "message_delta", "delta": {"stop_reason": _ANTHROPIC_STOP[answer.kind], "stop_sequence": None},
         "usage": {"output_tokens": output}}
    )
    events.append({"type": "message_stop"})
    return events


# --------------------------------------------------------------------------- Gemini generateContent

_GEMINI_FINISH = {
    "truncated-answer": "MAX_TOKENS",
    "refusal": "SAFETY",
    "invalid-output": "STOP",
    "empty-answer": "STOP",
    "broken-tool-call": "MALFORMED_FUNCTION_CALL",
}
_BLOCKED_RATING = {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}


def _gemini_usage(answer: Answer) -> dict[str, int]:
    output = _tokens(answer.text)
    usage = {"promptTokenCount": 12, "totalTokenCount": 12 + output}
    if output:
        usage["candidatesTokenCount"] = output
    return usage


def _gemini_chunks(answer: Answer, model: str) -> list[Any]:
    """The responses of a Gemini answer: one per text piece, the last carrying the finish (or the block)."""
    meta = {"modelVersion": model, "responseId": _ID}
    if answer.kind == "content-filter":
        # The prompt was blocked: no candidates at all, only the prompt feedback.
        feedback = {"blockReason": "SAFETY", "safetyRatings": [_BLOCKED_RATING]}
        return [{"promptFeedback": feedback, "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}, **meta}]
    chunks: list[Any] = []
    for piece in answer.pieces[:-1]:
        chunks.append({"candidates": [{"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}],
                       "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}, **meta})
    last: dict[str, Any] = {"index": 0, "finishReason": _GEMINI_FINISH[answer.kind]}
    if answer.pieces:
        last["content"] = {"parts": [{"text": answer.pieces[-1]}], "role": "model"}
    elif answer.kind != "refusal":
        last["content"] = {"role": "model"}  # no parts: what an empty answer looks like on the wire
    if answer.kind == "refusal":
        last["safetyRatings"] = [_BLOCKED_RATING]
    if answer.tool is not None:
        name, fragments = answer.tool
        last["finishMessage"] = f"Malformed function call: {name}({''.join(fragments)}"
    chunks.append({"candidates": [last], "usageMetadata": _gemini_usage(answer), **meta})
    return chunks


def _gemini_body(answer: Answer, model: str) -> dict[str, Any]:
    chunks = _gemini_chunks(answer, model)
    last = dict(chunks[-1])
    if answer.pieces and "candidates" in last:
        candidate = dict(last["candidates"][0])
        candidate["content"] = {"parts": [{"text": answer.text}], "role": "model"}
        last["candidates"] = [candidate]
    return last


# --------------------------------------------------------------------------- framing


def _frame(family: str, obj: Any, sse: bool, first: bool) -> bytes:
    if family == "anthropic":
        return f"event: {obj['type']}\ndata: ".encode() + _dumps(obj) + b"\n\n"
    if family == "gemini":
        if sse:
            return b"data: " + _dumps(obj) + b"\r\n\r\n"
        return (b"[" if first else b",\r\n") + _dumps(obj)
    return b"data: " + _dumps(obj) + b"\n\n"


def answer_events(kind: str, family: str, model: str, *, request_json: Any = None, variant: str | None = None,
                  output_schema: Path | None = None) -> list[Any]:
    """The parsed events (stream chunks) of an answer fault, in order: what a stream delivers."""
    answer = answer_of(kind, family, request_json, variant, output_schema)
    if family == "anthropic":
        return _anthropic_events(answer, model)
    if family == "gemini":
        return _gemini_chunks(answer, model)
    options = request_json.get("stream_options") if isinstance(request_json, dict) else None
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return _openai_events(answer, model, include_usage)


def answer_body(kind: str, family: str, model: str, *, request_json: Any = None, variant: str | None = None,
                output_schema: Path | None = None) -> dict[str, Any]:
    """The JSON body of an answer fault on a request that does not stream."""
    answer = answer_of(kind, family, request_json, variant, output_schema)
    if family == "anthropic":
        return _anthropic_body(answer, model)
    if family == "gemini":
        return _gemini_body(answer, model)
    return _openai_body(answer, model)


#: Endpoints whose answer is a model's answer, per family (the answer faults' shapes are theirs).
_ANSWER_ENDPOINTS = {
    "openai": ("/chat/completions",),
    "anthropic": ("/v1/messages",),
    "gemini": (":generateContent", ":streamGenerateContent"),
}


def answer_wire(
    kind: str,
    family: str | None,
    model: str | None,
    *,
    endpoint: str,
    stream: bool,
    sse: bool = True,
    request_json: Any = None,
    variant: str | None = None,
    output_schema: Path | None = None,
) -> tuple[tuple[tuple[str, str], ...], tuple[bytes, ...]]:
    """The headers and body pieces of an answer fault (status 200) for one request.

    AnswerFaultError when the request's endpoint carries no model answer (a models list, token
    counting, embeddings, the Responses API, media and music tasks): the fault cannot pretend to be
    an answer there, and the test is told so instead of getting a wrong shape.
    """
    name = family or "openai"
    path = endpoint.split("?", 1)[0]
    if name not in _ANSWER_ENDPOINTS or not path.endswith(_ANSWER_ENDPOINTS[name]):
        chat = {"openai": "POST /openai/v1/chat/completions", "anthropic": "POST /anthropic/v1/messages",
                "gemini": "POST /gemini/v1beta/models/MODEL:generateContent (or :streamGenerateContent)"}
        where = chat.get(name, "; ".join(chat.values()))
        raise AnswerFaultError(
            f"answer fault {kind!r} met {endpoint}, which carries no model answer it can imitate; "
            f"answer faults answer {where}: inject it on the model the app asks for its answer"
        )
    model = model or "unknown-model"
    request_json = request_json if isinstance(request_json, dict) else None
    if not stream:
        body = answer_body(kind, name, model, request_json=request_json, variant=variant, output_schema=output_schema)
        return (("content-type", "application/json"),), (_dumps(body),)
    events = answer_events(kind, name, model, request_json=request_json, variant=variant, output_schema=output_schema)
    chunks = [_frame(name, event, sse, i == 0) for i, event in enumerate(events)]
    if name == "openai":
        chunks.append(b"data: [DONE]\n\n")
    elif name == "gemini" and not sse:
        chunks.append(b"]")
    content_type = "application/json" if name == "gemini" and not sse else "text/event-stream"
    return (("content-type", content_type), ("cache-control", "no-cache")), tuple(chunks)


__all__ = [
    "ANSWER_FAMILIES",
    "DESCRIPTIONS",
    "INVALID_OUTPUT_VARIANTS",
    "AnswerFaultError",
    "answer_body",
    "answer_events",
    "answer_wire",
    "check_family",
    "check_variant",
    "example_instance",
]
