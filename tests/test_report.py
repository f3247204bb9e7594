"""Reports as a team reads them: per route × model numbers, costs, budgets, fallbacks, evidence.

Most tests record real exchanges with the bundled emulator, then edit a recorded answer's token
usage or timing (exactly what a live gateway would have recorded) and replay, so every number in
the report is checked against a hand computation.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai  # noqa: F401 - imported once here, not again by every in-process pytester run
import pytest
import yaml

from pytest_anyint import cli
from pytest_anyint.calls import Call
from pytest_anyint.config import load_config
from pytest_anyint.report.budgets import budget_problems
from pytest_anyint.report.build import build_report, validate_report
from pytest_anyint.report.format import money
from pytest_anyint.report.text import render_markdown
from pytest_anyint.results import CaseResult

REPORT_CONFIG = """
version: 1
routes:
  extract:
    family: openai
    optimize: cost
    primary: gpt-5-mini
    fallbacks: [deepseek-v3.2-exp]
  chat:
    family: anthropic
    optimize: latency
    primary: claude-sonnet-4-6
    fallbacks: [claude-haiku-4-5]
  summarize:
    family: gemini
    optimize: reliability
    primary: gemini-2.5-flash
    fallbacks: [gemini-2.5-pro]
pricing:
  gpt-5-mini: {input: 0.25, output: 2.0, cached_input: 0.025}
  deepseek-v3.2-exp: {input: 0.28, output: 0.42}
  claude-sonnet-4-6: {input: 3.0, output: 15.0, cached_input: 0.3}
  claude-haiku-4-5: {input: 1.0, output: 5.0}
  gemini-2.5-flash: {input: 0.3, output: 2.5, cached_input: 0.03}
  gemini-2.5-pro: {input: 1.25, output: 10.0}
"""

#: One plain httpx call per family, so the recorded bodies are easy to edit.
FAMILY_TESTS = """
import pytest

@pytest.mark.route("extract")
def test_extract(anyint_route):
    with anyint_route.client() as client:
        client.post("/chat/completions", json={"model": anyint_route.model,
                    "messages": [{"role": "user", "content": "vendor: ACME"}]}).raise_for_status()

@pytest.mark.route("chat")
def test_chat(anyint_route):
    with anyint_route.client() as client:
        client.post("/v1/messages", json={"model": anyint_route.model, "max_tokens": 64,
                    "messages": [{"role": "user", "content": "hello"}]}).raise_for_status()

@pytest.mark.route("summarize")
def test_summarize(anyint_route):
    with anyint_route.client() as client:
        client.post(f"/v1beta/models/{anyint_route.model}:generateContent",
                    json={"contents": [{"role": "user", "parts": [{"text": "summarize"}]}]}).raise_for_status()
"""

#: An app with a real fallback chain through the official OpenAI SDK (one retry per model).
FALLBACK_APP = """
import logging
import pytest
from openai import OpenAI, APIStatusError

log = logging.getLogger("app")

@pytest.fixture(scope="module")
def client(anyint_gateway):
    return OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=1)

def extract(client, chain):
    for index, model in enumerate(chain):
        try:
            return client.chat.completions.create(model=model, messages=[{"role": "user", "content": "vendor: ACME"}])
        except APIStatusError as exc:
            if exc.status_code < 500 or index + 1 == len(chain):
                raise
            log.warning("extract: %s failed with %s, falling back to %s", model, exc.status_code, chain[index + 1])

@pytest.mark.route("extract")
def test_extract(client, anyint_route):
    assert extract(client, [anyint_route.model])

@pytest.mark.route("extract", faults=[503, 401])
def test_extract_faults(client, anyint_route, anyint_scenario):
    chain = [m.model for m in anyint_route.chain]
    if anyint_scenario.expect_fallback:
        assert extract(client, chain)
    else:
        with pytest.raises(APIStatusError):
            extract(client, chain)
