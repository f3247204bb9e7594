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
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_anyint import sse
from pytest_anyint.contracts import ContractIndex

from .contract_cases import (  # noqa: F401 - the shared cases
    _CHAT_USAGE,
    _GEMINI_CHUNK,
    _RESPONSE,
    CORE,
    DOCS,
    GEMINI,
    HERE,
    JSON,
    ROUTES,
    RT,
    SAMPLE_DIRS,
    SSE,
    R,
    T,
    expand,
    is_stream,
    mutated,
    retyped,
    sample_path,
    stream_events,
)


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
