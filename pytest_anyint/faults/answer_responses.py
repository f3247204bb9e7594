"""Answer faults on OpenAI's Responses API (``POST /openai/v1/responses``), in its own shapes.

The Responses API says what went wrong with an answer differently from chat completions: a cut-off
or filtered answer is ``status: "incomplete"`` with ``incomplete_details.reason``
(``max_output_tokens``, ``content_filter``), a refusal is a ``refusal`` content part, a tool call a
``function_call`` output item; a stream is named events ending in ``response.completed`` or
``response.incomplete``, each with its ``sequence_number``.

A module of ``faults``: it imports the standard library, the ground modules and ``answer_content``.
"""

from __future__ import annotations

from typing import Any

from .answer_content import CREATED, ID, Answer, split_text, tokens

#: (status, incomplete reason) of the response, per kind.
_STATUS: dict[str, tuple[str, str | None]] = {
    "truncated-answer": ("incomplete", "max_output_tokens"),
    "refusal": ("completed", None),
    "content-filter": ("incomplete", "content_filter"),
    "invalid-output": ("completed", None),
    "empty-answer": ("completed", None),
    "broken-tool-call": ("completed", None),
}
_MESSAGE_ID = "msg_anyint_fault"
_CALL_ID = "fc_anyint_fault"


def _items(answer: Answer) -> list[dict[str, Any]]:
    """The output items of the finished response."""
    status, _ = _STATUS[answer.kind]
    if answer.tool is not None:
        name, fragments = answer.tool
        return [{"type": "function_call", "id": _CALL_ID, "call_id": "call_anyint_fault", "name": name,
                 "arguments": "".join(fragments), "status": "completed"}]
    if answer.kind == "content-filter":
        return []
    if answer.kind == "refusal":
        part: dict[str, Any] = {"type": "refusal", "refusal": answer.text}
    else:
        part = {"type": "output_text", "text": answer.text, "annotations": [], "logprobs": []}
    return [{"type": "message", "id": _MESSAGE_ID, "status": status, "role": "assistant", "content": [part]}]


def response_body(answer: Answer, model: str, *, items: list[dict[str, Any]] | None = None,
                  finished: bool = True) -> dict[str, Any]:
    """The Response object: finished (the body, or the stream's last event), or just created."""
    status, reason = _STATUS[answer.kind]
    output = tokens(answer.text) + (tokens("".join(answer.tool[1])) if answer.tool else 0)
    return {
        "id": f"resp_{ID}",
        "object": "response",
        "created_at": CREATED,
        "status": status if finished else "in_progress",
        "error": None,
        "incomplete_details": {"reason": reason} if reason and finished else None,
        "model": model,
        "output": (_items(answer) if items is None else items) if finished else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {"input_tokens": 12, "output_tokens": output, "total_tokens": 12 + output,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}
        if finished else None,
    }


def response_events(answer: Answer, model: str) -> list[dict[str, Any]]:
    """The named events of a streamed Response, ``sequence_number`` in order."""
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": response_body(answer, model, finished=False)},
        {"type": "response.in_progress", "response": response_body(answer, model, finished=False)},
    ]
    for item in _items(answer):
        opened = {**item, "status": "in_progress"}
        if item["type"] == "function_call":
            opened["arguments"] = ""
            events.append({"type": "response.output_item.added", "output_index": 0, "item": opened})
            assert answer.tool is not None
            for piece in answer.tool[1]:
                events.append({"type": "response.function_call_arguments.delta", "item_id": _CALL_ID,
                               "output_index": 0, "delta": piece})
            events.append({"type": "response.function_call_arguments.done", "item_id": _CALL_ID, "output_index": 0,
                           "arguments": item["arguments"]})
        else:
            part = item["content"][0]
            empty = {**part, "refusal": ""} if part["type"] == "refusal" else {**part, "text": ""}
            opened["content"] = []
            where = {"item_id": _MESSAGE_ID, "output_index": 0, "content_index": 0}
            events.append({"type": "response.output_item.added", "output_index": 0, "item": opened})
            events.append({"type": "response.content_part.added", **where, "part": empty})
            if part["type"] == "refusal":
                events += [{"type": "response.refusal.delta", **where, "delta": p} for p in split_text(answer.text)]
                events.append({"type": "response.refusal.done", **where, "refusal": answer.text})
            else:
                events += [{"type": "response.output_text.delta", **where, "delta": p, "logprobs": []}
                           for p in answer.pieces]
                events.append({"type": "response.output_text.done", **where, "text": answer.text, "logprobs": []})
            events.append({"type": "response.content_part.done", **where, "part": part})
        events.append({"type": "response.output_item.done", "output_index": 0, "item": item})
    status, _ = _STATUS[answer.kind]
    last = "response.completed" if status == "completed" else "response.incomplete"
    events.append({"type": last, "response": response_body(answer, model)})
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]
