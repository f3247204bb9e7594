"""One resolver of project settings: the plugin and every command read the same ini options, from
any subfolder, in every pytest configuration file flavour, and in this repository too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from pytest_anyint import settings

from .conftest import BASIC_CONFIG, INI
from .helpers import CONTRACTS_CHAT_TEST as CHAT

REPO = Path(__file__).resolve().parent.parent

#: anyint_config, anyint_cassette_dir and anyint_contracts_dir in each file pytest reads.
FLAVOURS = {
    "pytest.ini": "[pytest]\nanyint_config = conf/app.yaml\nanyint_cassette_dir = recorded\nanyint_contracts_dir = my-contracts\n",
    "tox.ini": "[pytest]\nanyint_config = conf/app.yaml\nanyint_cassette_dir = recorded\nanyint_contracts_dir = my-contracts\n",
    "setup.cfg": "[tool:pytest]\nanyint_config = conf/app.yaml\nanyint_cassette_dir = recorded\nanyint_contracts_dir = my-contracts\n",
    "pyproject.toml": '[tool.pytest.ini_options]\nanyint_config = "conf/app.yaml"\nanyint_cassette_dir = "recorded"\n'
                      'anyint_contracts_dir = ["my-contracts"]\n',
}

#: A user contract: every chat completion must carry x_trace_id (the emulator's never does).
TRACE_CONTRACT = {"version": 1, "entries": [
    {"family": "openai", "method": "POST", "path": "/openai/v1/chat/completions", "status": "2xx",
     "stream": False, "schema": "chat.json", "confidence": "documented"}]}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ANYINT_API_KEY"}
    return subprocess.run([sys.executable, "-m", "pytest_anyint.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env)


def _flavoured_project(root: Path, flavour: str) -> Path:
    """A project whose settings live in ``flavour``; returns a subfolder to run commands from."""
    for name in FLAVOURS:
        (root / name).unlink(missing_ok=True)
    (root / flavour).write_text(FLAVOURS[flavour])
    (root / "anyint.yaml").unlink(missing_ok=True)
    (root / "conf").mkdir(exist_ok=True)
    (root / "conf" / "app.yaml").write_text(textwrap.dedent(BASIC_CONFIG))
    contracts = root / "my-contracts"
    contracts.mkdir(exist_ok=True)
    (contracts / "chat.json").write_text(json.dumps({"type": "object", "required": ["x_trace_id"]}))
    (contracts / "index.yaml").write_text(yaml.safe_dump(TRACE_CONTRACT))
    sub = root / "tests" / "unit"
    sub.mkdir(parents=True, exist_ok=True)
    return sub


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_commands_find_the_settings_pytest_finds(pytester, monkeypatch, flavour):
    sub = _flavoured_project(Path(pytester.path), flavour)
    monkeypatch.chdir(sub)
    found = settings.find()
    config = pytester.parseconfig()  # pytest itself, started in the same subfolder
    assert found == settings.from_pytest(config)
    root = Path(pytester.path).resolve()
    assert (found.rootdir, found.inifile) == (root, root / flavour)
    assert found.config_path == root / "conf" / "app.yaml"
    assert found.cassette_dir == root / "recorded"
    assert found.contracts_dirs == (root / "my-contracts",)


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_every_command_works_from_a_subfolder(pytester, flavour):
    root = Path(pytester.path)
    sub = _flavoured_project(root, flavour)
    from .helpers import CHECK_CHAT as ANSWER
    from .helpers import interaction, write_cassette

    write_cassette(root / "recorded/tests/test_app/test_extract/extract/gpt-5-mini.yaml", [interaction()])
    checked = _cli("check", cwd=sub)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "/x_trace_id: required key is missing" in checked.stdout  # anyint_contracts_dir applied
    assert "checked 1 cassette(s)" in checked.stdout  # anyint_cassette_dir
    assert ANSWER["model"] == "gpt-5-mini"

    models = _cli("models", cwd=sub)  # conf/app.yaml and recorded/_models/, from tests/unit
    assert models.returncode == 2
    assert "no recorded models list at recorded/_models/openai.yaml" in models.stderr
    assert "Traceback" not in models.stderr

    listed = _cli("prune", cwd=sub)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "would delete ../../recorded/tests/test_app/test_extract/extract/gpt-5-mini.yaml" in listed.stdout


@pytest.mark.parametrize("where", [".", "examples/tests"])
def test_every_command_works_in_this_repository(where):
    """This repository's pyproject sets anyint_config = "examples/anyint.yaml"."""
    cwd = REPO / where
    models = _cli("models", cwd=cwd)
    assert models.returncode == 0, models.stdout + models.stderr
    assert models.stdout.startswith("ok: all ")
    checked = _cli("check", cwd=cwd)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no problems" in checked.stdout


