"""``--anyint-baseline``: cost per call, p95 latency and passing models held to a previous report.

Real pytest sessions through pytester, replaying cassettes recorded against the emulator; the
baseline is a report the same project wrote with ``--anyint-report`` before something changed.
"""

from __future__ import annotations

import json

import pytest
import yaml

from pytest_anyint import cli
from pytest_anyint.report import validate_report

from .conftest import BASIC_CONFIG
from .helpers import DRIFT_APP, usage_error

DOUBLED = BASIC_CONFIG.replace("gpt-5-mini: {input: 0.25, output: 2.0}", "gpt-5-mini: {input: 0.5, output: 4.0}")


@pytest.fixture
def recorded(project):
    """DRIFT_APP's three routes recorded, and a baseline report of their replay in base.json."""
    project.tests(test_app=DRIFT_APP)
    project.record().assert_outcomes(passed=3)
    project.replay("--anyint-report=base.json").assert_outcomes(passed=3)
    return project


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + result.stderr.str()


def test_an_unchanged_run_passes_the_baseline_and_shows_old_new_and_change(recorded):
    result = recorded.replay("--anyint-baseline=base.json", "--anyint-report=new.json")

    assert result.ret == pytest.ExitCode.OK, output(result)
    text = result.stdout.str()
    assert "anyint baseline base.json (tolerance 20%):" in text
    assert "REGRESSION" not in text
    section = json.loads((recorded.root / "new.json").read_text())["baseline"]
    row = next(r for r in section["rows"] if r["model"] == "gpt-5-mini")
    assert row["cost_per_call_usd"]["change"] == 0 and row["regressed"] == []
    assert section["regressions"] == []


def test_doubling_a_models_price_fails_the_baseline_gate_naming_the_model(recorded):
    recorded.config(DOUBLED)  # the same cassettes, a new price

    result = recorded.replay(
        "--anyint-baseline=base.json", "--anyint-report=new.json", "--anyint-report-md=new.md", "--anyint-html=new.html"
    )

    result.assert_outcomes(passed=3)  # every test passed; the gate fails the run
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    before = json.loads((recorded.root / "base.json").read_text())
    old_cost = next(r for r in before["routes"] if r["model"] == "gpt-5-mini")["cost_per_call_usd"]
    report = json.loads((recorded.root / "new.json").read_text())
    assert validate_report(report) == []
    regression = report["baseline"]["regressions"]
    assert [(r["route"], r["model"], r["kind"]) for r in regression] == [("extract", "gpt-5-mini", "cost")]
    assert report["summary"]["status"] == "failed" and report["summary"]["baseline_regressions"] == 1
    row = next(r for r in report["baseline"]["rows"] if r["model"] == "gpt-5-mini")
    assert row["cost_per_call_usd"]["old"] == pytest.approx(old_cost)
    assert row["cost_per_call_usd"]["new"] == pytest.approx(2 * old_cost)
    assert row["cost_per_call_usd"]["change"] == pytest.approx(1.0)
    text = result.stdout.str()
    assert "REGRESSION: route 'extract' model gpt-5-mini: cost per call" in text
    assert "(+100%), over the 20% tolerance of the baseline base.json" in text
    assert "anyint: exit status 1: 1 regression(s) against the baseline base.json" in text
    markdown = (recorded.root / "new.md").read_text()
    assert "### Against the baseline base.json (tolerance 20%)" in markdown
    assert "| extract | gpt-5-mini |" in markdown and "(+100%)" in markdown
    page = (recorded.root / "new.html").read_text()
    assert 'data-section="baseline"' in page and 'data-table="baseline"' in page and "+100%" in page


def test_a_tolerance_above_the_growth_lets_the_run_pass(recorded):
    recorded.config(DOUBLED)

    result = recorded.replay("--anyint-baseline=base.json", "--anyint-baseline-tolerance=150%")

    assert result.ret == pytest.ExitCode.OK, output(result)
    assert "tolerance 150%" in result.stdout.str()


def test_slower_recorded_answers_fail_the_p95_latency_gate(recorded):
    cassette = next(p for p in (recorded.root / "cassettes").rglob("*.yaml") if "summarize" in p.parts)
    document = yaml.safe_load(cassette.read_text())
    for interaction in document["interactions"]:
        interaction["response"]["timing"] = {"headers_s": 1.0, "total_s": 2.5}
    cassette.write_text(yaml.safe_dump(document, sort_keys=False))

    result = recorded.replay("--anyint-baseline=base.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "REGRESSION: route 'summarize' model gemini-2.5-flash: p95 latency" in result.stdout.str()
    assert "→ 2.50 s" in result.stdout.str()


def test_a_model_that_passed_in_the_baseline_and_fails_now_fails_the_gate(recorded):
    recorded.tests(test_app=DRIFT_APP.replace(
        'json=body).status_code == 200\n\n@pytest.mark.route("summarize"',
        'json=body).status_code == 201\n\n@pytest.mark.route("summarize"',
    ))

    result = recorded.replay("--anyint-baseline=base.json", "--anyint-report=new.json")

    result.assert_outcomes(passed=2, failed=1)
    regressions = json.loads((recorded.root / "new.json").read_text())["baseline"]["regressions"]
    assert [(r["model"], r["kind"]) for r in regressions] == [("claude-sonnet-4-6", "failing")]
    assert "passed all of its tests in the baseline base.json, fails 1 now" in result.stdout.str()


def test_pytest_anyint_report_re_renders_the_baseline_comparison(recorded, capsys):
    recorded.config(DOUBLED)
    recorded.replay("--anyint-baseline=base.json", "--anyint-report=new.json")
    capsys.readouterr()

    assert cli.main(["report", "new.json"]) == 0

    assert "### Against the baseline base.json (tolerance 20%)" in capsys.readouterr().out


# --------------------------------------------------------------------------- bad input: one line, before any test runs


@pytest.mark.parametrize(
    ("setup", "args", "expected"),
    [
        (None, ["--anyint-baseline=missing.json"],
         "--anyint-baseline=missing.json: no such file (write one on the base branch with pytest "
         "--anyint-report=missing.json)"),
        ("not json", ["--anyint-baseline=base.json"], "--anyint-baseline=base.json: not JSON"),
        ('{"version": 7}', ["--anyint-baseline=base.json"],
         "--anyint-baseline=base.json: report format version 7 is not supported"),
        ('{"version": 1}', ["--anyint-baseline=base.json"], "--anyint-baseline=base.json: not a valid report: "),
        ("folder", ["--anyint-baseline=base.json"], "--anyint-baseline=base.json: is a folder"),
        (None, ["--anyint-baseline-tolerance=20%"],
         "--anyint-baseline-tolerance=20% needs --anyint-baseline=PATH (the report to compare with)"),
    ],
    ids=["missing", "not-json", "version", "invalid", "folder", "tolerance-alone"],
)
def test_a_bad_baseline_is_one_line(project, setup, args, expected):
    project.tests(test_app=DRIFT_APP)
    if setup == "folder":
        (project.root / "base.json").mkdir()
    elif setup is not None:
        (project.root / "base.json").write_text(setup)

    result = project.replay(*args)

    assert usage_error(result).startswith(expected)


@pytest.mark.parametrize("value", ["lots", "-5%", "nan"])
def test_a_bad_tolerance_is_one_line(recorded, value):
    result = recorded.replay("--anyint-baseline=base.json", f"--anyint-baseline-tolerance={value}")

    assert usage_error(result) == (
        f"--anyint-baseline-tolerance={value}: expected a percentage of 0 or more, such as 20% or 5"
    )