"""


def edit_answer(project: Any, cassette: str, change: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
    """Change the first recorded answer of a cassette: ``change(body, timing)``."""
    path = project.cassette(cassette)
    data = yaml.safe_load(path.read_text())
    response = data["interactions"][0]["response"]
    change(response["body"]["json"], response["timing"])
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def rows_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["model"]: row for row in report["routes"]}


def report_of(project: Any, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = project.replay("--anyint-report=out/report.json", *args)
    return result, json.loads((project.root / "out" / "report.json").read_text())


# --------------------------------------------------------------------------- cost


def test_cost_normalises_cached_tokens_per_family_and_prices_the_configured_model(project):
    project.config(REPORT_CONFIG)
    project.tests(test_app=FAMILY_TESTS)
    project.record().assert_outcomes(passed=6)

    def openai_usage(body, timing):  # cached tokens are a subset of prompt tokens
        body["model"] = "gpt-5-mini-2025-08-07"  # the dated ID the provider echoes back
        body["usage"].update(prompt_tokens=1000, completion_tokens=100, total_tokens=1100)
        body["usage"]["prompt_tokens_details"]["cached_tokens"] = 400

    def anthropic_usage(body, timing):  # cache reads and writes come on top of input_tokens
        body["usage"].update(input_tokens=600, cache_read_input_tokens=400, cache_creation_input_tokens=0, output_tokens=100)

    def gemini_usage(body, timing):  # cached content is a subset of the prompt; thoughts are output
        body["usageMetadata"].update(
            promptTokenCount=1000, cachedContentTokenCount=400, candidatesTokenCount=80, thoughtsTokenCount=20
        )

    def deepseek_usage(body, timing):
        body["usage"].update(prompt_tokens=1000, completion_tokens=100, total_tokens=1100)

    edit_answer(project, "test_app/test_extract/extract/gpt-5-mini.yaml", openai_usage)
    edit_answer(project, "test_app/test_extract/extract/deepseek-v3.2-exp.yaml", deepseek_usage)
    edit_answer(project, "test_app/test_chat/chat/claude-sonnet-4-6.yaml", anthropic_usage)
    edit_answer(project, "test_app/test_summarize/summarize/gemini-2.5-flash.yaml", gemini_usage)

    result, report = report_of(project)
    result.assert_outcomes(passed=6)
    rows = rows_of(report)
    for model in ("gpt-5-mini", "claude-sonnet-4-6", "gemini-2.5-flash"):
        assert (rows[model]["input_tokens"], rows[model]["cached_tokens"], rows[model]["output_tokens"]) == (1000, 400, 100)
    # 600 uncached at input price, 400 cached at cached_input, 100 output, per million tokens
    assert rows["gpt-5-mini"]["cost_usd"] == pytest.approx((600 * 0.25 + 400 * 0.025 + 100 * 2.0) / 1e6)
    assert rows["claude-sonnet-4-6"]["cost_usd"] == pytest.approx((600 * 3.0 + 400 * 0.3 + 100 * 15.0) / 1e6)
    assert rows["gemini-2.5-flash"]["cost_usd"] == pytest.approx((600 * 0.3 + 400 * 0.03 + 100 * 2.5) / 1e6)
    # a fallback at its own price; the dated ID is shown, the configured ID is what is priced
    assert rows["deepseek-v3.2-exp"]["cost_usd"] == pytest.approx((1000 * 0.28 + 100 * 0.42) / 1e6)
    assert rows["gpt-5-mini"]["served_models"] == ["gpt-5-mini-2025-08-07"]
    assert report["summary"]["cached_tokens"] == 1200
    result.stdout.fnmatch_lines(["*gpt-5-mini*primary*1/0*1000/100*400*$0.00036*"])


def test_cached_tokens_without_a_cached_price_cost_the_input_price(tmp_path):
    (tmp_path / "anyint.yaml").write_text(textwrap.dedent(REPORT_CONFIG))
    config = load_config(tmp_path / "anyint.yaml")
    from pytest_anyint.run.session import AnyIntSession, SessionOptions

    price = AnyIntSession(SessionOptions(rootdir=tmp_path), environ={})._pricer()
    haiku = Call("claude-haiku-4-5", "anthropic", "POST", "/anthropic/v1/messages", input_tokens=1000, output_tokens=100, cached_tokens=400)
    unpriced = Call("gpt-4o", "openai", "POST", "/openai/v1/chat/completions", input_tokens=10, output_tokens=10)
    assert price(haiku) == pytest.approx((1000 * 1.0 + 100 * 5.0) / 1e6)
    assert price(unpriced) is None and "gpt-4o" not in config.pricing


# --------------------------------------------------------------------------- JSON, Markdown, terminal


def test_json_report_follows_its_schema_and_tells_the_fallback_story(project, monkeypatch):
    summary = project.root / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    project.config(REPORT_CONFIG)
    project.tests(test_app=FALLBACK_APP)
    project.record().assert_outcomes(passed=4)
    result, report = report_of(project, "--anyint-report-md=out/report.md")
    result.assert_outcomes(passed=4)

    assert validate_report(report) == []
    assert report["version"] == 1
    rows = rows_of(report)
    primary, fallback = rows["gpt-5-mini"], rows["deepseek-v3.2-exp"]
    # the 503 case: two injected 503s (the SDK retried once), then the fallback answered; the 401: one call, no retry
    assert (primary["calls"], primary["faults"], primary["retries"], primary["tests_passed"]) == (4, 3, 1, 1)
    assert (fallback["calls"], fallback["recorded_calls"], fallback["tests_passed"]) == (2, 2, 1)
    assert report["fallbacks"] == [
        {
            "nodeid": "test_app.py::test_extract_faults[extract-fault-503]",
            "route": "extract",
            "from_model": "gpt-5-mini",
            "to_model": "deepseek-v3.2-exp",
            "trigger": 503,
            "injected": True,
            "expected": True,
            "attempts": 2,
            "to_status": 200,
            "outcome": "passed",
        }
    ]
    evidence = report["evidence"][0]
    assert evidence["fault_tests"] == {"passed": 2, "failed": 0, "skipped": 0}
    assert evidence["choice"] in ("gpt-5-mini", "deepseek-v3.2-exp") and evidence["criterion"] == "cost"
    assert report["summary"]["status"] == "passed"

    markdown = (project.root / "out" / "report.md").read_text()
    assert "### Route `extract`" in markdown
    assert "| gpt-5-mini | primary | 1/0 | 4 | 1 | 3 |" in markdown
    assert "| `test_app.py::test_extract_faults[extract-fault-503]` | gpt-5-mini | deepseek-v3.2-exp | HTTP 503 (injected; policy: fall back) | 2 | passed |" in markdown
    assert "**Routing evidence** (reported, never applied)" in markdown
    appended = summary.read_text()
    assert appended.startswith("earlier step\n") and markdown in appended

    result.stdout.fnmatch_lines(
        [
            "*= anyint routes =*",
            "route extract (openai, optimize: cost): gpt-5-mini -> deepseek-v3.2-exp",
            "*model*role*tests ok/fail*calls*retries*faults*violations*drift*p50*p95*tokens in/out*cached*cost/call*cost*over budget",
            "*fault cases: 2 passed, 0 failed",
            "*routing evidence (reported, never applied): cheapest passing model:*",
            "fallbacks that happened (1):",
            "  gpt-5-mini -> deepseek-v3.2-exp: 1 time, on HTTP 503 (injected; policy: fall back)",
            "  (pytest -v lists every fallback with its test)",
            "anyint: 4 route tests passed, 0 failed, 6 gateway calls (3 injected faults, 1 retry), 1 fallback,*",
        ]
    )
    verbose = project.replay("-v")
    verbose.stdout.fnmatch_lines(
        ["*extract-fault-503]: gpt-5-mini -> deepseek-v3.2-exp on HTTP 503 (injected; policy: fall back) after 2 attempts, which answered 200"]
    )


def test_every_model_is_listed_even_when_no_test_ran_it(project):
    project.config(REPORT_CONFIG)
    project.tests(test_app=FAMILY_TESTS.replace('@pytest.mark.route("extract")', '@pytest.mark.route("extract", models="primary")'))
    project.record("-k", "extract").assert_outcomes(passed=1)
    _, report = report_of(project, "-k", "extract")
    assert [r["model"] for r in report["routes"]] == ["gpt-5-mini", "deepseek-v3.2-exp"]  # routes that ran, every model
    assert rows_of(report)["deepseek-v3.2-exp"]["tests_passed"] == 0
    assert any("no test ran deepseek-v3.2-exp on its own" in note for note in report["notes"])
    assert "not tested per model in this run: deepseek-v3.2-exp" in report["evidence"][0]["reason"]


# --------------------------------------------------------------------------- budgets and exit status


def test_budgets_fail_recorded_calls_over_budget_and_never_injected_faults(project):
    project.config(
        REPORT_CONFIG.replace("    fallbacks: [deepseek-v3.2-exp]\n", "    fallbacks: [deepseek-v3.2-exp]\n    max_cost_per_call_usd: 0.001\n    max_latency_s: 5\n")
    )
    project.tests(test_app=FALLBACK_APP)
    project.record().assert_outcomes(passed=4)
    edit_answer(project, "test_app/test_extract/extract/gpt-5-mini.yaml", lambda body, timing: timing.update(total_s=7.25))
    edit_answer(
        project,
        "test_app/test_extract/extract/deepseek-v3.2-exp.yaml",
        lambda body, timing: body["usage"].update(prompt_tokens=2000, completion_tokens=2000),
    )
    result, report = report_of(project)
    result.assert_outcomes(passed=2, failed=2)  # the fault cases' injected calls never count
    result.stdout.fnmatch_lines(
        [
            "*route 'extract': gpt-5-mini call 1 (POST /openai/v1/chat/completions) took 7.25 s (recorded), over max_latency_s 5 s set in anyint.yaml*",
            "*route 'extract': deepseek-v3.2-exp call 1 (POST /openai/v1/chat/completions) cost $0.0014, over max_cost_per_call_usd $0.001 set in anyint.yaml*",
        ]
    )
    assert result.ret == 1
    assert [(b["model"], b["kind"]) for b in report["budget_breaches"]] == [("deepseek-v3.2-exp", "cost"), ("gpt-5-mini", "latency")]
    assert rows_of(report)["gpt-5-mini"]["budget_breaches"] == 1
    assert report["summary"]["checks_failed"] == 2 and report["summary"]["status"] == "failed"


def test_budget_problems_name_route_model_call_and_config(tmp_path):
    (tmp_path / "anyint.yaml").write_text(
        textwrap.dedent(REPORT_CONFIG).replace("    optimize: cost\n", "    optimize: cost\n    max_cost_per_call_usd: 0.01\n")
    )
    config = load_config(tmp_path / "anyint.yaml")
    route = config.route("extract")
    calls = [
        Call("gpt-5-mini", "openai", "POST", "/openai/v1/chat/completions", status=503, fault=503, source="fault", cost_usd=5.0),
        Call("gpt-5-mini", "openai", "POST", "/openai/v1/chat/completions", status=200, source="cassette", cost_usd=0.02),
        Call("deepseek-v3.2-exp", "openai", "POST", "/openai/v1/chat/completions", status=200, source="cassette", cost_usd=0.001),
    ]
    problems = budget_problems(route, calls, config.path)
    assert problems == [
        f"route 'extract': gpt-5-mini call 2 (POST /openai/v1/chat/completions) cost $0.02, over "
        f"max_cost_per_call_usd $0.01 set in {config.path}"
    ]


DRIFTING_TEST = """
import os, pytest

