"""Verdicts a user can read: the test's own failure next to the plugin's, no-call cases not counted
as evidence, one session error for a missing key, config warnings in the run's summary, and
google-genai's async client kept on a transport the plugin sees."""

from __future__ import annotations

import json

import pytest

from tests.conftest import BASIC_CONFIG

BUDGET_CONFIG = BASIC_CONFIG.replace(
    "    optimize: cost\n", "    optimize: cost\n    max_cost_per_call_usd: 0.0000001\n", 1
)

BOTH_FAIL = """
import pytest

@pytest.mark.route("extract", models="primary")
def test_total(anyint_route):
    with anyint_route.client() as client:
        reply = client.post("/chat/completions", json={"model": anyint_route.model,
                                                       "messages": [{"role": "user", "content": "x"}]})
    total = len(reply.json()["choices"])
    assert total == 99, "the app's own bug"
"""


def _check_then_traceback(text: str) -> None:
    budget = text.index("over max_cost_per_call_usd")
    intro = text.index("The test itself also failed:")
    own = text.index("AssertionError: the app's own bug")
    assert budget < intro < own
    assert "assert total == 99" in text[intro:]  # the test's source line: its traceback, not a summary


def test_plugin_check_then_the_tests_own_traceback(project):
    project.config(BUDGET_CONFIG)
    project.tests(test_app=BOTH_FAIL)
    project.record().assert_outcomes(failed=1)
    result = project.replay()
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    _check_then_traceback(text)
    result.stdout.fnmatch_lines(["FAILED test_app.py::test_total* - route 'extract'*"])  # the plugin's line leads
    distributed = project.pytester.runpytest_subprocess("-n", "2")  # the report survives xdist's hand-over
    distributed.assert_outcomes(failed=1)
    _check_then_traceback(distributed.stdout.str())


def test_a_refused_request_shows_only_the_plugins_line(project):
    """When the plugin refused a call, the app's error is its consequence: no SDK traceback."""
    project.tests(test_app=BOTH_FAIL)
    result = project.replay()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*was not recorded: there is no cassette*"])
    assert "The test itself also failed" not in result.stdout.str()


NO_CALL = """
import pytest

@pytest.mark.route("extract")
def test_extract(anyint_route):
    if anyint_route.model == "gpt-5-mini":
        return  # a shortcut: the primary's case never reaches the gateway
    with anyint_route.client() as client:
        assert client.post("/chat/completions", json={"model": anyint_route.model,
                                                      "messages": [{"role": "user", "content": "x"}]}).status_code == 200
"""


def test_a_passing_case_without_a_call_is_not_evidence(project):
    from pytest_anyint.report import validate_report

    project.config(BASIC_CONFIG.replace("optimize: cost", "optimize: reliability"))
    project.tests(test_app=NO_CALL)
    project.record().assert_outcomes(passed=2)
    result = project.replay("--anyint-report=report.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "*routing evidence*most robust passing model: deepseek-v3.2-exp*"
        "gpt-5-mini: 1 passing case made no gateway call; not counted as evidence*"
    ])
    report = json.loads((project.root / "report.json").read_text())
    assert validate_report(report) == []
    (evidence,) = [e for e in report["evidence"] if e["route"] == "extract"]
    assert evidence["choice"] == "deepseek-v3.2-exp"
    primary = next(c for c in evidence["candidates"] if c["model"] == "gpt-5-mini")
    assert primary["passes"] is False and primary["tests_passed"] == 0
    row = next(r for r in report["routes"] if r["model"] == "gpt-5-mini")
    assert (row["tests_passed"], row["passes_all_tests"]) == (0, False)


def test_a_cross_family_fallback_is_noted_in_the_runs_summary(project):
    project.config(BASIC_CONFIG.replace("fallbacks: [deepseek-v3.2-exp]", "fallbacks: [{model: gemini-2.5-flash, family: gemini}]"))
    project.tests(test_app="""
        import pytest

        @pytest.mark.route("extract", models="primary")
        def test_nothing_yet(anyint_route):
            pass
        """)
    result = project.replay()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "note: anyint.yaml: routes.extract.fallbacks[0]: gemini-2.5-flash is a gemini model on an openai route: "
        "request shape differs (set cross_family: true on the route if that is intended)"
    ])


def test_a_missing_key_is_one_session_error(project):
    project.tests(test_app=NO_CALL, test_more=NO_CALL)
    result = project.pytester.runpytest("--anyint-record=once")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert output.count("recording needs the gateway key in $ANYINT_API_KEY") == 1
    assert "passed" not in output and "failed" not in output  # no test ran to repeat it
    project.record().assert_outcomes(passed=4)  # the command it advises works


def test_sdk_kwargs_leave_gemini_async_to_google_genai_without_aiohttp(monkeypatch):
    """Without aiohttp google-genai already uses httpx2; its own client is left as it is."""
    from google.genai import _api_client

    from pytest_anyint.run.cases import Gateway

    monkeypatch.setattr(_api_client, "has_aiohttp", False)
    options = Gateway("http://127.0.0.1:9", "sk-test-invented-key").sdk_kwargs("gemini")["http_options"]
    assert "async_client_args" not in options


def test_sdk_kwargs_keep_gemini_async_on_httpx2_when_aiohttp_is_installed(monkeypatch):
    """google-genai's async client takes aiohttp whenever it is importable; the plugin sees httpx only."""
    import anyio
    import httpx2
    from google import genai
    from google.genai import _api_client

    from pytest_anyint.emulator import Emulator
    from pytest_anyint.run.cases import Gateway

    monkeypatch.setattr(_api_client, "has_aiohttp", True)  # what google-genai decides on when aiohttp is installed
    plain = genai.Client(api_key="sk-test-invented-key", http_options={"base_url": "http://127.0.0.1:9/gemini", "api_version": "v1beta"})
    assert plain._api_client._use_aiohttp()  # the trap: a plain client would send through aiohttp
    with Emulator() as emulator:
        client = genai.Client(**Gateway(emulator.url, emulator.api_key).sdk_kwargs("gemini"))
        assert not client._api_client._use_aiohttp()
        assert isinstance(client._api_client._async_httpx_client, httpx2.AsyncClient)

        async def ask() -> str:
            answer = await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
            return answer.text

        assert anyio.run(ask) == "gemini-2.5-flash: hi"
        # A client built once serves tests that each run their own event loop (pytest-asyncio, anyio).
        assert anyio.run(ask) == "gemini-2.5-flash: hi"
