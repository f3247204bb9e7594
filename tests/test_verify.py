"""``--anyint-record=verify`` against the emulator: live answers held to contracts and recorded shapes.

Each test records a small project against the emulator, then runs it in verify mode, with the
emulator's drift and fail switches standing in for a gateway that changed or is busy. What a user
cares about: an unchanged service passes and no cassette changes by a byte; a changed one fails
naming the path; a busy one is "not verified", not drift; fault cases replay.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import DRIFT_APP, DRIFT_CONFTEST

CONFIG = """
version: 1
routes:
  extract:
    family: openai
    primary: gpt-7-verify-mini
    fallbacks: [deepseek-v9-verify]
  chat:
    family: anthropic
    primary: claude-verify-9
    fallbacks: [claude-verify-9-haiku]
  summarize:
    family: gemini
    primary: gemini-9.9-verify
    fallbacks: [gemini-9.9-verify-pro]
"""

BUSY_CONFTEST = DRIFT_CONFTEST + """

@pytest.fixture(scope="session", autouse=True)
def emulator_busy(request):
    times = os.environ.get("EMULATOR_429")
    if times:
        request.getfixturevalue("anyint_emulator").fail(
            status=429, retry_after=0.2, times=None if times == "always" else int(times)
        )
"""

#: A fault case (replayed in verify mode, never sent live) and a plain case that reports its calls.
FAULT_APP = """
import logging
import os
import pytest

log = logging.getLogger("app")
HELLO = [{"role": "user", "content": "Say hello to the team"}]

def ask(client, model):
    return client.post("/chat/completions", json={"model": model, "messages": HELLO})

@pytest.mark.route("extract", faults=[503])
def test_fallback(anyint_route, anyint_calls):
    with anyint_route.client() as client:
        if ask(client, anyint_route.model).status_code == 503:
            fallback = anyint_route.chain[1].model
            log.warning("%s failed with 503, falling back to %s", anyint_route.model, fallback)
            assert ask(client, fallback).status_code == 200
    assert anyint_calls[0].source == "fault"
    assert [c.verified for c in anyint_calls] == [None, None]  # never sent live, in verify mode too

@pytest.mark.route("extract", models="primary")
def test_marks(anyint_route, anyint_calls):
    with anyint_route.client() as client:
        assert ask(client, anyint_route.model).status_code == 200
    expected = os.environ.get("EXPECT_VERIFIED")
    if expected:
        assert [c.verified for c in anyint_calls] == [expected]