def _failing_cassettes(lines: str, prefix: str = "cassettes/") -> set[str]:
    return {word.rstrip(":") for line in lines.splitlines() for word in line.split() if word.startswith(prefix)
            and word.rstrip(":").endswith(".yaml")}


def test_an_output_schema_violation_fails_the_same_cassette_in_replay_and_check(project):
    (project.root / "invoice.schema.json").write_text(
        '{"type": "object", "required": ["vendor"], "properties": {"vendor": {"type": "string"}}}'
    )
    project.config(BASIC_CONFIG.replace("    fallbacks: [deepseek-v3.2-exp]\n",
                                        "    fallbacks: [deepseek-v3.2-exp]\n    output_schema: invoice.schema.json\n"))
    project.tests(test_app=CHAT.format(setup='anyint_emulator.quirks["deepseek-v3.2-exp"] = "fenced-json"').replace(
        '"vendor: ACME"', '"Return JSON.\\nvendor: ACME"'))
    project.record().assert_outcomes(passed=1, failed=1)
    replay = project.replay()
    replay.assert_outcomes(passed=1, failed=1)
    violation = ("route 'extract': cassettes/test_app/test_extract/extract/deepseek-v3.2-exp.yaml interaction #1: "
                 "model deepseek-v3.2-exp: the answer is fenced in ```json")
    assert violation in replay.stdout.str()
    checked = _cli("check", cwd=project.root)
    assert checked.returncode == 1
    assert violation in checked.stdout  # the same line, for the same cassette
    failed = _failing_cassettes(checked.stdout)
    assert failed == {"cassettes/test_app/test_extract/extract/deepseek-v3.2-exp.yaml"}
    assert failed == _failing_cassettes(replay.stdout.str().replace("contract: ", ""))


def test_a_user_contract_violation_fails_the_same_cassettes_in_replay_and_check(project):
    project.tests(test_app=CHAT.format(setup="pass"))
    project.record().assert_outcomes(passed=2)
    contracts = project.root / "my-contracts"
    contracts.mkdir()
    (contracts / "chat.json").write_text(json.dumps({"type": "object", "required": ["x_trace_id"]}))
    (contracts / "index.yaml").write_text(yaml.safe_dump(TRACE_CONTRACT))
    project.pytester.makeini(INI + "anyint_contracts_dir = my-contracts\n")
    replay = project.replay()
    replay.assert_outcomes(failed=2)
    checked = _cli("check", cwd=project.root)  # no --contracts-dir: the ini option is enough
    assert checked.returncode == 1
    expected = {"cassettes/test_app/test_extract/extract/gpt-5-mini.yaml",
                "cassettes/test_app/test_extract/extract/deepseek-v3.2-exp.yaml"}
    assert _failing_cassettes(checked.stdout) == expected == _failing_cassettes(replay.stdout.str())
    assert checked.stdout.count("/x_trace_id: required key is missing") == 2


def test_the_configured_key_is_a_secret_for_check(project, monkeypatch):
    project.config(BASIC_CONFIG.replace("version: 1\n", "version: 1\ngateway:\n  api_key_env: MY_GATEWAY_KEY\n"))
    from .helpers import interaction, write_cassette

    key = "invented-test-key-0123456789abcdef"  # not a real key: made up for this test
    planted = interaction()
    planted["response"]["body"] = {"string": f"echo {key}"}
    write_cassette(project.root / "cassettes/test_app/test_extract/extract/gpt-5-mini.yaml", [planted])
    monkeypatch.setenv("MY_GATEWAY_KEY", key)
    checked = subprocess.run([sys.executable, "-m", "pytest_anyint.cli", "check"], cwd=project.root,
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 1
    assert "secret: the value of $MY_GATEWAY_KEY" in checked.stdout
    assert key not in checked.stdout + checked.stderr


@pytest.mark.parametrize("command", ["check", "models", "prune"])
def test_a_broken_pytest_configuration_is_one_line_for_every_command(tmp_path, command):
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options\nanyint_config = 1\n")
    (tmp_path / "sub").mkdir()
    result = _cli(command, cwd=tmp_path / "sub")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"pytest-anyint {command}: pytest's configuration cannot be read: ")
    assert "pyproject.toml" in lines[0] and "Traceback" not in result.stderr
