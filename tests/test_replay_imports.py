"""What a replay process imports: neither vcrpy nor PyYAML.

CI replays on every pull request, from a fresh clone, so every import is paid there every time:
vcrpy's (wrapt, asyncio, its patchers) and PyYAML's cost tens of milliseconds, and their objects
make every later garbage collection longer. A replay reads cassettes the plugin wrote with
yaml-rs, plays them with its own cassette (``cassettes.playback``) and reads a plain
``anyint.yaml`` with yaml-rs too; recording, and any file only PyYAML reads alike, still use them.
"""

from __future__ import annotations

import json

import pytest

from .helpers import OPENAI_TEST

pytest.importorskip("yaml_rs")

MODULES_AT_EXIT = '''
import json, sys


def pytest_unconfigure(config):
    with open("modules.json", "w") as handle:
        json.dump(sorted({name.split(".")[0] for name in sys.modules}), handle)
'''


def _modules(project) -> set[str]:
    return set(json.loads((project.root / "modules.json").read_text()))


def test_a_replay_imports_neither_vcrpy_nor_pyyaml(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    project.tests(conftest=MODULES_AT_EXIT)

    result = project.pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)
    imported = _modules(project)
    assert "pytest_anyint" in imported  # the probe saw the plugin at work
    assert not imported & {"vcr", "yaml", "wrapt"}, sorted(imported & {"vcr", "yaml", "wrapt"})


def test_recording_still_writes_through_vcrpy(project):
    project.tests(test_app=OPENAI_TEST, conftest=MODULES_AT_EXIT)

    result = project.pytester.runpytest_subprocess("--anyint-record=once", "--anyint-emulator", "-p", "no:randomly")

    result.assert_outcomes(passed=2)
    assert {"vcr", "yaml"} <= _modules(project)
    assert len(project.cassettes()) == 2


def test_a_config_only_pyyaml_reads_alike_is_read_by_pyyaml(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    config = project.root / "anyint.yaml"
    # ``on`` is a boolean to YAML 1.1 and text to 1.2: PyYAML must read this file.
    config.write_text(config.read_text(encoding="utf-8") + "\nx_note: on\n", encoding="utf-8")
    project.tests(conftest=MODULES_AT_EXIT)

    result = project.pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")

    assert "yaml" in _modules(project)
    result.stdout.fnmatch_lines(["*x_note*"])  # the config check names the unknown key, as before