@pytest.mark.route("chat", models="primary")
def test_chat(anyint_route, request):
    if os.environ.get("EMULATOR_DRIFT"):
        request.getfixturevalue("anyint_emulator").drift(os.environ["EMULATOR_DRIFT"], family="anthropic")
    with anyint_route.client() as client:
        client.post("/v1/messages", json={"model": anyint_route.model, "max_tokens": 64,
                    "messages": [{"role": "user", "content": "hello"}]}).raise_for_status()
"""


def test_drift_and_contract_violations_are_reported_per_model(project, monkeypatch):
    project.config(REPORT_CONFIG)
    project.tests(test_app=DRIFTING_TEST)
    project.record().assert_outcomes(passed=1)
    monkeypatch.setenv("EMULATOR_DRIFT", "breaking")  # the weekly re-record meets a changed answer shape
    result = project.pytester.runpytest(
        "--anyint-record=rewrite", "--anyint-emulator", "--anyint-report=out/report.json", "--anyint-html=out/report.html"
    )
    result.assert_outcomes(failed=1)
    assert result.ret == 1 and "TypeError" not in result.stdout.str()
    report = json.loads((project.root / "out" / "report.json").read_text())
    assert validate_report(report) == []
    row = rows_of(report)["claude-sonnet-4-6"]
    assert row["drift_breaking"] >= 1 and row["violations"] >= 1 and row["tests_failed"] == 1
    assert {(d["model"], d["breaking"]) for d in report["drift"]} == {("claude-sonnet-4-6", True)}
    assert all(v["model"] == "claude-sonnet-4-6" and v["cassette"].endswith("claude-sonnet-4-6.yaml") for v in report["violations"])
    assert report["summary"]["status"] == "failed" and report["summary"]["checks_failed"] == 1
    html = (project.root / "out" / "report.html").read_text()
    assert 'data-table="drift"' in html and 'data-table="violations"' in html and "breaking drift:" in html


XFAIL_OVER_BUDGET = """
import pytest

