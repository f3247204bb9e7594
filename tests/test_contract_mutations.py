"""Every removal or retype of a core key is rejected, in bodies and in each streamed event.

A core key is one an SDK or the app reads to get the answer: the id and kind of a completion, its
choices and their message, a tool call's name and arguments, token counts that price the call, a
stream's terminator. Each sample of the suite (``tests/samples/``, the gateway reference samples,
and ``tests/contract_samples/`` for the Responses API, embeddings and count_tokens) has its core
keys listed below as JSON pointer patterns; the test removes each one and changes each one's type,
in the body or in every event of a stream that holds it, and each mutation must fail with a
violation pointing at the key. Breakage that is not a single key (a stream without ``event:``
lines, one cut before its terminal event, a Gemini body in snake_case) is listed by hand.

Optional keys are not core even when an app reads them: the SDKs type ``message.content``,
``usage`` and Anthropic's ``stop_reason`` Optional, so absent reads as None there and is no breakage
(``test_sdk_types_accepted.py`` proves such payloads pass).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pytest_anyint import sse
from pytest_anyint.contracts import ContractIndex

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


def replace_event(pieces: list[str], at: int, data: Any) -> str:
    event = sse.parse_event(pieces[at])
    assert event is not None
    out = list(pieces)
    out[at] = pieces[at].replace(event.data, json.dumps(data))
    return "".join(out)


# --------------------------------------------------------------------------- the catalogue

#: (id, sample, body, expected pointer or None, expected rule prefix or None, event number or None)
Mutation = tuple[str, str, bytes, "str | None", "str | None", "int | None"]


def key_mutations() -> Iterator[Mutation]:
    for name, core in CORE.items():
        raw = sample_path(name).read_text()
        if is_stream(name):
            pieces, numbered = stream_events(raw)
            targets = [(number, json.loads(sse.parse_event(pieces[at]).data), at)  # type: ignore[union-attr]
                       for number, at in enumerate(numbered, 1)]
        else:
            targets = [(None, json.loads(raw), None)]
        for number, document, at in targets:
            for pattern, modes in core:
                for pointer, value in expand(document, pattern):
                    for remove in [True] * (R in modes) + [False] * (T in modes):
                        if not remove and value is None:
                            continue  # a null the sample carries: its retype is the same as for a string
                        changed = mutated(document, pointer, remove)
                        body = replace_event(pieces, at, changed) if number is not None else json.dumps(changed)
                        where = f"#{number}" if number is not None else ""
                        label = f"{name}{where}:{pointer}:{'remove' if remove else 'retype'}"
                        yield label, name, body.encode(), pointer, None, number


def _snake(node: Any) -> Any:
    if isinstance(node, dict):
        return {re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), k): _snake(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_snake(v) for v in node]
    return node


def _drop_event(name: str, test: Callable[[Any], bool]) -> bytes:
    pieces, numbered = stream_events(sample_path(name).read_text())
    keep = [p for i, p in enumerate(pieces) if not (i in numbered and test(json.loads(sse.parse_event(p).data)))]  # type: ignore[union-attr]
    return "".join(keep).encode()


def _body(name: str, change: Callable[[Any], Any]) -> bytes:
    document = json.loads(sample_path(name).read_text())
    return json.dumps(change(document)).encode()


def _set(document: Any, pointer: str, value: Any) -> Any:
    document = copy.deepcopy(document)
    *parents, last = pointer.strip("/").split("/")
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return document


def named_mutations() -> Iterator[Mutation]:
    """Breakage that is more than one key, each as a user meets it."""
    anth = sample_path("anthropic-stream.sse").read_text()
    yield ("anthropic stream without event: lines", "anthropic-stream.sse",
           re.sub(r"(?m)^event: .*\n", "", anth).encode(), "", "stream.event-name-missing", None)
    yield ("anthropic stream without message_stop", "anthropic-stream.sse",
           _drop_event("anthropic-stream.sse", lambda e: e.get("type") == "message_stop"), "",
           "stream.message_stop-missing", None)
    yield ("responses stream ending before response.completed", "openai-responses-stream.sse",
           _drop_event("openai-responses-stream.sse", lambda e: e.get("type") == "response.completed"), "",
           "stream.completed-missing", None)
    yield ("responses stream without response.created", "openai-responses-stream.sse",
           _drop_event("openai-responses-stream.sse", lambda e: e.get("type") == "response.created"), "",
           "stream.order", None)
    openai_stream = sample_path("openai-chat-stream.sse").read_text()
    yield ("openai stream without data: [DONE]", "openai-chat-stream.sse",
           openai_stream.replace("data: [DONE]\n\n", "").encode(), "", "stream.done-missing", None)
    yield ("openai stream cut mid-event", "openai-chat-stream.sse", openai_stream[:-40].encode(), "",
           "stream.truncated", None)
    yield ("gemini stream without finishReason", "gemini-stream.sse",
           sample_path("gemini-stream.sse").read_text().replace('"finishReason": "STOP",', "").encode(), "",
           "stream.finish-missing", None)
    yield ("choices: [] in a non-stream completion", "openai-chat-completion.json",
           _body("openai-chat-completion.json", lambda d: {**d, "choices": []}), "/choices", "schema.minItems", None)
    yield ("gemini candidate with neither content nor finishReason", "gemini-generate.json",
           _body("gemini-generate.json", lambda d: _set(d, "/candidates/0", {"index": 0})), "/candidates/0",
           None, None)
    yield ("gemini stream chunk without content or finishReason", "gemini-stream.sse",
           replace_event(*_first_event("gemini-stream.sse", lambda d: _set(d, "/candidates/0", {"index": 0}))).encode(),
           "/candidates/0", None, 1)
    yield ("embeddings vector holding strings", "openai-embeddings.json",
           _body("openai-embeddings.json", lambda d: _set(d, "/data/0/embedding", ["0.1", "0.2"])),
           "/data/0/embedding/0", "schema.type", None)
    yield ("gemini body in snake_case", "gemini-generate.json", _body("gemini-generate.json", _snake), None,
           "schema.forbidden", None)
    yield ("gemini stream chunk in snake_case", "gemini-stream.sse",
           replace_event(*_first_event("gemini-stream.sse", _snake)).encode(), None, "schema.forbidden", 1)
    yield ("untyped cached_tokens", "openai-chat-completion.json",
           _body("openai-chat-completion.json", lambda d: _set(d, "/usage/prompt_tokens_details/cached_tokens", "12")),
           "/usage/prompt_tokens_details/cached_tokens", "schema.type", None)
    yield ("untyped cached_tokens in a Responses usage", "openai-responses.json",
           _body("openai-responses.json", lambda d: _set(d, "/usage/input_tokens_details/cached_tokens", "12")),
           "/usage/input_tokens_details/cached_tokens", "schema.type", None)
    yield ("responses stream whose embedded response lost its output", "openai-responses-stream.sse",
           replace_event(*_last_event("openai-responses-stream.sse",
                                      lambda d: {**d, "response": {k: v for k, v in d["response"].items()
                                                                   if k != "output"}})).encode(),
           "/response/output", "schema.required", 10)


def _first_event(name: str, change: Callable[[Any], Any]) -> tuple[list[str], int, Any]:
    pieces, numbered = stream_events(sample_path(name).read_text())
    return pieces, numbered[0], change(json.loads(sse.parse_event(pieces[numbered[0]]).data))  # type: ignore[union-attr]


def _last_event(name: str, change: Callable[[Any], Any]) -> tuple[list[str], int, Any]:
    pieces, numbered = stream_events(sample_path(name).read_text())
    return pieces, numbered[-1], change(json.loads(sse.parse_event(pieces[numbered[-1]]).data))  # type: ignore[union-attr]


MUTATIONS: list[Mutation] = [*key_mutations(), *named_mutations()]


@pytest.fixture(scope="module")
def index() -> ContractIndex:
    return ContractIndex.load()


def validate(index: ContractIndex, name: str, body: bytes) -> list:
    method, path, status, content_type = ROUTES[name]
    return index.validate(method=method, path=path, status=status, content_type=content_type, body=body,
                          cassette=f"cassettes/{name}.yaml", interaction=1)


def rejected(index: ContractIndex, mutation: Mutation) -> str | None:
    """None when the mutation fails as it should, else what was wrong."""
    label, name, body, pointer, rule, event = mutation
    errors = [v for v in validate(index, name, body) if v.fails("fail")]
    hits = [v for v in errors if (pointer is None or v.pointer == pointer or (pointer and v.pointer.startswith(pointer + "/")))
            and (rule is None or v.rule == rule) and (event is None or v.event == event)]
    if not hits:
        return f"{label}: no error at {pointer} ({rule}); got {[v.message for v in errors][:3]}"
    return None


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_every_sample_passes_before_it_is_mutated(index, name):
    assert validate(index, name, sample_path(name).read_bytes()) == []


@pytest.mark.parametrize("name", sorted(CORE))
def test_every_removal_or_retype_of_a_core_key_is_rejected(index, name):
    mine = [m for m in MUTATIONS if m[1] == name and m[0].startswith(name)]
    assert mine, f"{name}: no core key found in the sample (a pattern is wrong)"
    problems = [p for p in (rejected(index, m) for m in mine) if p]
    assert not problems, f"{len(problems)} of {len(mine)} mutations passed:\n" + "\n".join(problems[:15])


@pytest.mark.parametrize("mutation", [pytest.param(m, id=m[0]) for m in MUTATIONS if not m[0].startswith(m[1])])
def test_breakage_beyond_one_key_is_rejected(index, mutation):
    assert rejected(index, mutation) is None, rejected(index, mutation)


def test_every_core_pattern_matches_something_in_its_sample():
    for name, core in CORE.items():
        raw = sample_path(name).read_text()
        documents = ([json.loads(sse.parse_event(p).data) for i, p in enumerate(stream_events(raw)[0])  # type: ignore[union-attr]
                      if i in stream_events(raw)[1]] if is_stream(name) else [json.loads(raw)])
        for pattern, _ in core:
            assert any(True for d in documents for _ in expand(d, pattern)), f"{name}: {pattern} matches nothing"


def test_the_responses_samples_are_what_the_openai_sdk_parses():
    from openai.types.responses import Response, ResponseStreamEvent
    from pydantic import TypeAdapter

    Response.model_validate(json.loads(sample_path("openai-responses.json").read_text()))
    pieces, numbered = stream_events(sample_path("openai-responses-stream.sse").read_text())
    adapter = TypeAdapter(ResponseStreamEvent)
    for at in numbered:
        adapter.validate_python(json.loads(sse.parse_event(pieces[at]).data))  # type: ignore[union-attr]


def test_the_docs_state_how_many_mutations_are_rejected(index):
    total = len(MUTATIONS)
    caught = total - sum(1 for m in MUTATIONS if rejected(index, m))
    figure = re.search(r"mutations rejected (\d+) of (\d+)", DOCS.read_text())
    assert figure, f"{DOCS} states no 'mutations rejected M of M'"
    print(f"mutations rejected {caught} of {total}")
    assert (int(figure[1]), int(figure[2])) == (caught, total), (
        f"docs/contracts.md says {figure[0]!r}; this run: mutations rejected {caught} of {total}: update the figure")
