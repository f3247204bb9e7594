"""The case verdict called directly: every after-body check from a ``CaseContext``, without pytest.

What a route case gathered while its body ran (calls, refusals, log records, its cassette) is
judged by ``run.verdict`` alone; these tests build that context by hand, as a tool of one's own
would, and read the verdict a user would see as the test's failure lines.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from vcr.cassette import Cassette

from pytest_anyint.calls import Call, CallTrail
from pytest_anyint.config import load_config
from pytest_anyint.run.cases import RouteCase
from pytest_anyint.run.context import CaseContext
from pytest_anyint.run.verdict import Rules, cassette_age, judge

CONFIG = """
version: 1
routes:
  extract:
    family: openai
    primary: gpt-5-nano-2031
    fallbacks: [deepseek-v9-exp]
    max_latency_s: 2
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, object]:
    path = tmp_path / "anyint.yaml"
    path.write_text(CONFIG)
    return path, load_config(path)


def _context(tmp_path: Path, case: RouteCase, calls: list[Call], *, recorded_at: str | None = None) -> CaseContext:
    cassette_path = tmp_path / "cassettes" / "c.yaml"
    cassette = Cassette(path=str(cassette_path))
    if recorded_at is not None:
        cassette_path.parent.mkdir(parents=True, exist_ok=True)
        cassette_path.write_text("interactions: []\n")
        cassette._metadata = {"recorded_at": recorded_at}
    return CaseContext(
        test_id="test_app.py::test_extract",
        route_label=case.label,
        chain=("gpt-5-nano-2031", "deepseek-v9-exp"),
        case_model=case.model,
        mode="none",
        cassette=cassette,
        cassette_display="cassettes/c.yaml",
        gateway_origins=frozenset({"https://gateway.api.anyint.ai:443"}),
        record_command="pytest --anyint-record=once",
        case=case,
        cassette_path=cassette_path,
        trail=CallTrail(calls, primary="gpt-5-nano-2031"),
    )


def _call(model: str, *, status: int = 200, fault: int | str | None = None, latency_s: float = 0.1) -> Call:
    return Call(model=model, family="openai", method="POST", endpoint="/openai/v1/chat/completions",
                status=status, fault=fault, source="fault" if fault is not None else "cassette", latency_s=latency_s)


def test_a_fault_case_without_the_fallback_fails_on_the_policy(tmp_path, project):
    path, config = project
    case = RouteCase("extract", "gpt-5-nano-2031", 0, 503)
    context = _context(tmp_path, case, [_call("gpt-5-nano-2031", status=503, fault=503)])
    outcome = judge(context, config.route("extract"), Rules(config_path=path), passed=True)
    assert len(outcome.problems) == 1
    assert "route 'extract', fault 503" in outcome.problems[0]
    assert "the app never tried deepseek-v9-exp" in outcome.problems[0]
    assert outcome.explains_error  # the injected 503's exception is explained by the policy line


def test_a_fault_case_that_falls_back_and_logs_it_passes(tmp_path, project):
    path, config = project
    case = RouteCase("extract", "gpt-5-nano-2031", 0, 503)
    context = _context(tmp_path, case, [_call("gpt-5-nano-2031", status=503, fault=503), _call("deepseek-v9-exp")])
    context.log_capture.records.append(logging.LogRecord(
        "app", logging.WARNING, __file__, 1, "gpt-5-nano-2031 failed with 503, falling back to deepseek-v9-exp", None, None
    ))
    outcome = judge(context, config.route("extract"), Rules(config_path=path), passed=True)
    assert outcome.problems == [] and not outcome.explains_error


def test_a_slow_recorded_call_fails_on_the_route_budget(tmp_path, project):
    path, config = project
    case = RouteCase("extract", "gpt-5-nano-2031", 0)
    context = _context(tmp_path, case, [_call("gpt-5-nano-2031", latency_s=3.5)])
    outcome = judge(context, config.route("extract"), Rules(config_path=path), passed=True)
    assert len(outcome.problems) == 1
    assert "gpt-5-nano-2031 call 1" in outcome.problems[0] and "over max_latency_s 2 s" in outcome.problems[0]
    assert "anyint.yaml" in outcome.problems[0]


def test_refusals_lead_the_verdict_and_explain_the_error(tmp_path, project):
    path, config = project
    case = RouteCase("extract", "gpt-5-nano-2031", 0)
    context = _context(tmp_path, case, [])
    context.fail("test_app.py::test_extract: POST /openai/v1/chat/completions was not recorded")
    context.warnings.append("anyint: an undocumented auth form")
    outcome = judge(context, config.route("extract"), Rules(config_path=path), passed=False)
    assert outcome.problems == ["test_app.py::test_extract: POST /openai/v1/chat/completions was not recorded"]
    assert outcome.warnings == ["anyint: an undocumented auth form"]
    assert outcome.explains_error


def test_cassette_age_names_the_command_that_re_records(tmp_path, project):
    path, _ = project
    case = RouteCase("extract", "gpt-5-nano-2031", 0)
    context = _context(tmp_path, case, [], recorded_at="2020-01-01T00:00:00Z")
    message = cassette_age(context, Rules(config_path=path, max_age="30d"))
    assert message is not None
    assert message.startswith("cassettes/c.yaml was recorded ") and "older than --anyint-max-age=30d" in message
    assert 'pytest --anyint-record=rewrite --anyint-max-age=30d "test_app.py::test_extract"' in message
    # A rewrite records the cassette anew, and without the option nothing is checked.
    assert cassette_age(context, Rules(config_path=path, max_age="30d", record_mode="rewrite")) is None
    assert cassette_age(context, Rules(config_path=path)) is None
    fresh = _context(tmp_path, case, [], recorded_at="2999-01-01T00:00:00Z")
    assert cassette_age(fresh, Rules(config_path=path, max_age="30d")) is None