@pytest.mark.xfail(reason="known flaky")
@pytest.mark.route("extract", models="primary")
def test_extract(anyint_route):
    with anyint_route.client() as client:
        client.post("/chat/completions", json={"model": anyint_route.model,
                    "messages": [{"role": "user", "content": "vendor: ACME"}]}).raise_for_status()
"""


def test_a_failed_check_in_an_xfail_test_still_fails_the_run(project):
    project.config(REPORT_CONFIG.replace("    optimize: cost\n", "    optimize: cost\n    max_cost_per_call_usd: 0.0000001\n"))
    project.tests(test_app=XFAIL_OVER_BUDGET)
    result = project.record()
    result.assert_outcomes(xfailed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["*anyint: exit status 1: contract, drift, budget or policy checks failed in 1 test(s) although pytest counted none as failed*"]
    )


def test_a_check_that_fails_after_the_body_never_ran_still_fails(project):
    project.config(REPORT_CONFIG.replace("    optimize: cost\n", "    optimize: cost\n    max_cost_per_call_usd: 0.0000001\n"))
    project.tests(
        test_app="""
        import pytest

        @pytest.fixture
        def warmed(anyint_route):
            with anyint_route.client() as client:
                client.post("/chat/completions", json={"model": anyint_route.model,
                            "messages": [{"role": "user", "content": "warm up"}]}).raise_for_status()
            pytest.skip("not today")

        @pytest.mark.route("extract", models="primary")
        def test_extract(warmed):
            pass
        """
    )
    result = project.record()
    result.assert_outcomes(skipped=1, errors=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*over max_cost_per_call_usd*"])


def test_report_counts_agree_with_pytest_outcomes(project):
    project.config(REPORT_CONFIG)
    project.tests(
        test_app="""
        import pytest

        @pytest.fixture
        def breaks_on_teardown():
            yield
            raise RuntimeError("cleanup failed")

        @pytest.mark.route("chat", models="primary")
        def test_teardown(anyint_route, breaks_on_teardown):
            pass

        @pytest.mark.xfail(reason="haiku answers prose", strict=True)
        @pytest.mark.route("chat", models="fallbacks")
        def test_xfail(anyint_route):
            assert False
        """
    )
    result = project.record("--anyint-report=out/report.json")
    result.assert_outcomes(passed=1, errors=1, xfailed=1)
    report = json.loads((project.root / "out" / "report.json").read_text())
    rows = rows_of(report)
    assert (rows["claude-sonnet-4-6"]["tests_passed"], rows["claude-sonnet-4-6"]["tests_failed"]) == (0, 1)
    assert (rows["claude-haiku-4-5"]["tests_passed"], rows["claude-haiku-4-5"]["tests_failed"]) == (0, 1)
    assert report["evidence"][0]["choice"] is None
    assert report["evidence"][0]["reason"] == "no model of this route passed all of its tests in this run"


# --------------------------------------------------------------------------- xdist


def test_two_xdist_workers_report_the_same_numbers_as_one_process(project):
    project.config(REPORT_CONFIG)
    project.tests(test_app=FALLBACK_APP, test_more=FAMILY_TESTS)
    project.record().assert_outcomes(passed=10)
    edit_answer(project, "test_more/test_chat/chat/claude-haiku-4-5.yaml", lambda body, timing: timing.update(total_s=1.5))
    serial = project.replay("--anyint-report=serial.json")
    serial.assert_outcomes(passed=10)
    parallel = project.pytester.runpytest_subprocess("-n", "2", "--anyint-report=parallel.json", "--anyint-html=parallel.html")
    parallel.assert_outcomes(passed=10)
    one = json.loads((project.root / "serial.json").read_text())
    two = json.loads((project.root / "parallel.json").read_text())
    assert one.pop("generated_at") and two.pop("generated_at")
    assert two == one
    assert two["summary"]["calls"] == 12 and len(two["fallbacks"]) == 1
    parallel.stdout.fnmatch_lines(["*= anyint routes =*", "route chat (anthropic, optimize: latency)*", "*FLAG: route 'chat' optimises for latency, but fallback claude-haiku-4-5 is slower (p50 1.50 s)*"])
    assert (project.root / "parallel.html").read_text().count('data-chart="cost"') == 3


def test_a_workers_results_reach_the_controller_whole_as_one_text():
    """The hand-over carries every field of every case (a lost field is a wrong merged report), as
    one string: execnet serializes nested data object by object, after the last test."""
    from types import SimpleNamespace

    from pytest_anyint.report.outputs import merge_worker, to_wire

    call = Call(
        "gpt-5-mini", "openai", "POST", "/openai/v1/chat/completions", status=503, stream=True, fault=503,
        source="fault", latency_s=0.25, ttft_s=0.125, input_tokens=12, output_tokens=3, cached_tokens=2,
        cost_usd=0.0015, served_model="gpt-5-mini-2026-08-07", verified="drift",
    )
    violation = {"rule": "openai.chat.choices", "path": "choices[0].message", "message": "missing 'content' — «ünïcode»"}
    worker = SimpleNamespace(results=[
        CaseResult("t.py::test[chat-primary-gpt-5-mini]", "chat", "gpt-5-mini", 503, [call, _answer("qwen3-max", cost=0.01)],
                   passed=False, violations=[violation], drift=[{"kind": "added", "path": "usage.extra"}],
                   problems=["contract: choices[0].message: missing 'content'"]),
        CaseResult("t.py::test[chat-fallback-qwen3-max]", "chat", "qwen3-max", None, [], passed=True),
    ], report=None)
    wire = to_wire(worker)
    assert all(isinstance(value, (str, int)) for value in wire.values())

    controller = SimpleNamespace(results=[], report=None)
    merge_worker(controller, json.loads(json.dumps(wire)))  # what crosses: basic types only
    first, second = controller.results
    assert first.calls[0] == call and first.calls[1] == _answer("qwen3-max", cost=0.01)
    assert (first.nodeid, first.route, first.model, first.fault, first.passed) == (
        "t.py::test[chat-primary-gpt-5-mini]", "chat", "gpt-5-mini", 503, False)
    assert first.violations == [violation] and first.drift == [{"kind": "added", "path": "usage.extra"}]
    assert first.problems == ["contract: choices[0].message: missing 'content'"]
    assert (second.calls, second.passed) == ([], True)
    assert controller.report.outcomes == {first.nodeid: "failed", second.nodeid: "passed"}


# --------------------------------------------------------------------------- routing evidence and flags (library level)


def _case(nodeid: str, route: str, model: str, *calls: Call, passed: bool = True, fault: Any = None) -> CaseResult:
    return CaseResult(nodeid=nodeid, route=route, model=model, fault=fault, calls=list(calls), passed=passed)


def _answer(model: str, *, cost: float | None = None, latency: float = 0.5, status: int = 200, source: str = "cassette") -> Call:
    return Call(model, "openai", "POST", "/openai/v1/chat/completions", status=status, source=source, latency_s=latency, cost_usd=cost, input_tokens=10, output_tokens=5)


def _config(tmp_path: Path, text: str) -> Any:
    (tmp_path / "anyint.yaml").write_text(textwrap.dedent(text))
    return load_config(tmp_path / "anyint.yaml")


EVIDENCE_CONFIG = """
version: 1
routes:
  cheap:
    family: openai
    optimize: cost
    primary: a
    fallbacks: [b, c]
  fast:
    family: openai
    optimize: latency
    primary: a
    fallbacks: [b]
  steady:
    family: openai
    optimize: reliability
    primary: a
    fallbacks: [b]
  best:
    family: openai
    optimize: quality
    primary: a
    fallbacks: [b]
