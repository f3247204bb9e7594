"""Every payload the official SDKs' own types describe passes the shipped contracts.

A false alarm on a healthy app is the worst thing a test tool can do, so the schemas are held to the
SDKs' pydantic models: payloads are generated from ``openai``, ``anthropic`` and ``google-genai``
types with polyfactory (seeded, so a run is repeatable) and hand-built from realistic answers, then
dumped the ways a server may send them (every field, ``null`` fields left out, unset fields left
out; google-genai by alias, the wire's camelCase). Streams are wrapped in the smallest well-formed
stream of their family, so one event type at a time meets the grammar too.

Core keys are set to realistic values where a factory would make up nonsense the SDKs themselves
never see (an empty ``choices`` in a non-stream completion, a Gemini candidate with neither content
nor finish reason): those are breakage, and ``test_contract_mutations.py`` proves they are caught.

The known-value lists of the schemas (finish reasons, item and event types, …) are checked against
the SDKs' enums and ``Literal`` types, so an SDK upgrade that adds a value fails here first.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from polyfactory.factories.pydantic_factory import ModelFactory
from pydantic import BaseModel

from pytest_anyint.contracts import SHIPPED_DIR, ContractIndex

anthropic_types = pytest.importorskip("anthropic.types")
openai_chat = pytest.importorskip("openai.types.chat")
openai_responses = pytest.importorskip("openai.types.responses")
genai_types = pytest.importorskip("google.genai.types")
import openai.types as openai_types  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "contracts.md"
GEMINI = "/gemini/v1beta/models/gemini-2.5-flash"
JSON, SSE = "application/json", "text/event-stream"
CHAT = ("POST", "/openai/v1/chat/completions")
RESPONSES = ("POST", "/openai/v1/responses")
MESSAGES = ("POST", "/anthropic/v1/messages")
SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def index() -> ContractIndex:
    return ContractIndex.load()


# --------------------------------------------------------------------------- factories


class _Factory(ModelFactory):
    """Lists of one or two items (an empty list is a value of its own, tested by hand) and a JSON
    object wherever an SDK types a field as bare ``object``."""

    __is_base_factory__ = True
    __randomize_collection_length__ = True
    __min_collection_length__ = 1
    __max_collection_length__ = 2

    @classmethod
    def get_provider_map(cls) -> dict[Any, Callable[[], Any]]:
        providers = super().get_provider_map()
        providers[object] = lambda: {"city": "Oslo"}
        return providers


def members(union: Any) -> list[type]:
    """The classes of a (possibly ``Annotated``, possibly nested) union type."""
    if typing.get_origin(union) is typing.Annotated:
        return members(typing.get_args(union)[0])
    if typing.get_origin(union) in (typing.Union, getattr(__import__("types"), "UnionType", ())):
        return [m for arg in typing.get_args(union) for m in members(arg) if m is not type(None)]
    return [union]


def build(cls: type[BaseModel], seed: int, **fixed: Any) -> BaseModel:
    factory = _Factory.create_factory(cls, **fixed)
    factory.seed_random(seed)
    return factory.build()


def dumps(model: BaseModel | dict, *, alias: bool = False) -> list[tuple[str, Any]]:
    """The ways a server sends one payload: every field, nulls left out, unset fields left out."""
    if isinstance(model, dict):
        return [("as-built", model)]
    return [
        ("all", model.model_dump(mode="json", by_alias=alias)),
        ("no-nulls", model.model_dump(mode="json", by_alias=alias, exclude_none=True)),
        ("set-only", model.model_dump(mode="json", by_alias=alias, exclude_unset=True)),
    ]


def literal(cls: type[BaseModel], name: str) -> Any:
    """The single value of a ``Literal`` field (a discriminator such as ``type``)."""
    (value,) = typing.get_args(cls.model_fields[name].annotation)
    return value


# --------------------------------------------------------------------------- realistic cores

def _chat_message(**extra: Any) -> dict:
    return {"role": "assistant", "content": "Canberra.", **extra}


def realistic_chat(**message: Any) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1755781234, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": _chat_message(**message), "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}


def chunk(**fields: Any) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1755781234, "model": "gpt-4o-mini",
            "choices": [], **fields}


def realistic_response(**fields: Any) -> dict:
    return {"id": "resp_1", "object": "response", "created_at": 1755781234, "status": "completed",
            "model": "gpt-4o-mini", "output": [{"type": "message", "id": "msg_1", "status": "completed",
                                               "role": "assistant", "content": [
                                                   {"type": "output_text", "text": "Canberra.", "annotations": []}]}],
            "usage": {"input_tokens": 9, "output_tokens": 3, "total_tokens": 12,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}}, **fields}


def realistic_message(**fields: Any) -> dict:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": "Canberra."}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 9, "output_tokens": 3}, **fields}


def realistic_candidate(**fields: Any) -> genai_types.Candidate:
    return genai_types.Candidate(content=genai_types.Content(role="model", parts=[genai_types.Part(text="Canberra.")]),
                                 finish_reason=genai_types.FinishReason.STOP, index=0, **fields)


# --------------------------------------------------------------------------- stream wrappers


def sse(events: list[Any], *, named: bool = False, done: bool = False) -> bytes:
    out = []
    for event in events:
        head = f"event: {event['type']}\n" if named else ""
        out.append(f"{head}data: {json.dumps(event)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def anthropic_stream(event: dict) -> bytes:
    """The smallest well-ordered stream around one event (its block index is 0)."""
    start = {"type": "message_start", "message": realistic_message(content=[], stop_reason=None)}
    block_start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    block_stop = {"type": "content_block_stop", "index": 0}
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
             "usage": {"output_tokens": 3}}
    stop = {"type": "message_stop"}
    flow = {
        "message_start": [event, delta, stop],
        "content_block_start": [start, event, block_stop, delta, stop],
        "content_block_delta": [start, block_start, event, block_stop, delta, stop],
        "content_block_stop": [start, block_start, event, delta, stop],
        "message_delta": [start, event, stop],
        "message_stop": [start, delta, event],
    }[event["type"]]
    return sse(flow, named=True)


_TERMINAL = ("response.completed", "response.failed", "response.incomplete")


def responses_stream(event: dict) -> bytes:
    created = {"type": "response.created", "sequence_number": 0,
               "response": realistic_response(status="in_progress", output=[], usage=None)}
    completed = {"type": "response.completed", "sequence_number": 9, "response": realistic_response()}
    if event["type"] in ("response.created", "response.in_progress", "response.queued") and event["type"] != "x":
        flow = [event, completed] if event["type"] == "response.created" else [created, event, completed]
    elif event["type"] in _TERMINAL:
        flow = [created, event]
    else:
        flow = [created, event, completed]
    return sse(flow, named=True)


def gemini_final() -> dict:
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP", "index": 0}]}


# --------------------------------------------------------------------------- the payloads

Case = tuple[str, str, int, str, bytes]  # method, path, status, content type, body


def _json_cases(label: str, route: tuple[str, str], payloads: Iterator[tuple[str, Any]]) -> Iterator[Any]:
    for name, payload in payloads:
        yield f"{label}/{name}", route, JSON, payload


def _chat_cases() -> Iterator[tuple[str, Any]]:
    tool_call_types = members(openai_chat.ChatCompletionMessageToolCallUnion)
    for seed in SEEDS:
        for tool_type in tool_call_types:
            message = build(openai_chat.ChatCompletionMessage, seed,
                            tool_calls=[build(tool_type, seed)])
            choice = build(openai_chat.chat_completion.Choice, seed, message=message, index=0)
            for variant, data in dumps(build(openai_chat.ChatCompletion, seed, choices=[choice])):
                yield f"factory-{tool_type.__name__}-{seed}-{variant}", data
    hand = {
        "tool-calls": realistic_chat(content=None, tool_calls=[
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]),
        "tool-calls-content-absent": realistic_chat(tool_calls=[
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]),
        "refusal": realistic_chat(content=None, refusal="I can't help with that."),
        "audio": realistic_chat(content=None, audio={"id": "audio_1", "data": "UklGRg==", "expires_at": 1755784834,
                                                     "transcript": "Canberra."}),
        "annotations": realistic_chat(annotations=[{"type": "url_citation", "url_citation": {
            "start_index": 0, "end_index": 8, "url": "https://example.com", "title": "Example"}}]),
        "annotations-null": realistic_chat(annotations=None, tool_calls=None, audio=None, function_call=None),
        "usage-null": {**realistic_chat(), "usage": None},
        "usage-details": {**realistic_chat(), "usage": {
            "prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12,
            "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": None},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": None,
                                          "rejected_prediction_tokens": 0}}},
        "logprobs": {**realistic_chat(), "choices": [{"index": 0, "message": _chat_message(), "finish_reason": "stop",
                                                      "logprobs": {"content": [{"token": "Can", "logprob": -0.1,
                                                                                "bytes": [67, 97, 110],
                                                                                "top_logprobs": []}],
                                                                   "refusal": None}}]},
    }
    for name, data in hand.items():
        yield from _hand(openai_chat.ChatCompletion, name, data)


def _chunk_cases() -> Iterator[tuple[str, Any]]:
    for seed in SEEDS:
        delta = build(openai_chat.chat_completion_chunk.ChoiceDelta, seed,
                      tool_calls=[build(openai_chat.chat_completion_chunk.ChoiceDeltaToolCall, seed, index=0)])
        choice = build(openai_chat.chat_completion_chunk.Choice, seed, delta=delta, index=0)
        for variant, data in dumps(build(openai_chat.ChatCompletionChunk, seed, choices=[choice])):
            yield f"factory-{seed}-{variant}", data
    hand = {
        "role": chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]),
        "content": chunk(choices=[{"index": 0, "delta": {"content": "Can"}, "finish_reason": None, "logprobs": None}]),
        "tool-call-first": chunk(choices=[{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]},
            "finish_reason": None}]),
        "tool-call-delta": chunk(choices=[{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": None, "type": None, "function": {"name": None, "arguments": "{\"ci"}}]},
            "finish_reason": None}]),
        "tool-calls-null": chunk(choices=[{"index": 0, "delta": {"content": "x", "tool_calls": None,
                                                                 "function_call": None, "refusal": None},
                                           "finish_reason": None}], obfuscation=None),
        "usage-chunk": chunk(usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12,
                                    "prompt_tokens_details": {"cached_tokens": 0}}),
        "finish": chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "tool_calls"}], usage=None),
    }
    for name, data in hand.items():
        yield from _hand(openai_chat.ChatCompletionChunk, name, data)


@functools.cache
def factory_response(seed: int, status: str = "completed") -> Any:
    """A factory-built Response (the model is large: built once per seed and status, then copied)."""
    return build(openai_responses.Response, seed, status=status)


def _response_cases() -> Iterator[tuple[str, Any]]:
    for item_type in members(openai_responses.ResponseOutputItem):
        for seed in SEEDS[:2]:
            item = build(item_type, seed)
            for variant, data in dumps(factory_response(seed).model_copy(update={"output": [item]})):
                yield f"factory-{item_type.__name__}-{seed}-{variant}", data
    for name, data in {"hand": realistic_response(), "usage-null": realistic_response(usage=None, error=None),
                       "incomplete": realistic_response(status="incomplete",
                                                        incomplete_details={"reason": "max_output_tokens"})}.items():
        yield name, data


def _response_event_cases() -> Iterator[tuple[str, bytes]]:
    for event_type in members(openai_responses.ResponseStreamEvent):
        kind = literal(event_type, "type")
        if kind == "error":
            continue  # an error after HTTP 200 is reported on purpose (stream.error-event)
        fixed: dict[str, Any] = {}
        if "response" in event_type.model_fields:
            status = {"response.completed": "completed", "response.failed": "failed",
                      "response.incomplete": "incomplete"}.get(kind, "in_progress")
            fixed["response"] = factory_response(1, status)
        for seed in SEEDS[:2]:
            for variant, data in dumps(build(event_type, seed, **fixed)):
                yield f"{kind}-{seed}-{variant}", responses_stream(data)


def _embedding_cases() -> Iterator[tuple[str, Any]]:
    for seed in SEEDS:
        for variant, data in dumps(build(openai_types.CreateEmbeddingResponse, seed)):
            yield f"factory-{seed}-{variant}", data
    base = {"object": "list", "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2}}
    yield "floats", {**base, "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2, 3]}]}
    yield "base64", {**base, "data": [{"object": "embedding", "index": 0, "embedding": "zczMPc3MTL4AAEBA"}]}


def _model_list_cases() -> Iterator[tuple[str, Any]]:
    for seed in SEEDS:
        models = [m.model_dump(mode="json") for m in (build(openai_types.Model, seed), build(openai_types.Model, seed + 9))]
        yield f"openai-factory-{seed}", ("GET", "/openai/v1/models"), {"object": "list", "data": models}
        info = [build(anthropic_types.ModelInfo, seed).model_dump(mode="json")]
        yield f"anthropic-factory-{seed}", ("GET", "/anthropic/v1/models"), {
            "data": info, "has_more": False, "first_id": info[0]["id"], "last_id": info[0]["id"]}
        gmodel = build(genai_types.Model, seed, name="models/gemini-2.5-flash").model_dump(
            mode="json", by_alias=True, exclude_none=True)
        yield f"gemini-factory-{seed}", ("GET", "/gemini/v1beta/models"), {"models": [gmodel]}
    yield "anthropic-empty", ("GET", "/anthropic/v1/models"), {"data": [], "has_more": False, "first_id": None,
                                                               "last_id": None}


def _message_cases() -> Iterator[tuple[str, Any]]:
    for block_type in members(anthropic_types.ContentBlock):
        for seed in SEEDS[:2]:
            for variant, data in dumps(build(anthropic_types.Message, seed, content=[build(block_type, seed)])):
                yield f"factory-{literal(block_type, 'type')}-{seed}-{variant}", data
    hand = {
        "text": realistic_message(),
        "tool-use": realistic_message(content=[{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                                "input": {"city": "Oslo"}}], stop_reason="tool_use"),
        "thinking": realistic_message(content=[{"type": "thinking", "thinking": "Hmm.", "signature": "EqQB"},
                                               {"type": "text", "text": "Canberra."}]),
        "thinking-without-signature": realistic_message(content=[{"type": "thinking", "thinking": "Hmm."}]),
        "redacted-thinking": realistic_message(content=[{"type": "redacted_thinking", "data": "EmwKAhgB"}]),
        "server-tools": realistic_message(content=[
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "Canberra"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
                {"type": "web_search_result", "url": "https://example.com", "title": "Example",
                 "encrypted_content": "EqgB", "page_age": None}]},
            {"type": "text", "text": "Canberra.", "citations": None}]),
        "stop-reason-absent": {k: v for k, v in realistic_message().items() if k not in ("stop_reason", "stop_sequence")},
        "usage-nulls": realistic_message(usage={"input_tokens": 9, "output_tokens": 3, "cache_creation_input_tokens": None,
                                                "cache_read_input_tokens": None, "cache_creation": None,
                                                "server_tool_use": None, "service_tier": None}),
    }
    for name, data in hand.items():
        yield from _hand(anthropic_types.Message, name, data)


def _anthropic_event_cases() -> Iterator[tuple[str, bytes]]:
    for event_type in members(anthropic_types.RawMessageStreamEvent):
        kind = literal(event_type, "type")
        variants: list[tuple[str, dict[str, Any]]] = [("", {})]
        if kind == "content_block_start":
            variants = [(literal(b, "type"), {"content_block": b}) for b in members(anthropic_types.ContentBlock)]
        elif kind == "content_block_delta":
            variants = [(literal(d, "type"), {"delta": d}) for d in members(anthropic_types.RawContentBlockDelta)]
        for sub, fixed in variants:
            for seed in SEEDS[:2]:
                values = {k: build(v, seed) for k, v in fixed.items()}
                if "index" in event_type.model_fields:
                    values["index"] = 0
                if kind == "message_start":
                    values["message"] = build(anthropic_types.Message, seed, content=[])
                for variant, data in dumps(build(event_type, seed, **values)):
                    yield f"{kind}{'-' + sub if sub else ''}-{seed}-{variant}", anthropic_stream(data)


def gemini_content(seed: int) -> genai_types.Content:
    """Factory parts whose core keys are real: a function call has a name, inline data has bytes,
    file data has a URI (the SDK types all three Optional, but a part without them says nothing)."""
    parts = []
    for part in build(genai_types.Content, seed).parts or [genai_types.Part(text="Canberra.")]:
        update: dict[str, Any] = {}
        if part.function_call is not None:
            update["function_call"] = part.function_call.model_copy(update={"name": "get_weather"})
        if part.inline_data is not None:
            update["inline_data"] = part.inline_data.model_copy(update={"data": b"\x89PNG", "mime_type": "image/png"})
        if part.file_data is not None:
            update["file_data"] = part.file_data.model_copy(update={"file_uri": "gs://bucket/a.png"})
        parts.append(part.model_copy(update=update))
    return genai_types.Content(role="model", parts=parts)


def _gemini_cases() -> Iterator[tuple[str, Any]]:
    skip = {"sdk_http_response": None, "automatic_function_calling_history": None, "parsed": None}
    for seed in SEEDS:
        for variant, data in dumps(build(genai_types.GenerateContentResponse, seed, **skip,
                                         candidates=[build(genai_types.Candidate, seed, content=gemini_content(seed),
                                                           finish_reason=genai_types.FinishReason.STOP)],
                                         prompt_feedback=None), alias=True):
            yield f"factory-{seed}-{variant}", data
    part = genai_types.Part
    hand = {
        "function-call": genai_types.GenerateContentResponse(candidates=[realistic_candidate().model_copy(update={
            "content": genai_types.Content(role="model", parts=[part(function_call=genai_types.FunctionCall(
                name="get_weather", args={"city": "Oslo"}))])})]),
        "inline-data": genai_types.GenerateContentResponse(candidates=[realistic_candidate().model_copy(update={
            "content": genai_types.Content(role="model", parts=[part(inline_data=genai_types.Blob(
                mime_type="image/png", data=b"\x89PNG"))])})]),
        "thought-parts": genai_types.GenerateContentResponse(candidates=[realistic_candidate().model_copy(update={
            "content": genai_types.Content(role="model", parts=[part(text="Let me think.", thought=True,
                                                                     thought_signature=b"sig"),
                                                                part(text="Canberra.")])})]),
        "prompt-feedback-only": genai_types.GenerateContentResponse(prompt_feedback=genai_types.GenerateContentResponsePromptFeedback(
            block_reason=genai_types.BlockedReason.SAFETY, safety_ratings=[genai_types.SafetyRating(
                category=genai_types.HarmCategory.HARM_CATEGORY_HARASSMENT, probability=genai_types.HarmProbability.HIGH,
                blocked=True)])),
        "safety-ratings": genai_types.GenerateContentResponse(candidates=[realistic_candidate(safety_ratings=[
            genai_types.SafetyRating(category=genai_types.HarmCategory.HARM_CATEGORY_HATE_SPEECH,
                                     probability=genai_types.HarmProbability.NEGLIGIBLE)])]),
        "usage-details": genai_types.GenerateContentResponse(candidates=[realistic_candidate()], usage_metadata=
            genai_types.GenerateContentResponseUsageMetadata(
                prompt_token_count=9, candidates_token_count=3, total_token_count=20, thoughts_token_count=8,
                cached_content_token_count=2, prompt_tokens_details=[genai_types.ModalityTokenCount(
                    modality=genai_types.MediaModality.TEXT, token_count=9)],
                cache_tokens_details=[genai_types.ModalityTokenCount(modality=genai_types.MediaModality.TEXT, token_count=2)]),
            model_version="gemini-2.5-flash", response_id="r1"),
        "finish-without-content": genai_types.GenerateContentResponse(candidates=[genai_types.Candidate(
            finish_reason=genai_types.FinishReason.MAX_TOKENS, index=0)]),
    }
    for name, model in hand.items():
        for variant, data in dumps(model, alias=True):
            yield f"{name}-{variant}", data


def _hand(cls: type[BaseModel], name: str, data: dict) -> Iterator[tuple[str, Any]]:
    """A hand-built payload as built, and as the SDK dumps it again when its strict parse takes it
    (the SDKs parse answers leniently, so a payload strict parsing refuses is still a real one)."""
    yield f"{name}-as-built", data
    try:
        model = cls.model_validate(data)
    except ValueError:
        return
    for variant, dumped in dumps(model):
        yield f"{name}-{variant}", dumped


def _json(route: tuple[str, str]) -> Callable[[Any], Case]:
    return lambda item: (*route, 200, JSON, json.dumps(item[1]).encode())


#: group -> (payload maker, how an item becomes (method, path, status, content type, body))
GROUPS: dict[str, tuple[Callable[[], Iterator[Any]], Callable[[Any], Case]]] = {
    "chat": (_chat_cases, _json(CHAT)),
    "chunk": (_chunk_cases, lambda i: (*CHAT, 200, SSE, sse([i[1]], done=True))),
    "response": (_response_cases, _json(RESPONSES)),
    "response-event": (_response_event_cases, lambda i: (*RESPONSES, 200, SSE, i[1])),
    "embeddings": (_embedding_cases, _json(("POST", "/openai/v1/embeddings"))),
    "models": (_model_list_cases, lambda i: (*i[1], 200, JSON, json.dumps(i[2]).encode())),
    "message": (_message_cases, _json(MESSAGES)),
    "message-event": (_anthropic_event_cases, lambda i: (*MESSAGES, 200, SSE, i[1])),
    "count-tokens": (lambda: iter([("factory", build(anthropic_types.MessageTokensCount, 1).model_dump(mode="json")),
                                   ("hand", {"input_tokens": 14})]),
                     _json(("POST", "/anthropic/v1/messages/count_tokens"))),
    "gemini": (_gemini_cases, _json(("POST", f"{GEMINI}:generateContent"))),
    "gemini-chunk": (_gemini_cases, lambda i: ("POST", f"{GEMINI}:streamGenerateContent?alt=sse", 200, SSE,
                                               sse([i[1], gemini_final()]))),
    "gemini-array": (_gemini_cases, lambda i: ("POST", f"{GEMINI}:streamGenerateContent", 200, JSON,
                                               json.dumps([i[1], gemini_final()]).encode())),
}


@functools.cache
def group_cases(group: str) -> list[tuple[str, Case]]:
    """Built when a test asks (collection stays instant); once per process."""
    make, shape = GROUPS[group]
    return [(f"{group}:{item[0]}", shape(item)) for item in make()]


def rejected(index: ContractIndex, group: str) -> list[str]:
    out = []
    for label, (method, path, status, content_type, body) in group_cases(group):
        violations = index.validate(method=method, path=path, status=status, content_type=content_type,
                                    body=body, cassette="sdk", interaction=1)
        found = [v.message for v in violations]  # warnings too: a known value the SDK has is no growth
        if found:
            out.append(f"{label}: {found[:3]}")
    return out


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_payload_the_sdk_types_describe_is_accepted(index, group):
    assert group_cases(group)
    problems = rejected(index, group)
    assert not problems, f"{len(problems)} of {len(group_cases(group))} rejected:\n" + "\n".join(problems[:20])


def test_the_docs_state_how_many_sdk_typed_payloads_are_accepted(index):
    total = sum(len(group_cases(g)) for g in GROUPS)
    accepted = total - sum(len(rejected(index, g)) for g in GROUPS)
    figure = re.search(r"payloads accepted (\d+) of (\d+)", DOCS.read_text())
    assert figure, f"{DOCS} states no 'payloads accepted N of N'"
    print(f"payloads accepted {accepted} of {total}")
    assert (int(figure[1]), int(figure[2])) == (accepted, total), (
        f"docs/contracts.md says {figure[0]!r}; this run: payloads accepted {accepted} of {total}: update the figure")


# --------------------------------------------------------------------------- known values follow the SDKs


def values_of(source: Any) -> set[str]:
    """The string values an SDK allows: an Enum, a Literal, a union of Literals, or a union of
    classes discriminated on ``type``."""
    if isinstance(source, type) and issubclass(source, enum.Enum):
        return {m.value for m in source}
    origin = typing.get_origin(source)
    if origin is typing.Literal:
        return {v for v in typing.get_args(source) if isinstance(v, str)}
    if origin in (typing.Union, typing.Annotated) or origin is getattr(__import__("types"), "UnionType", None):
        out: set[str] = set()
        for member in members(source) if origin is not typing.Union else typing.get_args(source):
            if member is type(None):
                continue
            if isinstance(member, type) and issubclass(member, BaseModel):
                out |= values_of(member.model_fields["type"].annotation)
            else:
                out |= values_of(member)
        return out
    if isinstance(source, type) and issubclass(source, BaseModel):
        return values_of(source.model_fields["type"].annotation)
    raise TypeError(f"cannot read values from {source!r}")


def field(cls: type[BaseModel], name: str) -> Any:
    return cls.model_fields[name].annotation


def schema_node(file: str, pointer: str) -> dict:
    node: Any = json.loads((SHIPPED_DIR / file).read_text())
    for part in pointer.strip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


#: (schema file, pointer to the node carrying x-known-values) -> where the SDK lists the values
KNOWN_VALUE_SOURCES: list[tuple[str, str, Any]] = [
    ("openai/chat-completion.json", "/$defs/choice/properties/finish_reason",
     field(openai_chat.chat_completion.Choice, "finish_reason")),
    ("openai/chat-completion.json", "/$defs/message/properties/tool_calls/items/properties/type",
     openai_chat.ChatCompletionMessageToolCallUnion),
    ("openai/chat-completion.json", "/properties/service_tier", field(openai_chat.ChatCompletion, "service_tier")),
    ("openai/chat-completion-chunk.json", "/properties/choices/items/properties/finish_reason",
     field(openai_chat.chat_completion_chunk.Choice, "finish_reason")),
    ("openai/chat-completion-chunk.json", "/properties/choices/items/properties/delta/properties/role",
     field(openai_chat.chat_completion_chunk.ChoiceDelta, "role")),
    ("openai/chat-completion-chunk.json", "/properties/service_tier",
     field(openai_chat.ChatCompletionChunk, "service_tier")),
    ("openai/response.json", "/properties/status", field(openai_responses.Response, "status")),
    ("openai/response.json", "/$defs/outputItem/properties/type", openai_responses.ResponseOutputItem),
    ("openai/response-stream-event.json", "/properties/type", openai_responses.ResponseStreamEvent),
    ("anthropic/message.json", "/properties/stop_reason", anthropic_types.StopReason),
    ("anthropic/message.json", "/properties/usage/properties/service_tier", field(anthropic_types.Usage, "service_tier")),
    ("anthropic/stream/message_delta.json", "/properties/delta/properties/stop_reason", anthropic_types.StopReason),
    ("anthropic/content-block.json", "/properties/type", anthropic_types.ContentBlock),
    ("anthropic/stream/content_block_delta.json", "/properties/delta/properties/type",
     anthropic_types.RawContentBlockDelta),
    ("gemini/generate-content-response.json", "/$defs/candidate/properties/finishReason", genai_types.FinishReason),
    ("gemini/generate-content-response.json", "/properties/promptFeedback/properties/blockReason",
     genai_types.BlockedReason),
    ("gemini/generate-content-response.json", "/$defs/modalityCount/properties/modality", genai_types.MediaModality),
]


@pytest.mark.parametrize("file, pointer, source", [pytest.param(*s, id=f"{s[0]}{s[1]}") for s in KNOWN_VALUE_SOURCES])
def test_every_known_value_list_holds_every_value_the_sdk_knows(file, pointer, source):
    known = set(schema_node(file, pointer).get("x-known-values", ()))
    missing = sorted(values_of(source) - known)
    assert not missing, f"{file} {pointer}: x-known-values lacks {missing} (the SDK knows them: add them)"
