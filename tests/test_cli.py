"""The ``pytest-anyint`` command: every subcommand explains itself, and ``emulate`` serves the gateway."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx
import pytest

COMMANDS = ("check", "prune", "drift", "models", "emulate", "report")


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_anyint.cli", *args], capture_output=True, text=True, **kwargs)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command):
    result = _cli(command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: pytest-anyint {command}")


def test_no_command_prints_help_and_exit_codes():
    result = _cli()
    assert result.returncode == 2
    assert all(command in result.stdout for command in COMMANDS)
    assert "Exit codes: 0 ok, 1 problems found, 2 usage or input error." in result.stdout


def test_emulate_serves_the_gateway_on_loopback_until_interrupted():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "pytest_anyint.cli", "emulate", "--port", str(port), "--api-key", "k-test"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = server.stdout.readline()
        assert line.startswith(f"AnyInt emulator listening on http://127.0.0.1:{port}")
        base = f"http://127.0.0.1:{port}"
        listed = httpx.get(f"{base}/openai/v1/models", headers={"Authorization": "Bearer k-test"})
        assert listed.status_code == 200 and "gpt-5-mini" in [m["id"] for m in listed.json()["data"]]
        refused = httpx.get(f"{base}/openai/v1/models", headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "authentication_error"
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=10)
    assert server.returncode in (0, 130) and "Traceback" not in stderr


def test_version_prints_the_installed_version():
    from pytest_anyint import __version__

    result = _cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"pytest-anyint {__version__}"


def _parsers(parser):
    import argparse

    yield parser
    for action in parser._actions:  # argparse keeps subparsers here; no public way to walk them
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_option_of_every_subcommand_has_help():
    from pytest_anyint.cli import build_parser

    missing = []
    seen = set()
    for parser in _parsers(build_parser()):
        seen.add(parser.prog)
        for action in parser._actions:
            if action.help is None or not str(action.help).strip():
                missing.append(f"{parser.prog}: {'/'.join(action.option_strings) or action.dest}")
    assert {f"pytest-anyint {c}" for c in COMMANDS} <= seen
    assert missing == []


def test_a_config_that_is_a_directory_says_so(pytester):
    pytester.makeini("[pytest]\n")
    pytester.mkdir("settings")
    (pytester.path / "settings" / "anyint.yaml").write_text("version: 1\nroutes: {}\n")
    result = pytester.runpytest_subprocess("--anyint-config=settings")
    assert result.ret == 4
    err = result.stderr.str()
    assert "settings: is a directory, not a file: point --anyint-config (or anyint_config) at the anyint.yaml" in err
    assert "did you mean" in err and "settings/anyint.yaml" in err
    assert "not found" not in err


@pytest.mark.parametrize("command", ["check", "prune", "models"])
def test_a_subfolder_of_a_project_without_a_pytest_ini_is_told_where_to_run(tmp_path, command):
    (tmp_path / "anyint.yaml").write_text("version: 1\nroutes:\n  extract:\n    family: openai\n    primary: gpt-5-mini\n")
    (tmp_path / "cassettes").mkdir()
    sub = tmp_path / "tests" / "unit"
    sub.mkdir(parents=True)
    result = _cli(command, cwd=sub)  # pytest's rootdir here is the subfolder itself: no ini file above it
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"pytest's rootdir here is {sub}; run it from {tmp_path}, or add a pytest.ini there" in lines[0]
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the fix the line names
    fixed = _cli(command, cwd=sub)
    assert "rootdir here" not in fixed.stderr
    if command == "models":  # the project's anyint.yaml is found; its models list is not recorded yet
        assert "no recorded models list at cassettes/_models/openai.yaml" in fixed.stderr, fixed.stderr
    else:
        assert fixed.returncode == 0, fixed.stderr