pricing:
  a: {input: 1, output: 1}
  b: {input: 1, output: 1}
  c: {input: 1, output: 1}
"""


def test_evidence_picks_the_cheapest_fastest_or_most_robust_passing_model(tmp_path):
    config = _config(tmp_path, EVIDENCE_CONFIG)
    results = [
        _case("t::cheap[a]", "cheap", "a", _answer("a", cost=0.003)),
        _case("t::cheap[b]", "cheap", "b", _answer("b", cost=0.002)),
        _case("t::cheap[c]", "cheap", "c", _answer("c", cost=0.001), passed=False),  # cheapest, but fails
        _case("t::fast[a]", "fast", "a", _answer("a", latency=0.9), _answer("a", latency=1.1), _answer("a", latency=4.0)),
        _case("t::fast[b]", "fast", "b", _answer("b", latency=1.0)),
        _case("t::steady[a]", "steady", "a", _answer("a", status=429), _answer("a"), _answer("a", status=500), _answer("a")),
        _case("t::steady[b]", "steady", "b", _answer("b")),
        _case("t::best[a]", "best", "a", _answer("a")),
        _case("t::best[b]", "best", "b", _answer("b")),
    ]
    report = build_report(config, results)
    assert validate_report(report) == []
    evidence = {e["route"]: e for e in report["evidence"]}
    assert evidence["cheap"]["choice"] == "b"
    assert evidence["cheap"]["reason"] == "cheapest passing model: b at $0.002 per call; the configured primary is a"
    assert evidence["fast"]["choice"] == "b"  # p50 1.0 s against a's 1.1 s
    assert evidence["steady"]["choice"] == "b"
    steady_a = evidence["steady"]["candidates"][0]
    assert (steady_a["failures"], steady_a["retries"]) == (2, 2)  # two recorded errors, each retried
    assert evidence["best"]["choice"] is None and "passing models: a, b" in evidence["best"]["reason"]
    rows = {(r["route"], r["model"]): r for r in report["routes"]}
    assert (rows[("fast", "a")]["latency_p50_s"], rows[("fast", "a")]["latency_p95_s"]) == (1.1, 4.0)
    assert rows[("steady", "a")]["retries"] == 2 and rows[("steady", "a")]["errors"] == 2
    # flags: cost route whose fallback costs more; none here since fallbacks are cheaper; latency: b is not slower
    assert report["flags"] == []


def test_flags_a_pricier_fallback_on_a_cost_route_and_a_slower_one_on_a_latency_route(tmp_path):
    config = _config(tmp_path, EVIDENCE_CONFIG)
    results = [
        _case("t::cheap[a]", "cheap", "a", _answer("a", cost=0.001)),
        _case("t::cheap[b]", "cheap", "b", _answer("b", cost=0.004)),
        _case("t::fast[a]", "fast", "a", _answer("a", latency=0.2)),
        _case("t::fast[b]", "fast", "b", _answer("b", latency=2.5)),
    ]
    report = build_report(config, results)
    assert [f["message"] for f in report["flags"]] == [
        "route 'cheap' optimises for cost, but fallback b costs $0.004 per call, more than primary a ($0.001)",
        "route 'fast' optimises for latency, but fallback b is slower (p50 2.50 s) than primary a (p50 200 ms)",
    ]
    assert "> ⚠️ route 'cheap' optimises for cost, but fallback b costs $0.004 per call" in render_markdown(report)


def test_fallbacks_after_recorded_errors_are_reported_with_the_policy_verdict(tmp_path):
    config = _config(tmp_path, EVIDENCE_CONFIG)
    trail = [_answer("a", status=401), _answer("b")]
    report = build_report(config, [_case("t::x", "cheap", "a", *trail)], {"t::x": "failed"})
    (event,) = report["fallbacks"]
    assert (event["trigger"], event["injected"], event["expected"], event["outcome"]) == (401, False, False, "failed")
    assert "must NOT fall back" in render_markdown(report)


def test_a_request_naming_no_model_between_failure_and_fallback_hides_nothing(tmp_path):
    config = _config(tmp_path, EVIDENCE_CONFIG)
    models_list = Call(None, "openai", "GET", "/openai/v1/models", status=200, source="cassette", latency_s=0.1)
    trail = [_answer("a", status=503), _answer("a", status=503), models_list, _answer("b")]
    report = build_report(config, [_case("t::x", "cheap", "a", *trail, fault=None)])
    (event,) = report["fallbacks"]
    assert (event["from_model"], event["to_model"], event["trigger"], event["attempts"]) == ("a", "b", 503, 2)
    assert rows_of(report)["a"]["calls"] == 3 and rows_of(report)["a"]["retries"] == 1


def test_results_arrive_in_any_order_and_sum_to_the_same_report(tmp_path):
    config = _config(tmp_path, EVIDENCE_CONFIG)
    results = [_case(f"t::cheap[{i}]", "cheap", "a", _answer("a", cost=0.1 + i * 1e-7, latency=i / 7)) for i in range(40)]
    forward = build_report(config, results, generated_at="2026-01-01T00:00:00Z")
    backward = build_report(config, list(reversed(results)), generated_at="2026-01-01T00:00:00Z")
    assert forward == backward


# --------------------------------------------------------------------------- pytest-anyint report


def test_cli_renders_a_json_report_as_markdown_and_html(tmp_path, capsys):
    config = _config(tmp_path, EVIDENCE_CONFIG)
    report = build_report(config, [_case("t::cheap[a]", "cheap", "a", _answer("a", cost=0.001))])
    source = tmp_path / "report.json"
    source.write_text(json.dumps(report))
    assert cli.main(["report", str(source)]) == 0
    assert "### Route `cheap`" in capsys.readouterr().out
    assert cli.main(["report", str(source), "--format", "html", "-o", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and 'data-route="cheap"' in html and money(0.001) in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file (write one with pytest --anyint-report="),
        ("{not json", "not JSON"),
        ('{"version": 2}', "report format version 2 is not supported; this pytest-anyint reads version 1"),
        ('{"version": 1, "routes": []}', "not a valid report: (top level): 'generated_at' is a required property"),
    ],
)
def test_cli_refuses_what_it_cannot_render_in_one_line(tmp_path, capsys, content, message):
    source = tmp_path / "report.json"
    if content is not None:
        source.write_text(content)
    assert cli.main(["report", str(source)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_documented_schema_is_the_shipped_one():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "reports.md").read_text()
    documented = json.loads(docs.split("```json\n")[-1].split("```")[0])
    shipped = json.loads((Path(cli.__file__).parent / "schemas" / "report.schema.json").read_text())
    assert documented == shipped
