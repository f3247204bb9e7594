"""Recording as §5 promises it: modes, reviewable cassettes, secrets, rate limits, streams that hang."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from pytest_anyint import cassettes

from .conftest import INI
from .helpers import OPENAI_TEST, assert_output

FAILING_EMULATOR = """
import pytest
from pytest_anyint.emulator import Emulator
from pytest_anyint.run import session as anyint_session

@pytest.fixture(scope="session", autouse=True)
def _planted(request):
    # the emulator the session records against answers the primary with a rate limit first
    from pytest_anyint.plugin import _session
    emulator = _session(request.config).start_emulator()
    emulator.fail("gpt-5-mini", status=429, times=1, retry_after=30)
    yield
"""


def test_modes_once_new_episodes_and_rewrite(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    cassette = project.cassette("test_app/test_extract/extract/gpt-5-mini.yaml")
    first = yaml.safe_load(cassette.read_text())
    # once: an existing cassette is kept as it is and new requests are refused
    project.tests(test_app=OPENAI_TEST.replace("vendor: ACME", "vendor: Initech"))
    result = project.record("-k", "primary")
    result.assert_outcomes(failed=1)
    assert_output(result, "was not recorded: cassette cassettes/test_app/test_extract/extract/gpt-5-mini.yaml has no unplayed recording")
    # new_episodes: the new request is appended to the old one
    project.pytester.runpytest("--anyint-record=new_episodes", "--anyint-emulator", "-k", "primary").assert_outcomes(passed=1)
    appended = yaml.safe_load(cassette.read_text())
    assert len(appended["interactions"]) == 2
    assert appended["interactions"][0] == first["interactions"][0]
    # rewrite: recorded anew, only what this run asked
    project.pytester.runpytest("--anyint-record=rewrite", "--anyint-emulator", "-k", "primary").assert_outcomes(passed=1)
    rewritten = yaml.safe_load(cassette.read_text())
    assert [i["request"]["body"]["json"]["messages"][0]["content"] for i in rewritten["interactions"]] == ["vendor: Initech"]


def test_cassettes_read_well_and_carry_metadata_and_measured_latency(project):
    project.tests(test_app=OPENAI_TEST)
    project.record("-k", "primary").assert_outcomes(passed=1)
    text = project.cassette("test_app/test_extract/extract/gpt-5-mini.yaml").read_text()
    assert text.startswith("metadata:")
    data = yaml.safe_load(text)
    meta = data["metadata"]
    assert {k: meta[k] for k in ("route", "model", "family")} == {"route": "extract", "model": "gpt-5-mini", "family": "openai"}
    assert meta["recorded_at"].endswith("Z") and meta["plugin_version"]
    interaction = data["interactions"][0]
    assert interaction["request"]["uri"] == "https://gateway.api.anyint.ai/openai/v1/chat/completions"
    assert interaction["request"]["body"]["json"]["model"] == "gpt-5-mini"  # structured, not an escaped string
    assert interaction["response"]["body"]["json"]["object"] == "chat.completion"
    timing = interaction["response"]["timing"]
    assert 0 < timing["headers_s"] <= timing["total_s"] < 5
    assert "user-agent" not in interaction["request"]["headers"]


def test_secrets_never_reach_a_cassette(project, monkeypatch):
    key = "sk-live-" + "Q" * 24
    monkeypatch.setenv("ANYINT_API_KEY", key)
    project.tests(
        test_app="""
        import pytest

        @pytest.mark.route("extract", models="primary")
        def test_secrets(anyint_route):
            with anyint_route.client(params={"key": anyint_route.api_key}) as client:
                client.post("/chat/completions", headers={"x-goog-api-key": anyint_route.api_key, "cookie": "session=abc"},
                            json={"model": anyint_route.model, "messages": [{"role": "user", "content": "key is " + anyint_route.api_key}]})
        """
    )
    project.pytester.runpytest("--anyint-record=once", "--anyint-emulator").assert_outcomes(passed=1)
    text = project.cassette("test_app/test_secrets/extract/gpt-5-mini.yaml").read_text()
    assert key not in text
    assert "Bearer <ANYINT_API_KEY>" in text and "?key=<ANYINT_API_KEY>" in text
    assert "session=abc" not in text
    project.replay().assert_outcomes(passed=1)


def test_a_leak_keeps_the_old_cassette_and_fails_the_test(project, monkeypatch):
    project.tests(test_app=OPENAI_TEST)
    project.record("-k", "primary").assert_outcomes(passed=1)
    cassette = project.cassette("test_app/test_extract/extract/gpt-5-mini.yaml")
    before = cassette.read_bytes()
    leaky = OPENAI_TEST.replace('"vendor: ACME"', '"token sk-proj-' + "A" * 30 + '"')
    project.tests(test_app=leaky)
    result = project.pytester.runpytest("--anyint-record=rewrite", "--anyint-emulator", "-k", "primary")
    result.assert_outcomes(failed=1)
    assert_output(result, "not saved: the new recording contains an sk-… key-shaped string")
    assert "A" * 30 not in result.stdout.str()
    assert cassette.read_bytes() == before
    assert not list(cassette.parent.glob("*.anyint-tmp"))


def test_replay_serves_retry_after_as_one_millisecond(project):
    project.tests(
        conftest=FAILING_EMULATOR,
        test_app="""
        import time, pytest
        from openai import OpenAI

        @pytest.mark.route("extract", models="primary")
        def test_retry(anyint_gateway, anyint_route, anyint_calls, monkeypatch):
            slept = []
            real_sleep = time.sleep
            monkeypatch.setattr(time, "sleep", lambda s: (slept.append(s), real_sleep(min(s, 0.01))))
            client = OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=2)
            client.chat.completions.create(model=anyint_route.model, messages=[{"role": "user", "content": "x"}])
            assert [c.status for c in anyint_calls] == [429, 200]
            if anyint_calls[0].source == "cassette":
                assert slept and max(slept) < 0.1, f"replay made the SDK wait {slept} s on a recorded rate limit"
        """,
    )
    project.record().assert_outcomes(passed=1)
    data = yaml.safe_load(project.cassette("test_app/test_retry/extract/gpt-5-mini.yaml").read_text())
    assert data["interactions"][0]["response"]["status"]["code"] == 429
    (project.root / "conftest.py").unlink()
    project.replay().assert_outcomes(passed=1)
    served = cassettes.read_cassette(project.cassette("test_app/test_retry/extract/gpt-5-mini.yaml"))
    headers = served["interactions"][0]["response"]["headers"]
    assert headers["retry-after-ms"] == ["1"] and "retry-after" not in headers


def test_a_stream_that_never_ends_fails_instead_of_hanging(project):
    project.pytester.makeini(INI + "anyint_stream_timeout = 0.5\n")
    project.tests(
        test_app="""
        import pytest

        @pytest.mark.route("extract", models="primary")
        def test_hang(anyint_emulator, anyint_route):
            anyint_emulator.fail(anyint_route.model, kind="timeout", times=1)
            with anyint_route.client() as client:
                client.post("/chat/completions", json={"model": anyint_route.model, "stream": True,
                            "messages": [{"role": "user", "content": "x"}]})
        """
    )
    result = project.pytester.runpytest("--anyint-record=once", "--anyint-emulator")
    result.assert_outcomes(failed=1)
    assert_output(result, "ReadTimeout")


def test_cross_family_fallback_is_recorded_and_checked_in_its_own_family(project):
    project.config(
        """
        version: 1
        routes:
          extract:
            family: openai
            primary: gpt-5-mini
            fallbacks: [{model: gemini-2.5-flash, family: gemini}]
            cross_family: true
        """
    )
    project.tests(
        test_app="""
        import pytest
        from google import genai
        from openai import OpenAI

        @pytest.mark.route("extract")
        def test_chain(anyint_gateway, anyint_route):
            if anyint_route.family == "gemini":
                client = genai.Client(**anyint_gateway.sdk_kwargs("gemini"))
                assert client.models.generate_content(model=anyint_route.model, contents="hi").text
                assert anyint_route.base_url.endswith("/gemini")
            else:
                client = OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0)
                client.chat.completions.create(model=anyint_route.model, messages=[{"role": "user", "content": "hi"}])
        """
    )
    project.record().assert_outcomes(passed=2)
    project.replay().assert_outcomes(passed=2)


def test_requests_library_is_refused_with_a_way_out(project):
    pytest.importorskip("requests")
    project.tests(
        test_app="""
        import pytest, requests

        @pytest.mark.route("extract", models="primary")
        def test_requests(anyint_route):
            requests.post(anyint_route.base_url + "/chat/completions", json={"model": anyint_route.model})
        """
    )
    result = project.replay()
    result.assert_outcomes(failed=1)
    assert_output(result, "a gateway request went through requests (POST /openai/v1/chat/completions)", "pass an httpx2 client")


def test_corrupt_cassette_is_one_line_and_is_not_overwritten_in_replay(project):
    project.tests(test_app=OPENAI_TEST)
    bad = project.cassette("test_app/test_extract/extract/gpt-5-mini.yaml")
    bad.parent.mkdir(parents=True)
    bad.write_text("interactions:\n- request: {method: POST\n")
    result = project.replay("-k", "primary")
    result.assert_outcomes(errors=1)
    assert_output(result, "gpt-5-mini.yaml:", "not valid YAML (truncated or corrupt?)")
    assert "Traceback" not in result.stdout.str()
    assert bad.read_text() == "interactions:\n- request: {method: POST\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("just a string\n", "not a pytest-anyint cassette"),
        ("interactions: []\nversion: 7\n", "version 7 is not supported"),
        ("interactions:\n- {status_code: 200}\nversion: 1\n", "this file may come from another tool"),
        (
            "interactions:\n- request: {method: GET, uri: 'https://x/y', headers: {}, body: {yaml: 1}}\n"
            "  response: {status: {code: 200}, headers: {}, body: {string: ''}}\nversion: 1\n",
            "unknown body form 'yaml'",
        ),
    ],
)
def test_cassette_loader_errors_are_one_line(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(cassettes.CassetteError) as info:
        cassettes.read_cassette(path)
    assert message in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)


def test_body_forms_round_trip_exactly():
    gemini_sse = "data: {\"a\": 1}\r\n\r\ndata: {\"a\": 2}\r\n\r\n"
    assert cassettes.decode_body(cassettes.encode_body(gemini_sse.encode(), "text/event-stream")) == gemini_sse.encode()
    binary = bytes(range(256))
    assert cassettes.decode_body(cassettes.encode_body(binary, "application/octet-stream")) == binary
    assert cassettes.encode_body(b'{"b": 1, "a": [1, 2]}', "application/json") == {"json": {"b": 1, "a": [1, 2]}}
    assert cassettes.decode_body({"json": {"b": 1, "a": "é"}}) == '{"b":1,"a":"é"}'.encode()
    assert cassettes.encode_body(b"not json", "application/json") == {"string": "not json"}


def test_serialized_cassette_keeps_key_order_and_block_text(tmp_path):
    from vcr.request import Request

    cassette = {
        "requests": [Request("POST", "https://gateway.api.anyint.ai/openai/v1/chat/completions", b'{"z": 1, "a": 2}', {"content-type": "application/json"})],
        "responses": [{"status": {"code": 200, "message": "OK"}, "headers": {"content-type": ["text/event-stream"]},
                       "body": {"string": b"data: {}\n\ndata: [DONE]\n\n"}}],
        "metadata": {"route": "extract"},
    }
    from vcr.serialize import serialize

    text = serialize(cassette, cassettes.CassetteSerializer)
    assert text.index("metadata") < text.index("interactions")
    assert text.index("z: 1") < text.index("a: 2")
    assert "- |+\n" in text or "- |\n" in text
    parsed = cassettes.parse_cassette_text(text, source="x")
    assert parsed["interactions"][0]["response"]["body"]["string"] == b"data: {}\n\ndata: [DONE]\n\n"
    assert textwrap.dedent  # keep the import honest
