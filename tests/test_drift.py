"""Contract drift: shape fingerprints per family, the rewrite-time check against the emulator, the
``pytest-anyint drift`` command over directories and git revisions, and cassette age."""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from pytest_anyint import cli
from pytest_anyint.cassettes import CassetteError, CassetteSerializer, parse_cassette_text
from pytest_anyint.drift.findings import Recorded, compare_interactions, from_vcr_dicts
from pytest_anyint.drift.shape import ShapeFingerprint, compare_fingerprints
from pytest_anyint.drift.trees import _read_fast, read_for_drift
from pytest_anyint.run.age import parse_max_age, stale_message

from .helpers import DRIFT_APP, DRIFT_CONFTEST

# Reference payloads of the three families (hand-written from the official shapes, invented values).
SAMPLES = Path(__file__).resolve().parent / "samples"
JSON = "application/json"
SSE = "text/event-stream"


# --------------------------------------------------------------------------- real-shaped bodies

OPENAI_COMPLETION = {
    "id": "chatcmpl-Cq7Zr2Lw9xVbH3kNpT5aYd1EuFgM0",
    "object": "chat.completion",
    "created": 1755781234,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "The capital of Australia is Canberra.", "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 24,
        "completion_tokens": 8,
        "total_tokens": 32,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    },
    "service_tier": "default",
    "system_fingerprint": "fp_3a1f0c9e2b",
}

ANTHROPIC_MESSAGE = {
    "id": "msg_01Hq7vKpX2wT9mRb4NcYzL3e",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "text", "text": "I'll look up the weather in Oslo."},
        {"type": "tool_use", "id": "toolu_01Fz8cQw3JkV6pLm2RtYx9Ab", "name": "get_weather", "input": {"city": "Oslo"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 412, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1830, "output_tokens": 71},
}

GEMINI_RESPONSE = {
    "candidates": [
        {"content": {"parts": [{"text": "Canberra."}], "role": "model"}, "finishReason": "STOP", "index": 0}
    ],
    "usageMetadata": {
        "promptTokenCount": 9,
        "candidatesTokenCount": 21,
        "totalTokenCount": 87,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}],
        "thoughtsTokenCount": 57,
    },
    "modelVersion": "gemini-2.5-flash",
    "responseId": "x7anaO-kFpKbz7IPl9mX8Qc",
}


def fp(body, status: int = 200, content_type: str = JSON) -> ShapeFingerprint:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return ShapeFingerprint.of_response(status, content_type, raw)


def changes(old, new, **kwargs) -> list[tuple[str, str, str, str]]:
    return [(c.kind, c.path, c.old, c.new) for c in compare_fingerprints(fp(old, **kwargs), fp(new, **kwargs))]


def edited(body: dict, edit) -> dict:
    copied = copy.deepcopy(body)
    edit(copied)
    return copied


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def sse_events(events: list[tuple[str | None, dict | str]], newline: str = "\n") -> str:
    out = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        out.append((f"event: {name}{newline}" if name else "") + f"data: {payload}{newline}{newline}")
    return "".join(out)


# --------------------------------------------------------------------------- OpenAI


def test_openai_volatile_values_never_count():
    reworded = edited(
        OPENAI_COMPLETION,
        lambda b: b.update(
            id="chatcmpl-other",
            created=1799999999,
            system_fingerprint="fp_new",
            model="gpt-4o-mini-2024-09-01",
            choices=[{**b["choices"][0], "message": {**b["choices"][0]["message"], "content": "Canberra, of course."}}],
            usage={**b["usage"], "prompt_tokens": 1000, "completion_tokens": 2000, "total_tokens": 3000},
        ),
    )
    assert changes(OPENAI_COMPLETION, reworded) == []


def test_openai_removed_key_and_changed_type_are_breaking():
    broken = edited(OPENAI_COMPLETION, lambda b: (b["choices"][0].pop("finish_reason"), b.update(created="1755781234")))
    assert changes(OPENAI_COMPLETION, broken) == [
        ("breaking", "$.created", "number", "string"),
        ("breaking", "$.choices[].finish_reason", "string", "absent"),
    ]


def test_openai_known_additions_are_additive():
    grown = edited(
        OPENAI_COMPLETION,
        lambda b: b.update(service_tier="priority", moderation={"input": None, "output": None}),
    )
    assert changes(OPENAI_COMPLETION, grown) == [
        ("additive", "$.moderation", "absent", "object"),
        ("additive", "$.service_tier", "'default'", "'priority'"),
    ]


