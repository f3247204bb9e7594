"""Contracts: the shipped schemas accept every reference sample and catch what breaks an app."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from pytest_anyint import sse
from pytest_anyint.cassettes import scan_secrets
from pytest_anyint.contracts import (
    SHIPPED_DIR,
    ContractError,
    ContractIndex,
    load_output_schema,
)
from pytest_anyint.families import family_for_path

# Reference payloads of the three families (hand-written from the official shapes, invented values).
SAMPLES = Path(__file__).resolve().parent / "samples"

GEMINI = "/gemini/v1beta/models/gemini-2.5-flash"
#: sample file -> (method, path, status, content type) of the answer it stands for
SAMPLE_ROUTES: dict[str, tuple[str, str, int, str]] = {
    "openai-chat-completion.json": ("POST", "/openai/v1/chat/completions", 200, "application/json"),
    "openai-chat-stream.sse": ("POST", "/openai/v1/chat/completions", 200, "text/event-stream"),
    "openai-error-429.json": ("POST", "/openai/v1/chat/completions", 429, "application/json"),
    "openai-models.json": ("GET", "/openai/v1/models", 200, "application/json"),
    "anthropic-message.json": ("POST", "/anthropic/v1/messages", 200, "application/json"),
    "anthropic-stream.sse": ("POST", "/anthropic/v1/messages", 200, "text/event-stream"),
    "anthropic-error-529.json": ("POST", "/anthropic/v1/messages", 529, "application/json"),
    "anthropic-models.json": ("GET", "/anthropic/v1/models", 200, "application/json"),
    "gemini-generate.json": ("POST", f"{GEMINI}:generateContent", 200, "application/json"),
    "gemini-stream.sse": ("POST", f"{GEMINI}:streamGenerateContent?alt=sse", 200, "text/event-stream"),
    "gemini-stream-array.json": ("POST", f"{GEMINI}:streamGenerateContent", 200, "application/json"),
    "gemini-error-429.json": ("POST", f"{GEMINI}:generateContent", 429, "application/json"),
    "gemini-models.json": ("GET", "/gemini/v1beta/models", 200, "application/json"),
}


@pytest.fixture(scope="module")
def index() -> ContractIndex:
    return ContractIndex.load()


def check(index: ContractIndex, name: str, body: bytes, **overrides: Any) -> list:
    method, path, status, content_type = SAMPLE_ROUTES[name]
    return index.validate(method=overrides.get("method", method), path=overrides.get("path", path),
                          status=overrides.get("status", status), content_type=content_type, body=body,
                          cassette=f"cassettes/{name}.yaml", interaction=1)


# --------------------------------------------------------------------------- samples


def test_every_reference_sample_has_a_route_here():
    assert sorted(p.name for p in SAMPLES.iterdir()) == sorted(SAMPLE_ROUTES)


@pytest.mark.parametrize("name", sorted(SAMPLE_ROUTES))
def test_every_reference_sample_validates_against_the_shipped_schemas(index, name):
    assert check(index, name, (SAMPLES / name).read_bytes()) == []


# --------------------------------------------------------------------------- mutations

REMOVE, RETYPE = "remove", "retype"
#: sample -> [(JSON pointer, remove | (retype, new value))]; for streams the pointer is inside
#: the event picked by STREAM_EVENT.
MUTATIONS: dict[str, list[tuple[str, Any]]] = {
    "openai-chat-completion.json": [
        ("/id", REMOVE), ("/object", REMOVE), ("/created", REMOVE), ("/model", REMOVE), ("/choices", REMOVE),
        ("/choices/0/index", REMOVE), ("/choices/0/message", REMOVE), ("/choices/0/message/role", REMOVE),
        ("/choices/0/finish_reason", REMOVE),  # message.content may be absent: the SDK reads None
        ("/created", (RETYPE, "1755781234")), ("/choices", (RETYPE, {})), ("/model", (RETYPE, 5)),
        ("/choices/0/message/content", (RETYPE, 42)), ("/usage/prompt_tokens", (RETYPE, "24")),
        ("/object", (RETYPE, "chat.completion.chunk")),
    ],
    "openai-chat-stream.sse": [
        ("/id", REMOVE), ("/object", REMOVE), ("/choices", REMOVE), ("/choices/0/delta", REMOVE),
        ("/created", (RETYPE, "x")), ("/choices/0/delta/content", (RETYPE, 7)),
    ],
    "openai-error-429.json": [
        ("/error", REMOVE), ("/error/message", REMOVE), ("/error/type", REMOVE), ("/error/code", REMOVE),
        ("/error/message", (RETYPE, 5)), ("/error/type", (RETYPE, None)),
    ],
    "openai-models.json": [("/data", REMOVE), ("/data/0/id", REMOVE), ("/data", (RETYPE, {})), ("/data/1/id", (RETYPE, 3))],
    "anthropic-message.json": [
        ("/id", REMOVE), ("/type", REMOVE), ("/role", REMOVE), ("/model", REMOVE), ("/content", REMOVE),
        # stop_reason/stop_sequence are Optional in the SDK (absent reads as None): not removals that break
        ("/usage", REMOVE), ("/usage/input_tokens", REMOVE),
        ("/usage/output_tokens", REMOVE), ("/content/0/text", REMOVE), ("/content/1/id", REMOVE),
        ("/content/1/input", REMOVE), ("/content", (RETYPE, "text")), ("/usage/output_tokens", (RETYPE, "71")),
        # tool_use.input turning from an object into a JSON string is the classic breaking change
        ("/content/1/input", (RETYPE, '{"city": "Oslo"}')), ("/content/0/text", (RETYPE, 3)),
    ],
    "anthropic-stream.sse": [
        ("/index", REMOVE), ("/delta", REMOVE), ("/delta/text", REMOVE), ("/index", (RETYPE, "1")),
        ("/delta/text", (RETYPE, ["Let me check"])),
    ],
    # no "/type" removal: without it the body reads as the gateway's own envelope, also allowed
    "anthropic-error-529.json": [
        ("/error", REMOVE), ("/error/type", REMOVE), ("/error/message", REMOVE), ("/type", (RETYPE, 5)),
        ("/error/message", (RETYPE, [])),
    ],
    "anthropic-models.json": [
        ("/data", REMOVE), ("/has_more", REMOVE), ("/first_id", REMOVE), ("/last_id", REMOVE), ("/data/0/id", REMOVE),
        ("/data/0/display_name", REMOVE), ("/has_more", (RETYPE, "false")), ("/data/2/created_at", (RETYPE, None)),
    ],
    "gemini-generate.json": [
        ("/candidates", REMOVE), ("/candidates", (RETYPE, {})), ("/candidates/0/content/parts", (RETYPE, "x")),
        ("/candidates/0/content/parts/0/text", (RETYPE, 1)), ("/usageMetadata/promptTokenCount", (RETYPE, "9")),
        ("/candidates/0/finishReason", (RETYPE, 1)),
    ],
    "gemini-stream.sse": [
        ("/candidates", REMOVE), ("/candidates/0/content/parts/0/text", (RETYPE, 1)), ("/modelVersion", (RETYPE, 2.5)),
    ],
    "gemini-stream-array.json": [
        ("/0/candidates", REMOVE), ("/1/candidates/0/index", (RETYPE, "0")), ("/2/candidates/0/content", (RETYPE, "")),
    ],
    "gemini-error-429.json": [
        ("/error", REMOVE), ("/error/code", REMOVE), ("/error/message", REMOVE), ("/error/status", REMOVE),
        ("/error/status", (RETYPE, 8)), ("/error/details/0/@type", (RETYPE, 1)), ("/error/message", (RETYPE, None)),
    ],
    "gemini-models.json": [("/models", REMOVE), ("/models/0/name", REMOVE), ("/models/0/inputTokenLimit", (RETYPE, "big"))],
}
#: for stream samples: which event (1-based) the mutation applies to
STREAM_EVENT = {"openai-chat-stream.sse": 2, "anthropic-stream.sse": 8, "gemini-stream.sse": 1}


def _mutate(document: Any, pointer: str, change: Any) -> Any:
    document = copy.deepcopy(document)
    *parents, last = [p for p in pointer.split("/")[1:]]
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if change == REMOVE:
        del node[key]
    else:
        node[key] = change[1]
    return document


def _mutate_stream(raw_text: str, event_number: int, pointer: str, change: Any) -> str:
    pieces = sse.split_raw(raw_text)
    parsed = [sse.parse_event(p) for p in pieces]
    numbered = [i for i, e in enumerate(parsed) if e is not None]
    at = numbered[event_number - 1]
    event = parsed[at]
    assert event is not None
    mutated = json.dumps(_mutate(json.loads(event.data), pointer, change))
    pieces[at] = pieces[at].replace(event.data, mutated)
    return "".join(pieces)


def _mutation_cases() -> list[Any]:
    cases = []
    for name, mutations in MUTATIONS.items():
        for pointer, change in mutations:
            label = "remove" if change == REMOVE else f"retype-{type(change[1]).__name__}"
            cases.append(pytest.param(name, pointer, change, id=f"{name}:{pointer}:{label}"))
    return cases


@pytest.mark.parametrize("name, pointer, change", _mutation_cases())
def test_removing_a_core_key_or_changing_its_type_fails_pointing_at_it(index, name, pointer, change):
    raw = (SAMPLES / name).read_bytes()
    if name in STREAM_EVENT:
        body = _mutate_stream(raw.decode(), STREAM_EVENT[name], pointer, change).encode()
    else:
        body = json.dumps(_mutate(json.loads(raw), pointer, change)).encode()

    violations = check(index, name, body)

    expected_rules = {"schema.required"} if change == REMOVE else {"schema.type", "schema.const"}
    hits = [v for v in violations if v.pointer == pointer and v.rule in expected_rules]
    assert hits, f"no {expected_rules} violation at {pointer}: {[v.message for v in violations]}"
    hit = hits[0]
    assert hit.severity == "error" and hit.fails("fail")
    assert hit.cassette == f"cassettes/{name}.yaml" and hit.interaction == 1
    assert f"cassettes/{name}.yaml interaction #1" in hit.message and pointer in hit.message
    if name in STREAM_EVENT:
        assert hit.event == STREAM_EVENT[name] and f"event #{STREAM_EVENT[name]}" in hit.message
    if change != REMOVE:
        assert hit.value == change[1] or json.dumps(change[1]) in str(hit.value)


def test_a_violation_message_names_cassette_interaction_pointer_rule_value_and_confidence(index):
    body = json.loads((SAMPLES / "openai-chat-completion.json").read_bytes())
    body["created"] = "yesterday"
    violations = index.validate(method="POST", path="/openai/v1/chat/completions", status=200,
                                content_type="application/json", body=json.dumps(body).encode(),
                                cassette="cassettes/tests/test_app/extract/gpt-5-mini.yaml", interaction=3)
    (violation,) = violations
    assert violation.message == (
        "cassettes/tests/test_app/extract/gpt-5-mini.yaml interaction #3: /created: expected integer, "
        'got string "yesterday" (upstream rule, openai chat.completion)'
    )
    assert (violation.rule, violation.value, violation.confidence) == ("schema.type", "yesterday", "upstream")


# --------------------------------------------------------------------------- lenient enums, confidence


def test_an_unknown_enum_value_is_a_warning_never_a_failure(index):
    body = json.loads((SAMPLES / "anthropic-message.json").read_bytes())
    body["stop_reason"] = "brand_new_reason"
    (violation,) = check(index, "anthropic-message.json", json.dumps(body).encode())
    assert violation.rule == "enum.unknown" and violation.severity == "warning"
    assert violation.pointer == "/stop_reason" and "brand_new_reason" in violation.message
    assert not violation.fails("fail") and not violation.fails("strict")


def test_an_unknown_enum_value_inside_a_referenced_schema_file_still_only_warns(index):
    # anthropic-route.json -> anthropic.json via $ref: the lenient profile must follow the $ref
    body = json.loads((SAMPLES / "anthropic-error-529.json").read_bytes())
    body["error"]["type"] = "quota_error"
    (violation,) = check(index, "anthropic-error-529.json", json.dumps(body).encode())
    assert (violation.rule, violation.pointer, violation.severity) == ("enum.unknown", "/error/type", "warning")


def test_assumed_rules_warn_and_fail_only_in_strict_mode(index):
    body = json.dumps({"code": 0, "message": "SUCCEED", "data": {"task_status": "submitted"}}).encode()
    violations = index.validate(method="POST", path="/transtreams/kling/v1/videos/text2video", status=200,
                                content_type="application/json", body=body)
    (violation,) = violations
    assert (violation.pointer, violation.confidence, violation.severity) == ("/data/task_id", "assumed", "warning")
    assert "assumed rule" in violation.message
    assert not violation.fails("fail") and violation.fails("strict") and not violation.fails("warn")


def test_media_and_music_task_shapes_validate(index):
    cases = [
        ("POST", "/dashscope/v1/services/aigc/multimodal-generation/generation",
         {"output": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant",
                                                                        "content": [{"image": "https://x/y.png"}]}}]},
          "usage": {"image_count": 1}, "request_id": "r1"}),
        ("POST", "/dashscope/v1/services/aigc/video-generation/video-synthesis",
         {"output": {"task_id": "t1", "task_status": "PENDING"}, "request_id": "r1"}),
        ("GET", "/dashscope/v1/tasks/t1",
         {"output": {"task_id": "t1", "task_status": "SUCCEEDED", "video_url": "https://x/v.mp4"}, "request_id": "r2"}),
        ("POST", "/transtreams/kling/v1/videos/omni-video",
         {"code": 0, "message": "SUCCEED", "request_id": "r", "data": {"task_id": "k1", "task_status": "submitted"}}),
        ("GET", "/transtreams/kling/v1/videos/omni-video/k1",
         {"code": 0, "data": {"task_id": "k1", "task_status": "succeed",
                              "task_result": {"videos": [{"id": "v", "url": "https://x/v.mp4", "duration": "5"}]}}}),
        ("POST", "/openai/v1/videos", {"id": "video_1", "object": "video", "status": "queued", "model": "kling-3.0"}),
        ("GET", "/openai/v1/videos/video_1", {"id": "video_1", "status": "completed", "progress": 100}),
        ("POST", "/suno/generate", {"code": 200, "msg": "success", "data": {"taskId": "s1"}}),
        ("GET", "/suno/query/task", {"code": 200, "msg": "success", "data": {"taskId": "s1", "status": "FIRST_SUCCESS"}}),
    ]
    for method, path, body in cases:
        assert index.is_published(method, path), path
        assert index.validate(method=method, path=path, status=200, content_type="application/json",
                              body=json.dumps(body).encode()) == [], path


def test_the_documented_music_callback_validates_and_a_broken_one_is_an_error(index):
    documented = {"callbackType": "complete", "task_id": "abc", "data": [
        {"id": "a1", "audio_url": "https://x/a.mp3", "stream_audio_url": "https://x/s", "image_url": "https://x/i.png",
         "title": "Song", "tags": "pop, R&B", "duration": 91.2}]}
    assert index.validate_document("suno callback", json.dumps(documented)) == []
    del documented["task_id"]
    (violation,) = index.validate_document("suno callback", documented, source="webhook")
    assert violation.pointer == "/task_id" and violation.severity == "error" and violation.confidence == "documented"


# --------------------------------------------------------------------------- stream grammar


def _events(raw: bytes) -> list[str]:
    return sse.split_raw(raw.decode())


def test_an_openai_stream_without_done_is_reported_as_such(index):
    body = "".join(e for e in _events((SAMPLES / "openai-chat-stream.sse").read_bytes()) if "[DONE]" not in e)
    violations = check(index, "openai-chat-stream.sse", body.encode())
    assert [v.rule for v in violations] == ["stream.done-missing"]
    assert "OpenAI stream ended without data: [DONE]" in violations[0].message
    assert violations[0].severity == "error"


def test_an_openai_error_chunk_after_200_is_reported_as_an_error_event(index):
    events = _events((SAMPLES / "openai-chat-stream.sse").read_bytes())
    error = 'data: {"error": {"message": "Upstream overloaded", "type": "server_error", "code": "upstream_overloaded"}}\n\n'
    violations = check(index, "openai-chat-stream.sse", "".join(events[:2] + [error]).encode())
    assert [v.rule for v in violations] == ["stream.error-event"]
    assert "server_error: Upstream overloaded" in violations[0].message and violations[0].event == 3


def test_an_anthropic_stream_missing_message_stop_is_reported_as_such(index):
    body = "".join(e for e in _events((SAMPLES / "anthropic-stream.sse").read_bytes()) if "message_stop" not in e)
    violations = check(index, "anthropic-stream.sse", body.encode())
    assert [v.rule for v in violations] == ["stream.message_stop-missing"]
    assert "Anthropic stream ended without message_stop" in violations[0].message


def test_an_anthropic_error_event_after_200_is_reported_as_an_error_event(index):
    events = _events((SAMPLES / "anthropic-stream.sse").read_bytes())
    error = ('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},'
             '"request_id":"req_1"}\n\n')
    violations = check(index, "anthropic-stream.sse", "".join(events[:8] + [error]).encode())
    assert [v.rule for v in violations] == ["stream.error-event"]  # not also "message_stop missing"
    assert "Anthropic stream sent an error event after HTTP 200: overloaded_error: Overloaded" in violations[0].message
    assert violations[0].event == 9


def test_an_anthropic_delta_before_its_block_start_is_an_order_violation(index):
    events = _events((SAMPLES / "anthropic-stream.sse").read_bytes())
    without_start = [e for e in events if '"content_block_start","index":1' not in e]
    violations = check(index, "anthropic-stream.sse", "".join(without_start).encode())
    assert violations and violations[0].rule == "stream.order"
    assert "content_block_delta for block 1 before its content_block_start" in violations[0].message


def test_an_anthropic_event_before_message_start_and_after_message_stop_are_order_violations(index):
    events = _events((SAMPLES / "anthropic-stream.sse").read_bytes())
    violations = check(index, "anthropic-stream.sse", "".join(events[1:] + events[-2:-1]).encode())
    messages = [v.message for v in violations if v.rule == "stream.order"]
    assert any("before message_start" in m for m in messages)
    assert any("after message_stop" in m for m in messages)


def test_a_stream_cut_mid_event_is_reported_as_truncated(index):
    raw = (SAMPLES / "anthropic-stream.sse").read_bytes()
    violations = check(index, "anthropic-stream.sse", raw[: len(raw) // 2])
    assert [v.rule for v in violations] == ["stream.truncated"]


def test_a_gemini_stream_ending_without_finish_reason_is_reported(index):
    raw = (SAMPLES / "gemini-stream.sse").read_bytes().decode()
    violations = check(index, "gemini-stream.sse", "".join(sse.split_raw(raw)[:2]).encode())
    assert [v.rule for v in violations] == ["stream.finish-missing"]


def test_a_gemini_error_after_200_is_reported_in_sse_and_array_form(index):
    raw = (SAMPLES / "gemini-stream.sse").read_bytes().decode()
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    first = sse.split_raw(raw)[0]
    violations = check(index, "gemini-stream.sse", (first + f"data: {json.dumps(error)}\r\n\r\n").encode())
    assert [v.rule for v in violations] == ["stream.error-event"]
    assert "UNAVAILABLE: The model is overloaded." in violations[0].message

    chunks = json.loads((SAMPLES / "gemini-stream-array.json").read_bytes())
    violations = check(index, "gemini-stream-array.json", json.dumps(chunks[:1] + [error]).encode())
    assert [v.rule for v in violations] == ["stream.error-event"]


def test_every_gemini_sse_chunk_must_be_a_full_response(index):
    raw = (SAMPLES / "gemini-stream.sse").read_bytes().decode()
    bare = 'data: {"text": "just a fragment"}\r\n\r\n'
    violations = check(index, "gemini-stream.sse", (bare + raw).encode())
    assert [(v.rule, v.pointer, v.event) for v in violations] == [("schema.required", "/candidates", 1)]


def test_a_2000_chunk_stream_is_validated_event_by_event(index):
    """Every event of a long stream is checked (speed is measured in benchmarks/, not here)."""
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "token "}, "logprobs": None, "finish_reason": None}]}
    events = [f"data: {json.dumps(chunk)}\n\n"] * 2000
    body = ("".join(events) + "data: [DONE]\n\n").encode()
    assert index.validate(method="POST", path="/openai/v1/chat/completions", status=200,
                          content_type="text/event-stream", body=body) == []
    broken = dict(chunk, object=7)  # the core type tag retyped in one event deep in the stream
    events[1499] = f"data: {json.dumps(broken)}\n\n"
    body = ("".join(events) + "data: [DONE]\n\n").encode()
    violations = index.validate(method="POST", path="/openai/v1/chat/completions", status=200,
                                content_type="text/event-stream", body=body)
    assert [(v.event, v.pointer) for v in violations] == [(1500, "/object")]


# --------------------------------------------------------------------------- output_schema

INVOICE = {"type": "object", "required": ["total", "currency"],
           "properties": {"total": {"type": "number"}, "currency": {"type": "string"}}}


def _chat(content: str) -> bytes:
    return json.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}).encode()


def test_a_fallback_answering_fenced_json_fails_the_output_schema_naming_the_model(index):
    body = _chat('```json\n{"total": 12.5, "currency": "EUR"}\n```')
    violation = index.check_output(family="openai", model="deepseek-v3.2-exp", body=body,
                                   content_type="application/json", schema=INVOICE,
                                   schema_path="contracts/app/invoice.schema.json")
    assert violation is not None and violation.rule == "output.not-json" and violation.severity == "error"
    assert violation.message.startswith("model deepseek-v3.2-exp: the answer is fenced in ```json")
    assert "contracts/app/invoice.schema.json" in violation.message


def test_bare_json_matching_the_output_schema_passes_and_a_mismatch_points_at_the_key(index):
    ok = index.check_output(family="openai", model="gpt-5-mini", body=_chat('{"total": 12.5, "currency": "EUR"}'),
                            content_type="application/json", schema=INVOICE, schema_path="invoice.json")
    assert ok is None
    bad = index.check_output(family="openai", model="gpt-5-mini", body=_chat('{"total": "12.50", "currency": "EUR"}'),
                             content_type="application/json", schema=INVOICE, schema_path="invoice.json")
    assert bad is not None and (bad.rule, bad.pointer) == ("output.schema", "/total")
    assert "model gpt-5-mini" in bad.message and "expected number" in bad.message


def test_prose_instead_of_json_fails_naming_the_model(index):
    violation = index.check_output(family="openai", model="qwen3-max", body=_chat("The total is 12.50 EUR."),
                                   content_type="application/json", schema=INVOICE, schema_path="invoice.json")
    assert violation is not None and violation.rule == "output.not-json" and "qwen3-max" in violation.message


def test_output_is_assembled_from_streams_in_every_family(index):
    def openai_stream(parts: list[str]) -> bytes:
        chunks = [{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in parts]
        return ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n").encode()

    parts = ['{"total": ', "12.5, ", '"currency": "EUR"}']
    assert index.check_output(family="openai", model="m", body=openai_stream(parts),
                              content_type="text/event-stream", schema=INVOICE, schema_path="i.json") is None

    anthropic = "".join(
        f"event: content_block_delta\ndata: {json.dumps({'type': 'content_block_delta', 'index': 0, 'delta': {'type': 'text_delta', 'text': p}})}\n\n"
        for p in parts
    ).encode()
    assert index.check_output(family="anthropic", model="claude-sonnet-4-6", body=anthropic,
                              content_type="text/event-stream", schema=INVOICE, schema_path="i.json") is None

    gemini = json.dumps([{"candidates": [{"content": {"parts": [{"text": p}], "role": "model"}}]} for p in parts])
    assert index.check_output(family="gemini", model="gemini-2.5-flash", body=gemini.encode(),
                              content_type="application/json", schema=INVOICE, schema_path="i.json") is None


def test_output_check_reads_the_assistant_text_of_each_family_sample(index):
    # each sample answers prose: the output check must find that text and call it not-JSON
    for name, family in [("anthropic-message.json", "anthropic"), ("gemini-generate.json", "gemini"),
                         ("openai-chat-stream.sse", "openai"), ("gemini-stream.sse", "gemini")]:
        content_type = SAMPLE_ROUTES[name][3]
        violation = index.check_output(family=family, model="m1", body=(SAMPLES / name).read_bytes(),
                                       content_type=content_type, schema=INVOICE, schema_path="i.json")
        assert violation is not None and violation.rule == "output.not-json", name


def test_load_output_schema_names_the_file_of_an_invalid_schema(tmp_path):
    good = tmp_path / "invoice.schema.json"
    good.write_text(json.dumps(INVOICE))
    assert load_output_schema(good) == INVOICE
    bad = tmp_path / "broken.schema.json"
    bad.write_text(json.dumps({"type": "objekt"}))
    with pytest.raises(ContractError, match=r"broken\.schema\.json: not a valid JSON Schema"):
        load_output_schema(bad)
    not_json = tmp_path / "typo.schema.json"
    not_json.write_text("{'type': 'object'}")
    with pytest.raises(ContractError, match=r"typo\.schema\.json: not valid JSON"):
        load_output_schema(not_json)


# --------------------------------------------------------------------------- user contract dirs


def _user_dir(tmp_path: Path, entries: list[dict], schemas: dict[str, Any]) -> Path:
    import yaml

    for name, schema in schemas.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(schema if isinstance(schema, str) else json.dumps(schema))
    (tmp_path / "index.yaml").write_text(yaml.safe_dump({"version": 1, "entries": entries}))
    return tmp_path


def test_a_user_directory_overrides_a_shipped_schema_and_adds_a_route(tmp_path):
    user = _user_dir(tmp_path, [
        {"family": "openai", "name": "strict chat", "method": "POST", "path": "/openai/v1/chat/completions",
         "status": "2xx", "stream": False, "schema": "chat.json", "confidence": "documented"},
        {"family": "openai", "name": "rerank", "method": "POST", "path": "/openai/v1/rerank", "status": "2xx",
         "stream": False, "schema": "rerank.json", "confidence": "assumed"},
    ], {
        "chat.json": {"type": "object", "required": ["id", "x_gateway_route"]},
        "rerank.json": {"type": "object", "required": ["results"]},
    })
    index = ContractIndex.load([user])
    sample = (SAMPLES / "openai-chat-completion.json").read_bytes()
    (violation,) = index.validate(method="POST", path="/openai/v1/chat/completions", status=200,
                                  content_type="application/json", body=sample)
    assert violation.pointer == "/x_gateway_route" and "documented rule, openai strict chat" in violation.message

    assert index.is_published("POST", "/openai/v1/rerank")
    assert not ContractIndex.load().is_published("POST", "/openai/v1/rerank")
    (violation,) = index.validate(method="POST", path="/openai/v1/rerank", status=200,
                                  content_type="application/json", body=b"{}")
    assert violation.pointer == "/results" and violation.severity == "warning"  # assumed
    # shipped entries not overridden keep working
    stream = (SAMPLES / "openai-chat-stream.sse").read_bytes()
    assert index.validate(method="POST", path="/openai/v1/chat/completions", status=200,
                          content_type="text/event-stream", body=stream) == []


def test_an_invalid_user_schema_is_a_contract_error_naming_its_file(tmp_path):
    user = _user_dir(tmp_path, [
        {"family": "openai", "method": "POST", "path": "/openai/v1/rerank", "status": "2xx", "stream": False,
         "schema": "schemas/rerank.json", "confidence": "assumed"},
    ], {"schemas/rerank.json": {"type": "object", "required": "results"}})
    with pytest.raises(ContractError) as caught:
        ContractIndex.load([user])
    message = str(caught.value)
    assert str(tmp_path / "schemas" / "rerank.json") in message and "not a valid JSON Schema" in message
    assert "\n" not in message


@pytest.mark.parametrize("entry, files, expected", [
    ({"family": "openai", "method": "POST", "path": "/x", "status": "2xx", "schema": "s.json",
      "confidence": "assumed", "shema": 1}, {"s.json": {}}, "unknown key 'shema'"),
    ({"family": "openai", "method": "POST", "path": "/x", "status": "2xx", "schema": "missing.json",
      "confidence": "assumed"}, {}, "schema file missing.json not found"),
    ({"family": "openai", "method": "POST", "path": "/x", "status": "2xx", "schema": "s.json",
      "confidence": "guessed"}, {"s.json": {}}, "confidence must be one of"),
    ({"family": "openai", "method": "POST", "path": "/x", "status": "2xx", "schema": "s.json",
      "confidence": "assumed"}, {"s.json": "{not json"}, "s.json: not valid JSON"),
    ({"family": "mistral", "method": "POST", "path": "/x", "status": "2xx", "schema": "s.json",
      "confidence": "assumed"}, {"s.json": {}}, "family must be one of"),
])
def test_a_bad_user_index_entry_is_one_line_naming_the_file(tmp_path, entry, files, expected):
    user = _user_dir(tmp_path, [entry], files)
    with pytest.raises(ContractError) as caught:
        ContractIndex.load([user])
    assert expected in str(caught.value) and str(tmp_path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_user_schema_referencing_a_missing_file_fails_at_load_naming_it(tmp_path):
    user = _user_dir(tmp_path, [
        {"family": "openai", "method": "POST", "path": "/openai/v1/rerank", "status": "2xx", "stream": False,
         "schema": "rerank.json", "confidence": "assumed"},
    ], {"rerank.json": {"type": "object", "properties": {"results": {"$ref": "common/result.json"}}}})
    with pytest.raises(ContractError, match=r"rerank\.json: \$ref 'common/result.json' points to a file that does not exist"):
        ContractIndex.load([user])
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "result.json").write_text(json.dumps({"type": "array", "items": {"type": "object"}}))
    index = ContractIndex.load([user])
    (violation,) = index.validate(method="POST", path="/openai/v1/rerank", status=200,
                                  content_type="application/json", body=b'{"results": [1]}')
    assert violation.pointer == "/results/0" and violation.rule == "schema.type"


def test_a_user_directory_without_an_index_is_a_contract_error(tmp_path):
    with pytest.raises(ContractError, match="index.yaml: not found"):
        ContractIndex.load([tmp_path])


# --------------------------------------------------------------------------- published routes


@pytest.mark.parametrize("method, path, closest", [
    ("GET", "/v1/models", "GET /openai/v1/models"),
    ("POST", "/v1/chat/completions", "POST /openai/v1/chat/completions"),
    ("POST", "/v1/messages", "POST /anthropic/v1/messages"),
    ("POST", "/smart-routing", "POST /openai/v1/chat/completions"),
    ("GET", "/models", "GET /openai/v1/models"),
    ("POST", "/gemini/v1/models/gemini-2.5-flash:generateContent", "POST /gemini/v1beta/models/{model}:generateContent"),
    ("POST", "/anthropic/v1/message", "POST /anthropic/v1/messages"),
    ("POST", "/suno/generat", "POST /suno/generate"),
    ("GET", "/gemini/v1beta/models", None),  # the SDKs' models.list(): not a gateway route
])
def test_an_unpublished_path_is_refused_and_the_closest_route_named(index, method, path, closest):
    assert not index.is_published(method, path)
    suggestion = index.closest_route(method, path)
    if closest is not None:
        assert suggestion == closest
    suggested_method, pattern = suggestion.split(" ", 1)
    assert index.is_published(suggested_method, re.sub(r"\{[^}]+\}", "x", pattern))


@pytest.mark.parametrize("method, path", [
    ("GET", "/openai/v1/models"), ("POST", "/openai/v1/chat/completions"), ("POST", "/openai/v1/responses"),
    ("GET", "/openai/v1/responses/resp_1"), ("POST", "/anthropic/v1/messages"),
    ("POST", "/anthropic/v1/messages/count_tokens"), ("GET", "/anthropic/v1/models"),
    ("POST", f"{GEMINI}:generateContent"), ("POST", f"{GEMINI}:streamGenerateContent?alt=sse"),
    ("POST", "/dashscope/v1/services/aigc/multimodal-generation/generation"), ("GET", "/dashscope/v1/tasks/t-1"),
    ("POST", "/transtreams/kling/v1/images/generations"), ("GET", "/transtreams/kling/v1/videos/text2video/t1"),
    ("POST", "/openai/v1/videos"), ("GET", "/openai/v1/videos/v1/content"), ("POST", "/suno/generate"),
    ("GET", "/suno/query/task?taskId=abc"), ("POST", "/openai/v1/embeddings"),
])
def test_every_documented_gateway_route_is_published(index, method, path):
    assert index.is_published(method, path)


def test_a_published_path_with_the_wrong_method_is_not_published(index):
    assert not index.is_published("GET", "/openai/v1/chat/completions")
    assert index.closest_route("GET", "/openai/v1/chat/completions") == "POST /openai/v1/chat/completions"


# --------------------------------------------------------------------------- the shipped index itself


def test_the_shipped_index_covers_every_family_the_gateway_publishes(index):
    def entry(method: str, path: str, status: int = 200, stream: bool = False):
        found = index.entry_for(method, path, status, stream)
        assert found is not None, f"{method} {path} {status} stream={stream}"
        return found

    assert entry("POST", "/openai/v1/chat/completions", stream=True).grammar == "openai"
    assert entry("POST", "/openai/v1/responses").schema.endswith("openai/response.json")
    anthropic_stream = entry("POST", "/anthropic/v1/messages", stream=True)
    assert anthropic_stream.grammar == "anthropic"
    assert set(anthropic_stream.event_schemas) == {"message_start", "content_block_start", "content_block_delta",
                                                   "content_block_stop", "message_delta", "message_stop", "ping",
                                                   "error"}
    assert entry("POST", f"{GEMINI}:streamGenerateContent", stream=True).grammar == "gemini"
    for family, path in [("openai", "/openai/v1/chat/completions"), ("anthropic", "/anthropic/v1/messages"),
                         ("gemini", f"{GEMINI}:generateContent"), ("media", "/dashscope/v1/tasks/t"),
                         ("music", "/suno/generate")]:
        for status in (400, 429, 503, 529):
            assert entry("POST", path, status).family == family
    error_files = {Path(e.schema).name for e in index.entries if e.name == "error"}
    assert error_files == {"openai-route.json", "anthropic-route.json", "gemini-route.json", "media-route.json",
                           "music-route.json"}
    assert {e.confidence for e in index.entries} == {"documented", "upstream", "assumed"}
    assert all(e.confidence == "assumed" for e in index.entries if e.family == "media")


def test_every_shipped_schema_is_valid_draft_2020_12_and_used_by_the_index():
    files = sorted(SHIPPED_DIR.rglob("*.json"))
    assert len(files) >= 30
    referenced: set[str] = set()
    for entry in ContractIndex.load().entries:
        refs = [entry.schema] if entry.schema else []
        referenced.update(Path(r.split("#")[0].removeprefix("file://")).name for r in refs + list(entry.event_schemas.values()))
    for entry in ContractIndex.load().entries:  # the shipped index is trusted at load: hold it to its files here
        for ref in [entry.schema] if entry.schema else []:
            assert Path(urllib.request.url2pathname(ref.split("#")[0].removeprefix("file://"))).is_file(), ref
        for ref in entry.event_schemas.values():
            assert Path(urllib.request.url2pathname(ref.split("#")[0].removeprefix("file://"))).is_file(), ref
    for path in files:
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema", path
        assert '"enum":' not in path.read_text(), f"{path}: growing sets belong in x-known-values, not enum"
    standalone = {"gateway.json", "openai.json", "anthropic.json", "gemini.json", "content-block.json",
                  "message.json"}  # reached through $ref
    assert {p.name for p in files} - referenced <= standalone


def test_every_shipped_route_belongs_to_the_family_its_path_prefix_says(index):
    for entry in index.entries:
        if entry.path and entry.path != "*":
            family = family_for_path(entry.path)
            assert family is not None and family.name == entry.family, entry.route()


def test_the_top_level_contracts_folder_is_the_shipped_one():
    top = Path(__file__).resolve().parents[1] / "contracts"
    assert (top / "index.yaml").read_bytes() == (SHIPPED_DIR / "index.yaml").read_bytes()


def test_the_wheel_ships_the_contracts(tmp_path):
    root = Path(__file__).resolve().parents[1]
    source = tmp_path / "src"
    # a copy, so the build never touches the shared work tree
    anywhere = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                      ".venv", ".demo")

    def ignore(folder: str, names: list[str]) -> set[str]:
        # the recorded cassettes and benchmarks at the top only: pytest_anyint/cassettes/ is code
        top = {"cassettes", "benchmarks"} if Path(folder) == root else set()
        return set(anywhere(folder, names)) | (top & set(names))

    shutil.copytree(root, source, symlinks=True, ignore=ignore)
    out = tmp_path / "wheel"
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and ("Could not find a version" in result.stderr or "No matching distribution" in result.stderr):
        pytest.skip(f"build backend not installable here: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr
    (wheel,) = out.glob("pytest_anyint-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "pytest_anyint/_contracts/index.yaml" in names
    assert "pytest_anyint/contracts/shipped_index.json" in names  # the form a cold process reads
    shipped = {"pytest_anyint/_contracts/" + p.relative_to(SHIPPED_DIR).as_posix() for p in SHIPPED_DIR.rglob("*.json")}
    assert shipped <= names, sorted(shipped - names)[:5]
    assert "pytest_anyint/schemas/report.schema.json" in names
    # every module of every subpackage (a package list that misses one breaks only installed users)
    modules = {p.relative_to(root).as_posix() for p in (root / "pytest_anyint").rglob("*.py")}
    assert modules <= names, sorted(modules - names)[:5]

    # A regular install of that wheel (into its own folder, ahead of the editable install on the
    # path) finds its contracts and validates with them.
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    completion = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop", "logprobs": None}]}
    probe = (
        "import json, pytest_anyint; from pytest_anyint.contracts import ContractIndex; "
        "index = ContractIndex.load(); "
        "print(json.dumps([pytest_anyint.__file__, len(index.entries), "
        "len(index.validate(method='POST', path='/openai/v1/chat/completions', status=200, "
        "content_type='application/json', body=%r))]))"
    ) % json.dumps(completion).encode()
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    module_file, entries, violations = json.loads(done.stdout)
    assert module_file.startswith(str(target)) and entries == len(ContractIndex.load().entries) and violations == 0


def test_the_editable_install_finds_the_contracts_in_the_source_tree():
    import pytest_anyint

    source = Path(__file__).resolve().parents[1] / "pytest_anyint"
    assert Path(pytest_anyint.__file__).resolve().parent == source
    assert SHIPPED_DIR.resolve() == (source / "_contracts").resolve()
    assert ContractIndex.load().entries


# --------------------------------------------------------------------------- the fast path is sound


def _fast_cases() -> list[tuple[str, Any]]:
    cases = []
    for name in sorted(SAMPLE_ROUTES):
        if name.endswith(".json") and (SAMPLES / name).exists():
            cases.append((name, json.loads((SAMPLES / name).read_bytes())))
    return cases


def _paths(value: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(value, dict):
        for key, item in value.items():
            out.append(f"{prefix}/{key}")
            out.extend(_paths(item, f"{prefix}/{key}"))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            out.append(f"{prefix}/{number}")
            out.extend(_paths(item, f"{prefix}/{number}"))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_validator_never_passes_a_body_jsonschema_rejects(index, data):
    name, document = data.draw(st.sampled_from(_fast_cases()))
    pointer = data.draw(st.sampled_from(_paths(document)))
    replacement = data.draw(st.one_of(st.just(REMOVE), st.tuples(st.just(RETYPE), st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
        st.just([]), st.just({}), st.sampled_from(["stop", "STOP", "error", "message", "model", "chat.completion"]),
    ))))
    mutated = _mutate(document, pointer, replacement)
    method, path, status, _ = SAMPLE_ROUTES[name]
    entry = index.entry_for(method, path, status, False)
    fast = index.validators.fast(entry.schema)
    assert fast is not None
    if fast(mutated):
        assert list(index.validators.validator(entry.schema).iter_errors(mutated)) == [], (name, pointer, replacement)


# --------------------------------------------------------------------------- secrets


def test_scan_secrets_finds_keys_in_every_form_without_echoing_them():
    import base64
    import urllib.parse

    key = "sk-plan-Z9y8X7w6V5u4T3s2R1q0"  # invented for this test, not a real key
    text = "\n".join([
        "headers:",
        f"  authorization: Bearer {key}",
        f"  uri: https://gw/x?key={urllib.parse.quote(key + '/+=', safe='')}",
        f"  basic: {base64.b64encode(('user:' + key).encode()).decode()}",
        "  google: AIzaSyD-1234567890abcdefghijklmnopqrstu",
    ])
    found = scan_secrets(text, [key])
    joined = " | ".join(found)
    assert key not in joined and "Z9y8" not in joined and "AIzaSy" not in joined
    assert "the configured key at line 2" in joined
    assert "(base64-encoded) at line 4" in joined
    assert "an sk-… key-shaped string at line 2" in joined
    assert "a Bearer token at line 2" in joined
    assert "a Google API key (AIza…) at line 5" in joined
    url_only = scan_secrets(f"uri: /x?key={urllib.parse.quote(key + '/+=', safe='')}", [key + "/+="])
    assert any("(URL-encoded)" in f for f in url_only)


def test_scan_secrets_ignores_scrubbed_placeholders_and_ordinary_text():
    text = ("authorization: Bearer <ANYINT_API_KEY>\nx-api-key: anyint-replay-placeholder-key\n"
            "content: ask-me-anything-about-sk-learn\nid: chatcmpl-Cq7Zr2Lw9xVbH3kNpT5aYd1EuFgM0\n")
    assert scan_secrets(text, ["anyint-replay-placeholder-key"]) == []


# --------------------------------------------------------------------------- the public API, as documented


def test_the_documented_public_api_example_runs(capsys):
    """docs/contracts.md shows ContractIndex.load().validate() checking a payload without pytest."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "contracts.md").read_text()
    code = re.search(r"## Checking a payload without pytest.*?```python\n(.*?)```", text, re.S)
    assert code, "docs/contracts.md lost its public API example"
    exec(compile(code[1], "docs/contracts.md", "exec"), {})
    assert "/content/0/text schema.type True" in capsys.readouterr().out


def test_a_gemini_model_id_with_a_slash_is_a_published_route(index):
    """Model IDs of a project's own (``my-org/model-1``) reach Gemini's path unescaped."""
    assert index.is_published("POST", "/gemini/v1beta/models/my-org/model-1:generateContent")
    assert index.is_published("POST", "/gemini/v1beta/models/my-org/model-1:streamGenerateContent")
    assert not index.is_published("POST", "/gemini/v1beta/models/my-org/model-1/extra")
