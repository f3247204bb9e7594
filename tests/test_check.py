"""``pytest-anyint check``: a cassette tree is clean, or every problem is one readable line."""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pytest_anyint.cassettes import CassetteError, load_yaml
from pytest_anyint.cassettes import decode_body as body_bytes
from pytest_anyint.commands.check import add_arguments, check_dir, main, run_check
from pytest_anyint.contracts.index import ContractIndex

from .helpers import CHECK_CHAT as CHAT
from .helpers import interaction, write_cassette

STREAM_EVENTS = [
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",'
    '"model":"claude-sonnet-4-6","content":[],"stop_reason":null,"stop_sequence":null,'
    '"usage":{"input_tokens":10,"output_tokens":1}}}\n\n',
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n',
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
    '"usage":{"output_tokens":2}}\n\n',
    'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]


def run(directory: Path, *extra: str) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run_check(parser.parse_args([str(directory), *extra]))


@pytest.fixture(autouse=True)
def _outside_this_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``check`` reads the project settings pytest would use from the working directory: run these
    in a folder of their own, not in this repository (whose anyint.yaml has output schemas)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def clean_tree(tmp_path: Path) -> Path:
    root = tmp_path / "cassettes"
    write_cassette(root / "tests/test_app/test_extract/extract/gpt-5-mini.yaml", [interaction()])
    write_cassette(root / "tests/test_app/test_chat/chat/claude-sonnet-4-6.yaml", [
        interaction(path="/anthropic/v1/messages", body={"sse": STREAM_EVENTS}, content_type="text/event-stream"),
        interaction(path="/anthropic/v1/messages", status=529, body={"json": {
            "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_1"}}),
    ])
    write_cassette(root / "_models/openai.yaml", [interaction(method="GET", path="/openai/v1/models", body={"json": {
        "object": "list", "data": [{"id": "gpt-5-mini", "object": "model", "created": 1, "owned_by": "system"}]}})])
    write_cassette(root / "tests/test_app/test_empty/extract/gpt-5-mini.yaml", [])
    return root


def test_a_clean_tree_exits_0(clean_tree, capsys):
    assert run(clean_tree) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "checked 4 cassette(s), 4 interaction(s): no problems"


def test_a_contract_violation_exits_1_naming_file_interaction_and_pointer(clean_tree, capsys):
    broken = dict(CHAT, created="yesterday")
    bad = write_cassette(clean_tree / "tests/test_app/test_extract/extract/deepseek-v3.2-exp.yaml",
                         [interaction(), interaction(body={"json": broken})])
    assert run(clean_tree) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    problem = [line for line in lines if "yesterday" in line]
    assert problem == [f'{bad} interaction #2: /created: expected integer, got string "yesterday" '
                       "(upstream rule, openai chat.completion)"]
    assert lines[-1].endswith("1 problem(s)")


def test_a_broken_stream_exits_1_with_the_stream_rule(clean_tree, capsys):
    write_cassette(clean_tree / "stream.yaml", [interaction(
        path="/anthropic/v1/messages", body={"sse": STREAM_EVENTS[:-1]}, content_type="text/event-stream")])
    assert run(clean_tree) == 1
    assert "Anthropic stream ended without message_stop" in capsys.readouterr().out


def test_a_planted_key_exits_1_without_printing_it(clean_tree, capsys):
    key = "sk-proj-4f9Qw8Zr7Lx2Vb6Nc1Md5Ke3"  # invented for this test, not a real key
    leaky = interaction()
    leaky["request"]["headers"]["authorization"] = [f"Bearer {key}"]
    path = write_cassette(clean_tree / "leaky.yaml", [leaky])
    assert run(clean_tree) == 1
    captured = capsys.readouterr()
    assert key not in captured.out + captured.err and "4f9Qw8" not in captured.out
    assert f"{path}: secret: an sk-… key-shaped string at line" in captured.out


def test_the_key_from_the_environment_is_found_even_base64_encoded(clean_tree, capsys, monkeypatch):
    key = "anyint-live-0123456789abcdef"
    monkeypatch.setenv("MY_GATEWAY_KEY", key)
    leaky = interaction()
    leaky["request"]["headers"]["authorization"] = ["Basic " + base64.b64encode(f"me:{key}".encode()).decode()]
    write_cassette(clean_tree / "basic.yaml", [leaky])
    assert run(clean_tree, "--key-env", "MY_GATEWAY_KEY") == 1
    out = capsys.readouterr().out
    assert "secret: the value of $MY_GATEWAY_KEY (base64-encoded) at line" in out and key not in out
    monkeypatch.delenv("MY_GATEWAY_KEY")
    assert run(clean_tree, "--key-env", "MY_GATEWAY_KEY") == 0  # nothing key-shaped without the value


@pytest.mark.parametrize("content, expected", [
    ("interactions:\n- request: {method: POST, uri: 'https://x/openai/v1/chat/completions'\n", "yaml:3: not valid YAML (truncated or corrupt?)"),
    ("- just\n- a list\n", "not a pytest-anyint cassette"),
    ("interactions: []\nversion: 7\n", "cassette format version 7 is not supported"),
    ("interactions:\n- {request: {}, response: {}}\nversion: 1\n", "interaction #1: request.method is missing"),
    ("interactions:\n- request: {method: POST, uri: 'https://g/openai/v1/chat/completions', body: null}\n"
     "  response: {status: {code: 200}, headers: {}, body: {json: {}, sse: []}}\nversion: 1\n",
     "interaction #1: a body must have exactly one of json, sse, string or base64"),
])
def test_a_corrupt_file_is_one_line_naming_it_not_a_traceback(clean_tree, capsys, content, expected):
    bad = clean_tree / "tests/corrupt.yaml"
    bad.write_text(content)
    assert run(clean_tree) == 1
    out = capsys.readouterr().out
    problems = [line for line in out.splitlines() if line.startswith(str(bad))]
    assert len(problems) == 1 and expected in problems[0], out
    assert "Traceback" not in out


def test_an_unpublished_route_in_a_cassette_names_the_closest_route(clean_tree, capsys):
    write_cassette(clean_tree / "guess.yaml", [interaction(method="GET", path="/v1/models", body={"json": {"data": []}})])
    assert run(clean_tree) == 1
    assert ("interaction #1: GET /v1/models is not a route the gateway publishes; closest published route: "
            "GET /openai/v1/models") in capsys.readouterr().out


def test_assumed_rules_warn_by_default_and_fail_under_strict(clean_tree, capsys):
    write_cassette(clean_tree / "media.yaml", [interaction(
        path="/transtreams/kling/v1/videos/text2video", body={"json": {"code": 0, "data": {"task_status": "submitted"}}})])
    assert run(clean_tree) == 0
    assert "warning: " in capsys.readouterr().out
    assert run(clean_tree, "--contracts", "strict") == 1
    assert "/data/task_id: required key is missing (assumed rule" in capsys.readouterr().out


def test_usage_errors_exit_2(tmp_path, capsys):
    assert run(tmp_path / "missing") == 2
    assert "no such directory" in capsys.readouterr().err
    (tmp_path / "contracts").mkdir()
    assert run(tmp_path, "--contracts-dir", str(tmp_path / "contracts")) == 2
    assert "index.yaml: not found" in capsys.readouterr().err


def test_a_broken_config_is_reported_before_the_missing_cassette_folder(tmp_path, capsys, monkeypatch):
    # A new project: anyint.yaml written, a family mistyped, nothing recorded yet.
    (tmp_path / "anyint.yaml").write_text(
        "version: 1\nroutes:\n  extract:\n    family: opnai\n    primary: gpt-5-mini\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main([]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"pytest-anyint check: {tmp_path / 'anyint.yaml'}: routes.extract.family: 'opnai' is not one of: openai, "
        "anthropic, gemini, media, music (did you mean 'openai'?)",
        "pytest-anyint check: cassettes: no such directory",
    ]


def test_a_user_contracts_directory_is_applied(clean_tree, tmp_path, capsys):
    user = tmp_path / "my-contracts"
    user.mkdir()
    (user / "chat.json").write_text(json.dumps({"type": "object", "required": ["x_trace_id"]}))
    (user / "index.yaml").write_text(yaml.safe_dump({"version": 1, "entries": [
        {"family": "openai", "method": "POST", "path": "/openai/v1/chat/completions", "status": "2xx",
         "stream": False, "schema": "chat.json", "confidence": "documented"}]}))
    assert run(clean_tree, "--contracts-dir", str(user)) == 1
    assert "/x_trace_id: required key is missing" in capsys.readouterr().out


def test_the_command_runs_as_a_program(clean_tree):
    result = subprocess.run([sys.executable, "-m", "pytest_anyint.commands.check", str(clean_tree)],
                            capture_output=True, text=True, timeout=120, cwd=clean_tree.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    (clean_tree / "broken.yaml").write_text("interactions: [")
    result = subprocess.run([sys.executable, "-m", "pytest_anyint.commands.check", str(clean_tree)],
                            capture_output=True, text=True, timeout=120, cwd=clean_tree.parent)
    assert result.returncode == 1 and "broken.yaml:2: not valid YAML" in result.stdout


def test_check_dir_reports_counts_and_problems(clean_tree):
    report = check_dir(clean_tree, index=ContractIndex.load(), key_env=None)
    assert (report.cassettes, report.interactions, report.problems, report.warnings) == (4, 4, [], [])


def test_main_parses_its_own_arguments(clean_tree):
    assert main([str(clean_tree), "--contracts", "warn"]) == 0


# --------------------------------------------------------------------------- body forms and YAML


def test_body_bytes_serves_each_stored_form_exactly():
    assert body_bytes({"json": {"b": 1, "a": [True, None, "é"]}}) == '{"b":1,"a":[true,null,"é"]}'.encode()
    assert body_bytes({"sse": ["data: 1\r\n\r\n", "data: [DONE]\r\n\r\n"]}) == b"data: 1\r\n\r\ndata: [DONE]\r\n\r\n"
    assert body_bytes({"string": "plain"}) == b"plain"
    assert body_bytes({"base64": base64.b64encode(b"\x00\xff").decode()}) == b"\x00\xff"
    assert body_bytes(None) == b"" and body_bytes({"string": None}) == b""
    for bad in ({"json": 1, "string": "x"}, {"yaml": "x"}, {"base64": "***"}, {"sse": "data: x"}):
        with pytest.raises(CassetteError):
            body_bytes(bad)


def test_load_yaml_reads_cassettes_exactly_like_pyyaml(clean_tree):
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in clean_tree.rglob("*.yaml"):
        text = path.read_text()
        assert load_yaml(text) == yaml.load(text, Loader=loader)
    tricky = "base: {x: 1, y: [1.5, true, null, 0x1F, '007', 2026-01-01]}\nmerged: {<<: {x: 2}, z: ~}\nempty:\n"
    assert load_yaml(tricky) == yaml.load(tricky, Loader=loader)
    from pytest_anyint.yamlsafe import AliasError

    with pytest.raises(AliasError):  # aliases are refused, never expanded
        load_yaml("base: &b {x: 1}\nmerged: {<<: *b, z: ~}\n")
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: [")


# --------------------------------------------------------------------------- causes in words


def test_a_cassette_that_is_not_utf8_says_so_in_words(clean_tree, capsys):
    (clean_tree / "exported.yaml").write_bytes("interactions: []\n".encode("utf-16"))
    assert run(clean_tree) == 1
    out = capsys.readouterr().out
    assert "exported.yaml: cannot be read: not UTF-8 text" in out
    assert "UnicodeDecodeError" not in out


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_cassette_gives_the_cause_not_a_class_name(clean_tree, capsys):
    locked = clean_tree / "locked.yaml"
    locked.write_text("interactions: []\n")
    locked.chmod(0)
    try:
        assert run(clean_tree) == 1
    finally:
        locked.chmod(0o644)
    out = capsys.readouterr().out
    assert "locked.yaml: cannot be read: permission denied" in out and "OSError" not in out


def test_an_unreadable_cassette_cause_is_the_strerror(tmp_path):
    from pytest_anyint.commands.check import CheckReport, check_file

    class Locked(type(tmp_path)):  # the read fails as it does for a file without read permission
        def read_text(self, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(self))

    report = check_file(Locked(tmp_path / "locked.yaml"), ContractIndex.load(), report=CheckReport())
    assert report.problems == [f"{tmp_path / 'locked.yaml'}: cannot be read: permission denied"]


def test_a_cassette_path_that_is_a_directory_is_reported_not_skipped(clean_tree, capsys):
    (clean_tree / "tests/test_app/test_extract/extract/deepseek-v3.2-exp.yaml").mkdir()
    assert run(clean_tree) == 1
    out = capsys.readouterr().out
    assert "deepseek-v3.2-exp.yaml: is a directory, not a cassette file" in out
    assert "no problems" not in out