def test_openai_token_details_and_fingerprint_may_come_and_go():
    lean = edited(OPENAI_COMPLETION, lambda b: (b["usage"].pop("prompt_tokens_details"), b.pop("system_fingerprint")))
    assert changes(OPENAI_COMPLETION, lean) == []
    richer = edited(OPENAI_COMPLETION, lambda b: b["usage"]["prompt_tokens_details"].update(cache_write_tokens=0))
    assert changes(OPENAI_COMPLETION, richer) == []


def test_openai_content_becoming_null_is_breaking_but_null_getting_a_value_is_not():
    null = edited(OPENAI_COMPLETION, lambda b: b["choices"][0]["message"].update(content=None))
    assert changes(OPENAI_COMPLETION, null) == [("breaking", "$.choices[].message.content", "string", "null")]
    assert changes(null, OPENAI_COMPLETION) == [("additive", "$.choices[].message.content", "null", "string")]


def test_openai_an_empty_array_hides_no_removed_keys_but_new_elements_are_reported():
    cited = edited(
        OPENAI_COMPLETION,
        lambda b: b["choices"][0]["message"].update(annotations=[{"type": "url_citation", "url_citation": {"url": "u"}}]),
    )
    assert changes(cited, OPENAI_COMPLETION) == []
    assert changes(OPENAI_COMPLETION, cited)[0] == ("additive", "$.choices[].message.annotations[]", "absent", "object")


def test_openai_stream_grammar_is_compared_and_chunk_counts_are_not():
    stream = sample("openai-chat-stream.sse")
    events = stream.split("\n\n")
    shorter = "\n\n".join(events[:2] + events[3:])  # one content chunk fewer
    assert changes(stream, shorter, content_type=SSE) == []
    no_done = stream.replace("data: [DONE]\n\n", "")
    assert changes(stream, no_done, content_type=SSE) == [
        ("breaking", "events", "role → content → finish → usage → [DONE]", "role → content → finish → usage")
    ]
    errored = "\n\n".join(events[:2]) + '\n\ndata: {"error": {"message": "overloaded", "type": "server_error", "param": null, "code": null}}\n\n'
    kinds = changes(stream, errored, content_type=SSE)
    assert ("breaking", "events", "role → content → finish → usage → [DONE]", "role → content → error") in kinds


def test_openai_stream_obfuscation_is_volatile():
    stream = sample("openai-chat-stream.sse")
    without = "".join(line for line in stream.splitlines(keepends=True))
    without = __import__("re").sub(r',"obfuscation":"[^"]*"', "", without)
    assert without != stream
    assert changes(stream, without, content_type=SSE) == []


def test_status_class_and_framing_changes_are_breaking():
    error = json.loads(sample("openai-error-429.json"))
    assert [(c.kind, c.path, c.old, c.new) for c in compare_fingerprints(fp(OPENAI_COMPLETION), fp(error, status=503))] == [
        ("breaking", "status", "200", "503")
    ]
    assert [(c.kind, c.old, c.new) for c in compare_fingerprints(fp(error, status=429), fp(error, status=400))] == [
        ("additive", "429", "400")
    ]
    as_text = compare_fingerprints(fp(OPENAI_COMPLETION), fp(b"upstream said no", content_type="text/plain"))
    assert [(c.kind, c.path) for c in as_text] == [("breaking", "content-type")]


# --------------------------------------------------------------------------- Anthropic


def test_anthropic_message_drift():
    assert changes(ANTHROPIC_MESSAGE, edited(ANTHROPIC_MESSAGE, lambda b: b["content"][0].update(text="Other words"))) == []
    other_tool_args = edited(ANTHROPIC_MESSAGE, lambda b: b["content"][1].update(input={"town": "Oslo", "days": 3}))
    assert changes(ANTHROPIC_MESSAGE, other_tool_args) == []  # tool input is the model's data, not the contract
    no_cache = edited(ANTHROPIC_MESSAGE, lambda b: [b["usage"].pop(k) for k in ("cache_creation_input_tokens", "cache_read_input_tokens")])
    assert changes(ANTHROPIC_MESSAGE, no_cache) == []
    grown = edited(ANTHROPIC_MESSAGE, lambda b: (b["usage"].update(service_tier="standard"), b.update(stop_reason="pause_turn")))
    assert changes(ANTHROPIC_MESSAGE, grown) == [
        ("additive", "$.usage.service_tier", "absent", "string"),
        ("additive", "$.stop_reason", "'tool_use'", "'pause_turn'"),
    ]
    stringly = edited(ANTHROPIC_MESSAGE, lambda b: (b["content"][1].update(input='{"city": "Oslo"}'), b.pop("stop_reason")))
    assert changes(ANTHROPIC_MESSAGE, stringly) == [
        ("breaking", "$.content[].input", "object", "string"),
        ("breaking", "$.stop_reason", "string", "absent"),
    ]


