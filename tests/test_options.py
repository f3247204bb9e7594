"""Options, ini options and the environment: a bad value is one line naming it and what is expected."""

from __future__ import annotations

import pytest

from .conftest import INI

ROUTED = '''
import pytest


@pytest.mark.route("extract", models="primary")
def test_routed(anyint_route):
    pass
'''


def usage_error(result: pytest.RunResult) -> str:
    """The one line pytest prints for a usage error (exit status 4), with no traceback anywhere."""
    assert result.ret == 4, result.stdout.str()
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "File \"" not in output
    lines = [line for line in result.stderr.str().splitlines() if line.startswith("ERROR: ")]
    assert len(lines) == 1, result.stderr.str()
    return lines[0][len("ERROR: "):]


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "inf"])
def test_a_bad_stream_timeout_is_one_line(project, value):
    project.pytester.makeini(INI + f"anyint_stream_timeout = {value}\n")
    project.tests(test_app=ROUTED)

    result = project.pytester.runpytest()

    assert usage_error(result) == (
        f"ini option anyint_stream_timeout = {value!r}: expected a number of seconds greater than 0 "
        f"(e.g. anyint_stream_timeout = 60)"
    )


def test_a_cassette_dir_that_is_a_file_is_one_line(project):
    (project.root / "recordings").write_text("not a folder")
    project.pytester.makeini(INI + "anyint_cassette_dir = recordings\n")
    project.tests(test_app=ROUTED)

    result = project.pytester.runpytest("--anyint-record=none")

    assert usage_error(result) == (
        f"ini option anyint_cassette_dir = 'recordings': {project.root / 'recordings'} is a file; expected a folder "
        f"for the cassettes"
    )


@pytest.mark.parametrize(
    "value, message",
    [
        ("http://[::1", "environment variable ANYINT_BASE_URL: 'http://[::1' is not a valid URL (Invalid IPv6 URL): "
         "expected a URL such as https://gateway.api.anyint.ai"),
        ("gateway.api.anyint.ai", "environment variable ANYINT_BASE_URL: 'gateway.api.anyint.ai' has no scheme: "
         "expected a URL such as https://gateway.api.anyint.ai (starting with https:// or http://)"),
        ("localhost:8080", "environment variable ANYINT_BASE_URL: 'localhost:8080' has no scheme: expected a URL such "
         "as https://gateway.api.anyint.ai (starting with https:// or http://)"),
        ("ftp://gateway.example", "environment variable ANYINT_BASE_URL: 'ftp://gateway.example' has the scheme "
         "'ftp': expected a URL such as https://gateway.api.anyint.ai (https:// or http://)"),
        ("https://", "environment variable ANYINT_BASE_URL: 'https://' names no host: expected a URL such as "
         "https://gateway.api.anyint.ai"),
        ("http://localhost:port", "environment variable ANYINT_BASE_URL: 'http://localhost:port' is not a valid URL "
         "(Port could not be cast to integer value as 'port'): expected a URL such as https://gateway.api.anyint.ai"),
    ],
    ids=["broken-ipv6", "no-scheme", "host-and-port-only", "other-scheme", "no-host", "bad-port"],
)
def test_a_bad_base_url_in_the_environment_is_one_line(project, monkeypatch, value, message):
    monkeypatch.setenv("ANYINT_BASE_URL", value)
    project.tests(test_app=ROUTED)

    with_option = project.pytester.runpytest("--anyint-record=none")
    assert usage_error(with_option) == message

    marker_only = project.pytester.runpytest()  # found at collection: the test fails with the same line
    marker_only.assert_outcomes(errors=1)
    assert f"test_app.py::test_routed: {message}" in marker_only.stdout.str()
    assert "blocked a request" not in marker_only.stdout.str()


def test_a_bad_base_url_in_the_config_is_one_line(project):
    project.config("version: 1\ngateway:\n  base_url: 'http://[::1'\nroutes:\n  extract: {family: openai, primary: gpt-5-mini}\n")
    project.tests(test_app=ROUTED)

    result = project.pytester.runpytest("--anyint-record=none")

    assert usage_error(result) == (
        f"{project.root / 'anyint.yaml'}: gateway.base_url: 'http://[::1' is not a valid URL (Invalid IPv6 URL): "
        f"expected a URL such as https://gateway.api.anyint.ai"
    )


@pytest.mark.parametrize(
    "option, example", [("--anyint-html", "report.html"), ("--anyint-report", "report.json"), ("--anyint-report-md", "report.md")]
)
def test_a_report_path_that_is_a_folder_is_one_line_and_leaves_nothing_behind(project, option, example):
    (project.root / "out").mkdir()
    project.tests(test_app=ROUTED)

    result = project.pytester.runpytest(f"{option}=out")

    assert usage_error(result) == f"{option}=out: is a folder; expected a file path, e.g. {option}={'out/' + example}"
    assert list((project.root / "out").iterdir()) == []
    assert not list(project.root.glob("*.tmp"))


def test_a_report_path_below_a_file_is_one_line(project):
    (project.root / "out").write_text("a file")
    project.tests(test_app=ROUTED)

    result = project.pytester.runpytest("--anyint-html=out/report.html")

    assert usage_error(result) == f"--anyint-html=out/report.html: {project.root / 'out'} is a file, so no report can be written below it"


def test_a_report_path_that_turns_into_a_folder_during_the_run_is_one_line_and_leaves_no_tmp(project):
    project.tests(test_app='''
def test_makes_the_folder():
    import os
    os.mkdir("report.html")
''')

    result = project.pytester.runpytest("--anyint-html=report.html", "-p", "no:randomly")

    result.assert_outcomes(passed=1)
    assert "anyint: no report written to report.html: it is a folder; expected a file path" in result.stderr.str()
    assert "Traceback" not in result.stderr.str()
    assert not [p.name for p in project.root.iterdir() if p.name.endswith(".tmp")]
