"""``pytest-anyint check --unused`` and ``prune``: cassettes no test case maps to any more."""

from __future__ import annotations

import subprocess
import sys

from .test_core_loop import OPENAI_TEST


def _cli(project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_anyint.cli", *args], cwd=project.root, capture_output=True, text=True
    )


def test_renamed_test_leaves_unused_cassettes_that_check_lists_and_prune_removes(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    project.tests(test_app=OPENAI_TEST.replace("def test_extract(", "def test_extract_invoice("))
    project.record().assert_outcomes(passed=2)
    stale = project.cassette("test_app/test_extract/extract/gpt-5-mini.yaml")
    assert stale.exists()

    checked = _cli(project, "check", "--unused")
    assert checked.returncode == 1
    assert f"{stale}: unused: no test case maps to this cassette" in checked.stdout
    assert "test_extract_invoice" not in checked.stdout

    dry = _cli(project, "prune", "--dry-run")
    assert dry.returncode == 0 and f"would remove {stale}" in dry.stdout and stale.exists()

    pruned = _cli(project, "prune")
    assert pruned.returncode == 0 and "2 unused cassette(s)" in pruned.stdout
    assert project.cassettes() == [
        "test_app/test_extract_invoice/extract/deepseek-v3.2-exp.yaml",
        "test_app/test_extract_invoice/extract/gpt-5-mini.yaml",
    ]
    project.replay().assert_outcomes(passed=2)


def test_check_lints_the_config_and_uses_the_configured_cassette_dir(project):
    project.pytester.makeini("[pytest]\nanyint_cassette_dir = recorded\n")
    (project.root / "recorded").mkdir()
    (project.root / "anyint.yaml").write_text("version: 1\nroutes:\n  x: {family: openai, primary: a, fallbacks: [a]}\n")
    result = _cli(project, "check")
    assert result.returncode == 1
    assert "routes.x.fallbacks[0]: 'a' is the primary" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_without_cassettes_is_a_usage_error(project):
    result = _cli(project, "check")
    assert result.returncode == 2 and "no such directory" in result.stderr