"""


@pytest.fixture
def recorded(project):
    project.config(CONFIG)
    project.pytester.makeconftest(BUSY_CONFTEST)
    project.tests(test_app=DRIFT_APP, test_faults=FAULT_APP)
    project.record().assert_outcomes(passed=5)
    return project


def _files(project) -> dict[str, bytes]:
    base = project.root / "cassettes"
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def verify(project, monkeypatch, *args: str, drift: str | None = None, busy: str | None = None,
           expect: str | None = None) -> pytest.RunResult:
    for name, value in (("EMULATOR_DRIFT", drift), ("EMULATOR_429", busy), ("EXPECT_VERIFIED", expect)):
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    return project.pytester.runpytest("--anyint-record=verify", "--anyint-emulator", "-p", "no:randomly", *args)


def test_verify_passes_an_unchanged_service_and_leaves_every_cassette_byte_identical(recorded, monkeypatch):
    before = _files(recorded)
    result = verify(recorded, monkeypatch, expect="verified")
    result.assert_outcomes(passed=5)
    out = result.stdout.str()
    assert "drift:" not in out and "not verified:" not in out
    assert "anyint verify: 5 call(s) verified against the live gateway, 0 drifted, 0 not verified" in out
    assert _files(recorded) == before


def test_verify_fails_on_breaking_drift_naming_the_path_and_writes_nothing(recorded, monkeypatch):
    before = _files(recorded)
    result = verify(recorded, monkeypatch, "--anyint-report=verify.json", drift="breaking")
    # The three live-verified tests fail; the fault case replays (never sent live) and passes.
    result.assert_outcomes(passed=1, failed=4)
    out = result.stdout.str()
    line = (
        "breaking drift: test_app.py::test_openai[extract-primary-gpt-7-verify-mini] (model gpt-7-verify-mini): "
        "cassettes/test_app/test_openai/extract/gpt-7-verify-mini.yaml interaction #1 POST /openai/v1/chat/completions: "
    )
    assert line + "$.choices[].finish_reason removed (was string)" in out
    assert line + "$.created changed type: number → string" in out
    streamed = line.replace("#1", "#2")  # a stream is verified too: its chunks and its grammar
    assert streamed + "$.choices[].finish_reason removed (was null|string)" in out
    assert "(model claude-verify-9)" in out and "event message_delta: $.delta.stop_reason removed (was string)" in out
    assert "(model gemini-9.9-verify)" in out and "$.candidates[].content removed (was object)" in out
    assert "(live answer)" in out  # the live answer broke the family contract too
    assert "the cassettes were left as they are" in out
    assert 'pytest --anyint-record=rewrite "test_app.py::test_openai[extract-primary-gpt-7-verify-mini]"' in out
    assert _files(recorded) == before
    report = json.loads(Path(recorded.root / "verify.json").read_text())
    assert report["record_mode"] == "verify"
    assert any(d["path"] == "$.choices[].finish_reason" and d["breaking"] for d in report["drift"])
    tests = {t["nodeid"].split("::")[1]: t.get("verified") for t in report["tests"]}
    assert tests["test_fallback[extract-fault-503]"] is None  # replayed, never sent live
    assert tests["test_marks[extract-primary-gpt-7-verify-mini]"] == {"verified": 0, "drift": 1, "not_verified": 0}


def test_verify_reports_additive_drift_without_failing(recorded, monkeypatch):
    result = verify(recorded, monkeypatch, drift="additive", expect="drift")
    result.assert_outcomes(passed=5)
    out = result.stdout.str()
    assert "additive drift: test_app.py::test_openai[extract-primary-gpt-7-verify-mini]" in out
    assert "new key $.anyint_new_field (string)" in out and "breaking drift" not in out


def test_verify_with_drift_warn_reports_breaking_drift_and_passes(recorded, monkeypatch):
    result = verify(recorded, monkeypatch, "--anyint-drift=warn", "--anyint-contracts=off", drift="breaking")
    result.assert_outcomes(passed=5)
    assert "breaking drift: test_app.py::test_openai[extract-primary-gpt-7-verify-mini]" in result.stdout.str()


def test_a_429_is_retried_after_its_retry_after_then_reported_as_not_verified(recorded, monkeypatch):
    before = _files(recorded)
    # Two 429s, then the answer: retried (0.2 s each) and verified.
    verify(recorded, monkeypatch, "test_faults.py", busy="2", expect="verified").assert_outcomes(passed=2)
    # Always busy: a bounded number of tries, then "not verified", never drift, and the test passes.
    result = verify(recorded, monkeypatch, "test_faults.py", busy="always", expect="not verified")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert (
        "test_faults.py::test_marks[extract-primary-gpt-7-verify-mini]: cassettes/test_faults/test_marks/extract/"
        "gpt-7-verify-mini.yaml interaction #1 (POST /openai/v1/chat/completions) not verified: "
        "the gateway answered 429 (retry-after 0.2) 3 times"
    ) in out
    assert "drift:" not in out
    assert _files(recorded) == before


def test_verify_needs_the_key_like_recording(project):
    project.config(CONFIG)
    project.tests(test_app=DRIFT_APP)
    result = project.pytester.runpytest("--anyint-record=verify")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--anyint-record=verify needs the gateway key in $ANYINT_API_KEY" in result.stderr.str()


#: The official SDKs built the plain way, sync and async (the async transport's path), streaming.
SDK_APP = """
import os

import anthropic
import openai
import pytest

PROMPT = [{"role": "user", "content": "vendor: ACME"}]


@pytest.mark.route("extract", models="primary")
def test_openai_stream(anyint_route, anyint_calls):
    client = openai.OpenAI(api_key=anyint_route.api_key, base_url=anyint_route.base_url, max_retries=0)
    chunks = list(client.chat.completions.create(model=anyint_route.model, messages=PROMPT, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    if os.environ.get("EXPECT_VERIFIED"):
        assert [c.verified for c in anyint_calls] == [os.environ["EXPECT_VERIFIED"]]


@pytest.mark.asyncio
@pytest.mark.route("chat", models="primary")
async def test_anthropic_async(anyint_route, anyint_calls):
    client = anthropic.AsyncAnthropic(api_key=anyint_route.api_key, base_url=anyint_route.base_url, max_retries=0)
    message = await client.messages.create(model=anyint_route.model, max_tokens=64, messages=PROMPT)
    assert message.content[0].text
    if os.environ.get("EXPECT_VERIFIED"):
        assert [c.verified for c in anyint_calls] == [os.environ["EXPECT_VERIFIED"]]
"""


def test_verify_with_the_official_sdks_sync_and_async(project, monkeypatch):
    project.config(CONFIG)
    project.pytester.makeconftest(BUSY_CONFTEST)
    project.tests(test_sdk=SDK_APP)
    project.record().assert_outcomes(passed=2)
    before = _files(project)
    verify(project, monkeypatch, expect="verified").assert_outcomes(passed=2)
    result = verify(project, monkeypatch, "--anyint-contracts=off", drift="breaking")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "breaking drift: test_sdk.py::test_openai_stream[extract-primary-gpt-7-verify-mini]" in out
    assert "stream events changed" in out
    assert "breaking drift: test_sdk.py::test_anthropic_async[chat-primary-claude-verify-9] (model claude-verify-9)" in out
    assert "$.stop_reason removed (was string)" in out
    assert _files(project) == before
