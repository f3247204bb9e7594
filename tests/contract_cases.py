"""The samples of the contract tests and the core keys of each, shared by the mutation, never-raise
and thread tests."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_anyint import sse

HERE = Path(__file__).resolve().parent
SAMPLE_DIRS = (HERE / "samples", HERE / "contract_samples")
DOCS = HERE.parent / "docs" / "contracts.md"
GEMINI = "/gemini/v1beta/models/gemini-2.5-flash"
JSON, SSE = "application/json", "text/event-stream"

ROUTES: dict[str, tuple[str, str, int, str]] = {
    "openai-chat-completion.json": ("POST", "/openai/v1/chat/completions", 200, JSON),
    "openai-chat-stream.sse": ("POST", "/openai/v1/chat/completions", 200, SSE),
    "openai-error-429.json": ("POST", "/openai/v1/chat/completions", 429, JSON),
    "openai-models.json": ("GET", "/openai/v1/models", 200, JSON),
    "openai-responses.json": ("POST", "/openai/v1/responses", 200, JSON),
    "openai-responses-stream.sse": ("POST", "/openai/v1/responses", 200, SSE),
    "openai-embeddings.json": ("POST", "/openai/v1/embeddings", 200, JSON),
    "anthropic-message.json": ("POST", "/anthropic/v1/messages", 200, JSON),
    "anthropic-stream.sse": ("POST", "/anthropic/v1/messages", 200, SSE),
    "anthropic-error-529.json": ("POST", "/anthropic/v1/messages", 529, JSON),
    "anthropic-models.json": ("GET", "/anthropic/v1/models", 200, JSON),
    "anthropic-count-tokens.json": ("POST", "/anthropic/v1/messages/count_tokens", 200, JSON),
    "gemini-generate.json": ("POST", f"{GEMINI}:generateContent", 200, JSON),
    "gemini-stream.sse": ("POST", f"{GEMINI}:streamGenerateContent?alt=sse", 200, SSE),
    "gemini-stream-array.json": ("POST", f"{GEMINI}:streamGenerateContent", 200, JSON),
    "gemini-error-429.json": ("POST", f"{GEMINI}:generateContent", 429, JSON),
    "gemini-models.json": ("GET", "/gemini/v1beta/models", 200, JSON),
}

R, T, RT = "r", "t", "rt"  # removal rejected, retype rejected, both
_CHAT_USAGE = [("/usage/prompt_tokens", RT), ("/usage/completion_tokens", RT), ("/usage/total_tokens", RT),
               ("/usage", T), ("/usage/prompt_tokens_details/cached_tokens", T),
               ("/usage/completion_tokens_details/reasoning_tokens", T)]
_GEMINI_CHUNK = [("/candidates", T), ("/candidates/*/content", T), ("/candidates/*/content/parts", T),
                 ("/candidates/*/content/parts/*/text", T), ("/candidates/*/finishReason", T),
                 ("/candidates/*/index", T), ("/usageMetadata", T), ("/usageMetadata/promptTokenCount", T),
                 ("/usageMetadata/candidatesTokenCount", T), ("/usageMetadata/totalTokenCount", T),
                 ("/usageMetadata/thoughtsTokenCount", T), ("/modelVersion", T)]
_RESPONSE = [("/id", RT), ("/object", RT), ("/created_at", RT), ("/model", RT), ("/output", RT), ("/status", T),
             ("/output/*/type", RT), ("/output/*/role", RT), ("/output/*/content", RT),
             ("/output/*/content/*/type", RT), ("/output/*/content/*/text", RT), ("/output/*/name", RT),
             ("/output/*/arguments", RT), ("/usage", T), ("/usage/input_tokens", RT),
             ("/usage/output_tokens", RT), ("/usage/total_tokens", RT),
             ("/usage/input_tokens_details/cached_tokens", T), ("/usage/output_tokens_details/reasoning_tokens", T)]

#: sample -> core keys (``*`` = every index); for streams, per event: patterns that an event lacks
#: simply do not apply to it.
CORE: dict[str, list[tuple[str, str]]] = {
    "openai-chat-completion.json": [
        ("/id", RT), ("/object", RT), ("/created", RT), ("/model", RT), ("/choices", RT),
        ("/choices/*/index", RT), ("/choices/*/message", RT), ("/choices/*/message/role", RT),
        ("/choices/*/message/content", T), ("/choices/*/finish_reason", RT), *_CHAT_USAGE,
    ],
    "openai-chat-stream.sse": [
        ("/id", RT), ("/object", RT), ("/created", RT), ("/model", RT), ("/choices", RT),
        ("/choices/*/index", RT), ("/choices/*/delta", RT), ("/choices/*/delta/role", T),
        ("/choices/*/delta/content", T), ("/choices/*/finish_reason", T), *_CHAT_USAGE,
    ],
    "openai-error-429.json": [("/error", RT), ("/error/message", RT), ("/error/type", RT), ("/error/code", R)],
    "openai-models.json": [("/data", RT), ("/data/*/id", RT)],
    "openai-responses.json": _RESPONSE,
    "openai-responses-stream.sse": [
        ("/type", RT), ("/sequence_number", T), ("/output_index", T), ("/content_index", T),
        ("/response", RT), *[("/response" + p, m) for p, m in _RESPONSE],
        ("/item", RT), ("/item/type", RT), ("/item/role", RT), ("/item/content", RT),
        ("/item/content/*/text", RT), ("/delta", RT), ("/text", RT),
    ],
    "openai-embeddings.json": [("/data", RT), ("/model", RT), ("/data/*/embedding", RT), ("/data/*/embedding/*", T),
                               ("/data/*/index", RT), ("/usage/prompt_tokens", T), ("/usage/total_tokens", T)],
    "anthropic-message.json": [
        ("/id", RT), ("/type", RT), ("/role", RT), ("/model", RT), ("/content", RT), ("/content/*/type", RT),
        ("/content/*/text", RT), ("/content/*/id", RT), ("/content/*/name", RT), ("/content/*/input", RT),
        ("/stop_reason", T), ("/stop_sequence", T), ("/usage", RT), ("/usage/input_tokens", RT),
        ("/usage/output_tokens", RT), ("/usage/cache_creation_input_tokens", T),
        ("/usage/cache_read_input_tokens", T),
    ],
    "anthropic-stream.sse": [
        ("/type", RT), ("/message", RT), ("/message/id", RT), ("/message/type", RT), ("/message/role", RT),
        ("/message/model", RT), ("/message/content", RT), ("/message/usage", RT),
        ("/message/usage/input_tokens", RT), ("/message/usage/output_tokens", RT),
        ("/message/usage/cache_read_input_tokens", T), ("/message/usage/cache_creation_input_tokens", T),
        ("/index", RT), ("/content_block", RT), ("/content_block/type", RT), ("/content_block/text", RT),
        ("/content_block/thinking", RT), ("/content_block/id", RT), ("/content_block/name", RT),
        ("/content_block/input", RT), ("/delta", RT), ("/delta/type", RT), ("/delta/text", RT),
        ("/delta/partial_json", RT), ("/delta/thinking", RT), ("/delta/signature", RT),
        ("/delta/stop_reason", T), ("/usage", RT), ("/usage/output_tokens", RT), ("/usage/input_tokens", T),
    ],
    "anthropic-error-529.json": [("/error", RT), ("/error/type", RT), ("/error/message", RT), ("/type", T)],
    "anthropic-models.json": [("/data", RT), ("/has_more", RT), ("/first_id", RT), ("/last_id", RT),
                              ("/data/*/id", RT), ("/data/*/type", RT), ("/data/*/display_name", RT),
                              ("/data/*/created_at", R)],  # a string upstream, a number on the gateway's own list
    "anthropic-count-tokens.json": [("/input_tokens", RT)],
    "gemini-generate.json": [("/candidates", R), *_GEMINI_CHUNK],
    "gemini-stream.sse": [("/candidates", R), *_GEMINI_CHUNK],
    "gemini-stream-array.json": [("/*", T), *[("/*" + p, m) for p, m in [("/candidates", R), *_GEMINI_CHUNK]]],
    "gemini-error-429.json": [("/error", RT), ("/error/code", RT), ("/error/message", RT), ("/error/status", RT),
                              ("/error/details", T)],
    "gemini-models.json": [("/models", RT), ("/models/*/name", RT), ("/models/*/inputTokenLimit", T),
                           ("/models/*/outputTokenLimit", T), ("/models/*/supportedGenerationMethods", T)],
}


def sample_path(name: str) -> Path:
    return next(d / name for d in SAMPLE_DIRS if (d / name).is_file())


def is_stream(name: str) -> bool:
    return name.endswith(".sse")


# --------------------------------------------------------------------------- mutating


def retyped(value: Any) -> Any:
    """A value of another JSON type, never null (nullable keys take null legitimately)."""
    if isinstance(value, bool):
        return "true"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return 5
    if isinstance(value, list):
        return {"0": value[0] if value else 1}
    return "x"  # an object (or null: a string where the key has an object)


def expand(document: Any, pattern: str) -> Iterator[tuple[str, Any]]:
    """(concrete pointer, value) for every place in a document a ``*`` pattern matches."""
    def walk(node: Any, parts: list[str], done: list[str]) -> Iterator[tuple[str, Any]]:
        if not parts:
            yield "/" + "/".join(done), node
            return
        head, rest = parts[0], parts[1:]
        if head == "*" and isinstance(node, list):
            for i, item in enumerate(node):
                yield from walk(item, rest, done + [str(i)])
        elif isinstance(node, dict) and head in node:
            yield from walk(node[head], rest, done + [head])
        elif isinstance(node, list) and head.isdigit() and int(head) < len(node):
            yield from walk(node[int(head)], rest, done + [head])

    yield from walk(document, pattern.strip("/").split("/"), [])


def mutated(document: Any, pointer: str, remove: bool) -> Any:
    document = copy.deepcopy(document)
    *parents, last = pointer.strip("/").split("/")
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if remove:
        del node[key]
    else:
        node[key] = retyped(node[key])
    return document


def stream_events(raw: str) -> tuple[list[str], list[int]]:
    """The raw pieces of a stream and the indexes of those that are events with JSON data."""
    pieces = sse.split_raw(raw)
    numbered = []
    for i, piece in enumerate(pieces):
        event = sse.parse_event(piece)
        if event is not None and not event.is_done:
            numbered.append(i)
    return pieces, numbered
