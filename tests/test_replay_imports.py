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
        json.dump(sorted(sys.modules), handle)
'''

#: The plugin's modules only a rarer path needs, each loaded where it is first used: a violation's
#: record, the violations builder, stream grammars, a parsed stream event, a fault case's scenario,
#: the cassette age (``--anyint-max-age``). A replay of plain JSON answers that keep their contracts
#: loads none of them (each would cost its import, and some a frozen dataclass's generated methods).
RARE_PATH_MODULES = {
    "pytest_anyint.contracts.violation",
    "pytest_anyint.contracts.violations",
    "pytest_anyint.contracts.grammars",
    "pytest_anyint.sse_event",
    "pytest_anyint.run.scenario",
    "pytest_anyint.run.age",
}


def _all_modules(project) -> set[str]:
    return set(json.loads((project.root / "modules.json").read_text()))


def _modules(project) -> set[str]:
    """The top-level packages the run imported."""
    return {name.split(".")[0] for name in _all_modules(project)}


def test_a_replay_imports_neither_vcrpy_nor_pyyaml_nor_a_rare_path_module(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    project.tests(conftest=MODULES_AT_EXIT)

    result = project.pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)
    modules = _all_modules(project)
    imported = {name.split(".")[0] for name in modules}
    assert "pytest_anyint" in imported  # the probe saw the plugin at work
    assert not imported & {"vcr", "yaml", "wrapt"}, sorted(imported & {"vcr", "yaml", "wrapt"})
    assert "pytest_anyint.contracts.gate" in modules  # the contracts were checked
    assert not modules & RARE_PATH_MODULES, sorted(modules & RARE_PATH_MODULES)


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
