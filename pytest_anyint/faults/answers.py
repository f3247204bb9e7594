"""Answer faults: HTTP 200 answers that are bad as answers, in each family's own shapes.

The failures that hurt most in production arrive as a normal 200: an answer cut off at the token
limit, a refusal, a content filter, prose where JSON was asked for, an empty answer, a tool call
whose arguments are not JSON. Each kind here is built from the family's documented fields (OpenAI
``finish_reason`` / ``message.refusal``, Anthropic ``stop_reason``, Gemini ``finishReason`` /
``promptFeedback.blockReason``), as a JSON body or as the family's stream, and is valid against the
family's contract: only the app's handling is on trial, never the shape of the answer.

Nothing here touches a cassette: the interceptor answers an injected fault before the cassette is
asked, so an injected answer is never recorded.

A module of ``faults``: it imports the standard library, the ground modules and its siblings
``answer_content`` and ``answer_responses``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import answer_responses
from .answer_content import (
    ANSWER_FAMILIES,
    CREATED,
    DESCRIPTIONS,
    ID,
    INVALID_OUTPUT_VARIANTS,
    Answer,
    AnswerFaultError,
    answer_of,
    check_family,
    check_variant,
    dumps,
    example_instance,
    split_text,
    tokens,
)

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
    output = tokens(answer.text) + (tokens("".join(answer.tool[1])) if answer.tool else 0)
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
        "id": f"chatcmpl-{ID}",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _OPENAI_FINISH[answer.kind]}],
        "usage": _openai_usage(answer),
    }


def _openai_events(answer: Answer, model: str, include_usage: bool) -> list[Any]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{ID}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    if answer.kind == "refusal":
        events += [chunk({"refusal": piece}) for piece in split_text(answer.text)]
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
    output = tokens(answer.text) + (tokens("".join(answer.tool[1])) if answer.tool else 0)
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
    output = tokens(answer.text)
    usage = {"promptTokenCount": 12, "totalTokenCount": 12 + output}
    if output:
        usage["candidatesTokenCount"] = output
    return usage


def _gemini_chunks(answer: Answer, model: str) -> list[Any]:
    """The responses of a Gemini answer: one per text piece, the last carrying the finish (or the block)."""
    meta = {"modelVersion": model, "responseId": ID}
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


def _frame(shape: str, obj: Any, sse: bool, first: bool) -> bytes:
    if shape in ("anthropic", "responses"):
        return f"event: {obj['type']}\ndata: ".encode() + dumps(obj) + b"\n\n"
    if shape == "gemini":
        if sse:
            return b"data: " + dumps(obj) + b"\r\n\r\n"
        return (b"[" if first else b",\r\n") + dumps(obj)
    return b"data: " + dumps(obj) + b"\n\n"


#: Endpoints whose answer is a model's answer: (family, path ending) -> the shape answering it.
_ANSWER_ENDPOINTS: dict[tuple[str, str], str] = {
    ("openai", "/chat/completions"): "openai",
    ("openai", "/responses"): "responses",
    ("anthropic", "/v1/messages"): "anthropic",
    ("gemini", ":generateContent"): "gemini",
    ("gemini", ":streamGenerateContent"): "gemini",
}


def _shape(family: str, endpoint: str | None) -> str | None:
    """Which answer shape a request gets (chat completions, Responses, messages, generateContent), or None."""
    if endpoint is None:
        return family if family in ANSWER_FAMILIES else None
    path = endpoint.split("?", 1)[0]
    return next((shape for (name, end), shape in _ANSWER_ENDPOINTS.items() if name == family and path.endswith(end)), None)


def answer_events(kind: str, family: str, model: str, *, endpoint: str | None = None, request_json: Any = None,
                  variant: str | None = None, output_schema: Path | None = None) -> list[Any]:
    """The parsed events (stream chunks) of an answer fault, in order: what a stream delivers."""
    answer = answer_of(kind, family, request_json, variant, output_schema)
    shape = _shape(family, endpoint)
    if shape == "responses":
        return answer_responses.response_events(answer, model)
    if shape == "anthropic":
        return _anthropic_events(answer, model)
    if shape == "gemini":
        return _gemini_chunks(answer, model)
    options = request_json.get("stream_options") if isinstance(request_json, dict) else None
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return _openai_events(answer, model, include_usage)


def answer_body(kind: str, family: str, model: str, *, endpoint: str | None = None, request_json: Any = None,
                variant: str | None = None, output_schema: Path | None = None) -> dict[str, Any]:
    """The JSON body of an answer fault on a request that does not stream."""
    answer = answer_of(kind, family, request_json, variant, output_schema)
    shape = _shape(family, endpoint)
    if shape == "responses":
        return answer_responses.response_body(answer, model)
    if shape == "anthropic":
        return _anthropic_body(answer, model)
    if shape == "gemini":
        return _gemini_body(answer, model)
    return _openai_body(answer, model)


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
    counting, embeddings, media and music tasks): the fault cannot pretend to be an answer there,
    and the test is told so instead of getting a wrong shape.
    """
    name = family or "openai"
    shape = _shape(name, endpoint)
    if shape is None:
        where = {
            "openai": "POST /openai/v1/chat/completions and /openai/v1/responses",
            "anthropic": "POST /anthropic/v1/messages",
            "gemini": "POST /gemini/v1beta/models/MODEL:generateContent (or :streamGenerateContent)",
        }.get(name, "the chat families' answers")
        raise AnswerFaultError(
            f"answer fault {kind!r} met {endpoint}, which carries no model answer it can imitate; "
            f"answer faults answer {where}: inject it on the model the app asks for its answer"
        )
    model = model or "unknown-model"
    request_json = request_json if isinstance(request_json, dict) else None
    options = {"endpoint": endpoint, "request_json": request_json, "variant": variant, "output_schema": output_schema}
    if not stream:
        return (("content-type", "application/json"),), (dumps(answer_body(kind, name, model, **options)),)
    events = answer_events(kind, name, model, **options)
    chunks = [_frame(shape, event, sse, i == 0) for i, event in enumerate(events)]
    if shape == "openai":
        chunks.append(b"data: [DONE]\n\n")
    elif shape == "gemini" and not sse:
        chunks.append(b"]")
    content_type = "application/json" if shape == "gemini" and not sse else "text/event-stream"
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