def test_anthropic_stream_grammar_ignores_pings_and_block_counts():
    stream = sample("anthropic-stream.sse")
    no_pings = stream.replace('event: ping\ndata: {"type":"ping"}\n\n', "")
    assert no_pings != stream
    assert changes(stream, no_pings, content_type=SSE) == []
    start = stream.split("event: content_block_start", 1)[0]
    text_only = start + sse_events(
        [
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 3}}),
            ("message_stop", {"type": "message_stop"}),
        ]
    )
    assert fp(stream, content_type=SSE).events == fp(text_only, content_type=SSE).events
    overloaded = start + sse_events([("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})])
    found = changes(stream, overloaded, content_type=SSE)
    assert found[0] == (
        "breaking",
        "events",
        "message_start → content_block_start → content_block_delta → content_block_stop → message_delta → message_stop",
        "message_start → error",
    )


def test_anthropic_stream_paths_name_their_event():
    stream = sample("anthropic-stream.sse")
    dropped = stream.replace('"delta":{"stop_reason":"tool_use","stop_sequence":null}', '"delta":{"stop_sequence":null}')
    assert changes(stream, dropped, content_type=SSE) == [
        ("breaking", "event message_delta: $.delta.stop_reason", "string", "absent")
    ]


# --------------------------------------------------------------------------- Gemini


def test_gemini_absent_when_zero_counters_and_safety_ratings_are_not_drift():
    lean = edited(GEMINI_RESPONSE, lambda b: [b["usageMetadata"].pop(k) for k in ("candidatesTokenCount", "thoughtsTokenCount")])
    assert changes(GEMINI_RESPONSE, lean) == []
    assert changes(lean, GEMINI_RESPONSE) == []
    rated = edited(
        GEMINI_RESPONSE,
        lambda b: b["candidates"][0].update(safetyRatings=[{"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"}]),
    )
    assert changes(rated, GEMINI_RESPONSE) == []


def test_gemini_breaking_and_additive():
    broken = edited(GEMINI_RESPONSE, lambda b: (b["candidates"][0].pop("content"), b["usageMetadata"].update(totalTokenCount="87")))
    assert changes(GEMINI_RESPONSE, broken) == [
        ("breaking", "$.usageMetadata.totalTokenCount", "number", "string"),
        ("breaking", "$.candidates[].content", "object", "absent"),  # one finding, not one per child key
    ]
    grown = edited(GEMINI_RESPONSE, lambda b: (b.update(modelStatus={"modelStage": "STABLE"}), b["candidates"][0].update(finishReason="MAX_TOKENS")))
    assert changes(GEMINI_RESPONSE, grown) == [
        ("additive", "$.modelStatus", "absent", "object"),
        ("additive", "$.candidates[].finishReason", "'STOP'", "'MAX_TOKENS'"),
    ]


def test_gemini_stream_chunks_and_framing():
    stream = sample("gemini-stream.sse")
    assert "\r\n" in stream or "\n" in stream
    one_chunk = stream.split("\n\n")[-2] + "\n\n"
    assert changes(stream, one_chunk, content_type=SSE) == []  # chunk boundaries are volatile
    as_array = sample("gemini-stream-array.json")
    found = compare_fingerprints(fp(stream, content_type=SSE), fp(as_array, content_type=JSON))
    assert [(c.kind, c.path, c.old, c.new) for c in found] == [
        ("breaking", "content-type", "text/event-stream (sse)", "application/json (json)")
    ]
    named = stream.replace("data: {", "event: message\ndata: {")  # event: lines appearing in Gemini
    assert changes(stream, named, content_type=SSE)[0] == ("breaking", "events", "chunk", "message")


def test_gemini_error_envelope_values():
    error = json.loads(sample("gemini-error-429.json"))
    reworded = edited(error, lambda b: b["error"].update(message="Slow down"))
    assert changes(error, reworded, status=429) == []
    moved = {"error": {"message": "x", "type": "rate_limit_error", "code": "rate_limit_exceeded", "param": None}}
    kinds = {(c[0], c[1]) for c in changes(error, moved, status=429)}
    assert ("breaking", "$.error.status") in kinds and ("breaking", "$.error.details") in kinds


@pytest.mark.parametrize(
    "name",
    [p.name for p in sorted(SAMPLES.iterdir())] if SAMPLES.is_dir() else [],
)
def test_every_sample_is_identical_to_itself(name):
    content_type = SSE if name.endswith(".sse") else JSON
    print_ = fp(sample(name), content_type=content_type)
    assert print_.paths and compare_fingerprints(print_, print_) == []


@pytest.mark.parametrize(
    ("name", "served"),
    [
        ("openai-chat-completion.json", "gpt-4o-mini-2024-07-18"),
        ("openai-chat-stream.sse", "gpt-4o-mini-2024-07-18"),
        ("anthropic-message.json", "claude-sonnet-4-5-20250929"),
        ("anthropic-stream.sse", "claude-sonnet-4-5-20250929"),  # in message_start's message
        ("gemini-generate.json", "gemini-2.5-flash"),
        ("gemini-stream.sse", "gemini-2.5-flash"),
        ("gemini-stream-array.json", "gemini-2.5-flash"),
        ("openai-error-429.json", None),
        ("../contract_samples/openai-responses-stream.sse", "gpt-4o-mini-2024-07-18"),  # in each event's response
    ],
)
def test_the_fingerprint_reads_the_served_model_from_the_family_table(name, served):
    # drift does not know the family: it takes the first that reads a model (families.served_model_any)
    content_type = SSE if name.endswith(".sse") else JSON
    assert fp(sample(name), content_type=content_type).served_model == served


def test_the_call_trail_reads_the_served_model_of_a_responses_stream():
    from pytest_anyint import sse
    from pytest_anyint.families import FAMILIES, stream_served_model

    events = sse.json_data(sse.parse(sample("../contract_samples/openai-responses-stream.sse")))
    assert stream_served_model(FAMILIES["openai"], events) == "gpt-4o-mini-2024-07-18"
    assert FAMILIES["openai"].served_model({"type": "response.output_text.delta", "delta": "x"}) is None


# --------------------------------------------------------------------------- pairing interactions


def rec(path: str, body: dict, status: int = 200, method: str = "POST") -> Recorded:
    return Recorded(method, path, status, JSON, json.dumps(body).encode())


def test_interactions_pair_by_request_and_position():
    chat, messages = "/openai/v1/chat/completions", "/anthropic/v1/messages"
    old = [rec(chat, OPENAI_COMPLETION), rec(messages, ANTHROPIC_MESSAGE)]
    broken = edited(ANTHROPIC_MESSAGE, lambda b: b.pop("stop_reason"))
    new = [rec(messages, broken), rec(chat, OPENAI_COMPLETION), rec(chat, OPENAI_COMPLETION)]
    drift = compare_interactions(old, new, test="t::x", model="m", cassette="c.yaml")
    assert [(f.interaction, f.request, f.path, f.kind) for f in drift.findings] == [
        (1, "POST /anthropic/v1/messages", "$.stop_reason", "breaking")
    ]
    assert drift.notes == ["c.yaml: interaction #3 (POST /openai/v1/chat/completions) has no counterpart in the old recording; not compared"]


def test_a_new_retry_after_a_failure_is_breaking_at_its_position():
    chat = "/openai/v1/chat/completions"
    failed = {"error": {"message": "busy", "type": "server_error", "code": "upstream_unavailable", "param": None}}
    drift = compare_interactions([rec(chat, OPENAI_COMPLETION)], [rec(chat, failed, 503), rec(chat, OPENAI_COMPLETION)], test="t", model="m")
    assert [(f.interaction, f.path, f.old, f.new) for f in drift.breaking] == [(1, "status", "200", "503")]


def test_model_rollover_is_a_note_not_drift():
    chat = "/openai/v1/chat/completions"
    newer = edited(OPENAI_COMPLETION, lambda b: b.update(model="gpt-4o-mini-2025-01-01"))
    drift = compare_interactions([rec(chat, OPENAI_COMPLETION)], [rec(chat, newer)], test="t", model="gpt-4o-mini")
    assert drift.findings == []
    assert "model rollover" in drift.notes[0] and "'gpt-4o-mini-2025-01-01'" in drift.notes[0]


# --------------------------------------------------------------------------- cassette trees (CLI)


def cassette_text(interactions: list[tuple[str, dict, int]], *, test: str, model: str, stream: bool = False) -> str:
    dicts = []
    for path, body, status in interactions:
        dicts.append(
            {
                "request": {"method": "POST", "uri": f"https://gateway.api.anyint.ai{path}", "body": b"{}", "headers": {}},
                "response": {
                    "status": {"code": status, "message": "OK"},
                    "headers": {"content-type": [JSON]},
                    "body": {"string": json.dumps(body).encode()},
                },
            }
        )
    return CassetteSerializer.serialize(
        {"interactions": dicts, "metadata": {"recorded_at": "2026-01-05T10:00:00Z", "test": test, "model": model, "route": "extract"}}
    )


CHAT = "/openai/v1/chat/completions"
GPT_CASSETTE = "tests/test_app/test_extract/extract/gpt-5-mini.yaml"
TEST_ID = "tests/test_app.py::test_extract[extract-primary-gpt-5-mini]"


def write_tree(root: Path, bodies: dict[str, dict]) -> None:
    for relative, body in bodies.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(cassette_text([(CHAT, body, 200)], test=TEST_ID, model=relative.rsplit("/", 1)[-1][:-5]))


def drift_cli(*argv: str) -> int:
    return cli.main(["drift", *argv])


def test_drift_dirs_breaking_exits_1_and_names_everything(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    write_tree(old, {GPT_CASSETTE: OPENAI_COMPLETION, "tests/other/x/extract/deepseek-v3.2-exp.yaml": OPENAI_COMPLETION})
    broken = edited(OPENAI_COMPLETION, lambda b: b["choices"][0].pop("finish_reason"))
    write_tree(new, {GPT_CASSETTE: broken, "tests/other/x/extract/deepseek-v3.2-exp.yaml": OPENAI_COMPLETION})
    assert drift_cli(str(old), str(new)) == 1
    out = capsys.readouterr().out
    assert "1 breaking, 0 additive shape change(s)" in out
    assert f"{new.as_posix()}/{GPT_CASSETTE}" in out
    assert f"test {TEST_ID}  model gpt-5-mini" in out
    assert "BREAKING #1 POST /openai/v1/chat/completions  $.choices[].finish_reason removed (was string)" in out


def test_drift_dirs_markdown_and_json_reports(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    write_tree(old, {GPT_CASSETTE: OPENAI_COMPLETION})
    write_tree(new, {GPT_CASSETTE: edited(OPENAI_COMPLETION, lambda b: b.update(created="x", moderation={}))})
    report = tmp_path / "out" / "drift.md"
    assert drift_cli(str(old), str(new), "--format", "markdown", "-o", str(report)) == 1
    markdown = report.read_text()
    assert markdown == capsys.readouterr().out
    assert "| Kind | Test | Model | Interaction | JSON path | Old | New |" in markdown
    assert (
        f"| **breaking** | `{TEST_ID}` | `gpt-5-mini` | #1 `POST /openai/v1/chat/completions` | `$.created` | `number` | `string` |"
        in markdown
    )
    assert "| additive |" in markdown and "`$.moderation`" in markdown
    assert drift_cli(str(old), str(new), "--format", "json") == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["version"], data["compared"], data["breaking"], data["additive"]) == (1, 1, 1, 1)
    first = data["findings"][0]
    assert {k: first[k] for k in ("test", "model", "interaction", "path", "old", "new", "kind")} == {
        "test": TEST_ID, "model": "gpt-5-mini", "interaction": 1, "path": "$.created", "old": "number", "new": "string", "kind": "breaking",
    }


def test_drift_markdown_shows_a_change_seen_in_many_cassettes_once(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    names = [f"tests/t/test_{i}/extract/gpt-5-mini.yaml" for i in range(3)]
    write_tree(old, {name: OPENAI_COMPLETION for name in names})
    write_tree(new, {name: edited(OPENAI_COMPLETION, lambda b: b.update(region="eu")) for name in names})
    assert drift_cli(str(old), str(new), "--format", "markdown") == 0
    markdown = capsys.readouterr().out
    assert markdown.count("`$.region` | `absent` | `string` |") == 1
    assert f"| additive | `{TEST_ID}` and 2 more | `gpt-5-mini` |" in markdown
    assert "<summary>Every finding (3)</summary>" in markdown
    assert all(f"{new.as_posix()}/{name} #1: new key $.region (string)" in markdown for name in names)


def test_drift_dirs_additive_or_wording_only_exits_0(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    write_tree(old, {GPT_CASSETTE: OPENAI_COMPLETION, "a/b/c/m.yaml": OPENAI_COMPLETION})
    reworded = edited(OPENAI_COMPLETION, lambda b: b["choices"][0]["message"].update(content="Other words entirely"))
    write_tree(new, {GPT_CASSETTE: reworded, "a/b/c/m.yaml": edited(OPENAI_COMPLETION, lambda b: b.update(extra=1))})
    assert drift_cli(str(old), str(new)) == 0
    out = capsys.readouterr().out
    assert "0 breaking, 1 additive" in out and "new key $.extra (number)" in out
    assert GPT_CASSETTE not in out


def test_drift_reports_new_removed_and_unreadable_cassettes(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    write_tree(old, {"gone.yaml": OPENAI_COMPLETION, "corrupt.yaml": OPENAI_COMPLETION})
    write_tree(new, {"fresh.yaml": OPENAI_COMPLETION})
    (new / "corrupt.yaml").write_text("interactions: [\n")
    assert drift_cli(str(old), str(new)) == 1
    out = capsys.readouterr().out
    assert "/corrupt.yaml" in out and "not valid YAML" in out
    assert "gone.yaml: removed" in out and "fresh.yaml: new cassette" in out


def test_the_fast_cassette_reader_agrees_with_the_full_parser():
    interactions = []
    for sample_path in sorted(SAMPLES.iterdir()):
        content_type = SSE if sample_path.suffix == ".sse" else JSON
        interactions.append(
            {
                "request": {"method": "POST", "uri": "https://gateway.api.anyint.ai/x", "body": b"{}", "headers": {}},
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Type": [content_type]},
                    "body": {"string": sample_path.read_bytes()},
                },
            }
        )
    interactions.append({**interactions[0], "response": {**interactions[0]["response"], "headers": {}, "body": {"string": b"plain words"}}})
    text = CassetteSerializer.serialize({"interactions": interactions, "metadata": {"test": "t"}})
    metadata, fast = _read_fast(text)
    full = from_vcr_dicts(parse_cassette_text(text, source="x")["interactions"])
    assert metadata == {"test": "t"} and len(fast) == len(full) == len(interactions)
    assert [r.fingerprint() for r in fast] == [r.fingerprint() for r in full]


def test_unusual_yaml_falls_back_to_the_full_parser():
    text = CassetteSerializer.serialize(
        {"interactions": [{"request": {"method": "GET", "uri": "https://g/openai/v1/models", "body": b"", "headers": {}},
                           "response": {"status": {"code": 200, "message": "OK"}, "headers": {"content-type": [JSON]},
                                        "body": {"string": b'{"a": 1}'}}}]}
    )
    hand_edited = text.replace("a: 1", "a: 017\n        b: .inf")  # YAML 1.1 octal, infinity
    metadata, (recorded,) = read_for_drift(hand_edited.encode(), "c.yaml")
    assert recorded.fingerprint().paths == {"$": {"object"}, "$.a": {"number"}, "$.b": {"number"}}
    with pytest.raises(CassetteError, match=r"^c.yaml:3: not valid YAML"):
        read_for_drift(b"interactions:\n  - [\n", "c.yaml")
    with pytest.raises(CassetteError, match="not a pytest-anyint cassette"):
        read_for_drift(b"- just a list\n", "c.yaml")


def test_drift_usage_errors_exit_2(tmp_path, capsys):
    assert drift_cli(str(tmp_path / "missing"), str(tmp_path)) == 2
    assert "no such directory" in capsys.readouterr().err
    assert drift_cli() == 2
    assert drift_cli(str(tmp_path), str(tmp_path), "--git", "HEAD") == 2


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    write_tree(root / "cassettes", {GPT_CASSETTE: OPENAI_COMPLETION})
    git(root, "add", "-A")
    git(root, "commit", "-qm", "cassettes")
    monkeypatch.chdir(root)
    return root


def test_drift_git_compares_the_working_tree_with_a_revision(repo, capsys):
    assert drift_cli("--git", "HEAD") == 0
    assert "no shape changes" in capsys.readouterr().out
    write_tree(repo / "cassettes", {GPT_CASSETTE: edited(OPENAI_COMPLETION, lambda b: b["choices"][0].pop("finish_reason"))})
    before = git(repo, "status", "--porcelain")
    assert drift_cli("--git", "HEAD", "--format", "markdown", "-o", "drift.md") == 1
    assert "`$.choices[].finish_reason` | `string` | `absent` |" in (repo / "drift.md").read_text()
    assert git(repo, "status", "--porcelain").replace("?? drift.md\n", "") == before  # no checkout touched the tree
    (repo / "sub").mkdir()
    (repo / "sub" / "elsewhere").mkdir()
    assert drift_cli("--git", "HEAD", "--dir", "cassettes/tests") == 1  # a sub-tree, paths relative to it


def test_drift_git_bad_revision_or_dir_exits_2(repo, capsys):
    assert drift_cli("--git", "no-such-rev") == 2
    assert "'no-such-rev' is not a commit" in capsys.readouterr().err
    assert drift_cli("--git", "HEAD", "--dir", "nope") == 2


def test_drift_git_outside_a_repository_exits_2(tmp_path, monkeypatch, capsys):
    write_tree(tmp_path / "cassettes", {GPT_CASSETTE: OPENAI_COMPLETION})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert drift_cli("--git", "HEAD") == 2
    assert "git rev-parse" in capsys.readouterr().err


# --------------------------------------------------------------------------- in the run, against the emulator


OPENAI_CASSETTE = "test_app/test_openai/extract/gpt-5-mini.yaml"


@pytest.fixture
def recorded(project):
    project.pytester.makeconftest(DRIFT_CONFTEST)
    project.tests(test_app=DRIFT_APP)
    project.record().assert_outcomes(passed=3)
    return project


def rewrite(project, monkeypatch, change: str | None, *args: str) -> pytest.RunResult:
    if change:
        monkeypatch.setenv("EMULATOR_DRIFT", change)
    else:
        monkeypatch.delenv("EMULATOR_DRIFT", raising=False)
    return project.pytester.runpytest("--anyint-record=rewrite", "--anyint-emulator", "-p", "no:randomly", *args)


def test_rewrite_after_a_breaking_change_fails_naming_test_model_interaction_path_old_and_new(recorded, monkeypatch):
    result = rewrite(recorded, monkeypatch, "breaking", "--anyint-contracts=off")
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    openai_line = (
        "breaking drift: test_app.py::test_openai[extract-primary-gpt-5-mini] (model gpt-5-mini): "
        f"cassettes/{OPENAI_CASSETTE} interaction #1 POST /openai/v1/chat/completions: "
    )
    assert openai_line + "$.choices[].finish_reason removed (was string)" in out
    assert openai_line + "$.created changed type: number → string" in out
    streamed = openai_line.replace("#1", "#2")  # the stream: its chunks and its grammar
    assert streamed + "$.choices[].finish_reason removed (was null|string)" in out
    assert streamed + "stream events changed: role → content → delta → [DONE] (was role → content → finish → [DONE])" in out
    assert "(model claude-sonnet-4-6)" in out and "event message_delta: $.delta.stop_reason removed (was string)" in out
    assert "event message_start: $.message.usage.input_tokens changed type: number → string" in out
    assert "(model gemini-2.5-flash)" in out and "$.candidates[].content removed (was object)" in out
    assert "the new recording was saved over" in out
    saved = yaml.safe_load(recorded.cassette(OPENAI_CASSETTE).read_text())  # rewrite saved the new answer
    assert "finish_reason" not in saved["interactions"][0]["response"]["body"]["json"]["choices"][0]


def test_rewrite_with_drift_warn_passes_and_reports(recorded, monkeypatch):
    result = rewrite(recorded, monkeypatch, "breaking", "--anyint-contracts=off", "--anyint-drift=warn")
    result.assert_outcomes(passed=3)
    assert "breaking drift: test_app.py::test_openai[extract-primary-gpt-5-mini]" in result.stdout.str()


def test_rewrite_after_an_additive_change_passes_and_reports_the_new_key(recorded, monkeypatch):
    result = rewrite(recorded, monkeypatch, "additive")
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    assert (
        "additive drift: test_app.py::test_openai[extract-primary-gpt-5-mini] (model gpt-5-mini): "
        f"cassettes/{OPENAI_CASSETTE} interaction #1 POST /openai/v1/chat/completions: new key $.anyint_new_field (string)"
    ) in out
    assert "new key $.usage.anyint_new_detail (number)" in out
    assert "breaking drift" not in out


def test_rewrite_after_a_wording_change_only_reports_nothing(recorded, monkeypatch):
    before = recorded.cassette(OPENAI_CASSETTE).read_text()
    result = rewrite(recorded, monkeypatch, "wording")
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    assert "breaking drift:" not in out and "additive drift:" not in out and "0 drift findings" in out
    after = recorded.cassette(OPENAI_CASSETTE).read_text()
    assert "says:" in after and "says:" not in before  # the answers really changed


def test_drift_off_skips_the_comparison(recorded, monkeypatch):
    result = rewrite(recorded, monkeypatch, "breaking", "--anyint-contracts=off", "--anyint-drift=off")
    result.assert_outcomes(passed=3)
    assert "breaking drift:" not in result.stdout.str() and "0 drift findings" in result.stdout.str()


# --------------------------------------------------------------------------- cassette age


def test_parse_max_age():
    assert parse_max_age("30d") == dt.timedelta(days=30)
    assert parse_max_age("12h") == dt.timedelta(hours=12)
    assert parse_max_age("2w") == dt.timedelta(weeks=2)
    assert parse_max_age("7") == dt.timedelta(days=7)
    for bad in ("30x", "", "-1d", "0d", "d"):
        with pytest.raises(ValueError, match="is not an age"):
            parse_max_age(bad)


def test_stale_message_from_metadata():
    now = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    meta = {"recorded_at": "2026-01-01T00:00:00Z"}
    message = stale_message(meta, cassette="c.yaml", max_age="30d", nodeid="t.py::x", now=now)
    assert message == (
        "c.yaml was recorded 59 days ago (2026-01-01T00:00:00Z), older than --anyint-max-age=30d; "
        're-record it with: pytest --anyint-record=rewrite --anyint-max-age=30d "t.py::x"'
    )
    assert stale_message(meta, cassette="c.yaml", max_age="60d", nodeid="t", now=now) is None
    assert "has no metadata.recorded_at" in stale_message({}, cassette="c.yaml", max_age="1d", nodeid="t", now=now)


def age_cassette(project, relative: str, days: int) -> None:
    path = project.cassette(relative)
    data = yaml.safe_load(path.read_text())
    stamp = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    data["metadata"]["recorded_at"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_max_age_warns_or_fails_per_old_cassette(project):
    project.tests(test_app=DRIFT_APP)
    project.record().assert_outcomes(passed=3)
    age_cassette(project, OPENAI_CASSETTE, 40)
    warned = project.replay("--anyint-max-age=30d")
    warned.assert_outcomes(passed=3)
    out = warned.stdout.str()
    assert f"cassettes/{OPENAI_CASSETTE} was recorded 40 days ago" in out and "older than --anyint-max-age=30d" in out
    assert out.count("older than --anyint-max-age") == 1
    project.replay("--anyint-max-age=60d").assert_outcomes(passed=3)
    failed = project.replay("--anyint-max-age=30d", "--anyint-max-age-fail")
    failed.assert_outcomes(passed=2, errors=1)
    assert 'pytest --anyint-record=rewrite --anyint-max-age=' in failed.stdout.str()
    assert '"test_app.py::test_openai[extract-primary-gpt-5-mini]"' in failed.stdout.str()
    # The advised command works even though the service answers the same (an unchanged rewrite
    # keeps its file, unless it is older than the age limit the command names).
    project.pytester.runpytest("--anyint-record=rewrite", "--anyint-max-age=30d", "--anyint-emulator",
                               "test_app.py::test_openai[extract-primary-gpt-5-mini]").assert_outcomes(passed=1)
    project.replay("--anyint-max-age=30d", "--anyint-max-age-fail").assert_outcomes(passed=3)


def test_max_age_bad_value_is_a_usage_error(project):
    project.tests(test_app=DRIFT_APP)
    result = project.replay("--anyint-max-age=soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--anyint-max-age: 'soon' is not an age" in result.stderr.str()
