"""``pytest-anyint prune`` and ``check --unused``: only provably orphaned cassettes, and only with --yes.

Each data-loss case of the adversarial round (a module skipped by ``importorskip`` or a module-level
skip, tests deselected by ``addopts = -m``, paths in ``collect_ignore``, a pytest-recording cassette
in the same folder) is asserted as "0 of the user's files deleted".
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import INI
from .helpers import OPENAI_TEST


def _cli(project, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_anyint.cli", *args], cwd=cwd or project.root, capture_output=True,
        text=True, timeout=300,
    )


def _files(root: Path) -> set[str]:
    """Every file of the user's project (caches aside)."""
    return {
        str(p.relative_to(root)) for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts
    }


def _recorded(project, **modules: str) -> set[str]:
    project.tests(**modules)
    result = project.record()
    assert result.ret == 0, result.stdout.str()
    return _files(project.root)


def test_renamed_test_leaves_unused_cassettes_that_check_lists_and_prune_deletes_only_with_yes(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    project.tests(test_app=OPENAI_TEST.replace("def test_extract(", "def test_extract_invoice("))
    project.record().assert_outcomes(passed=2)
    stale = "cassettes/test_app/test_extract/extract/gpt-5-mini.yaml"
    before = _files(project.root)

    checked = _cli(project, "check", "--unused")
    assert checked.returncode == 1
    assert f"{stale}: unused: no test case maps to this cassette" in checked.stdout
    assert "test_extract_invoice" not in checked.stdout

    listed = _cli(project, "prune")
    assert listed.returncode == 0 and f"would delete {stale}" in listed.stdout
    assert _files(project.root) == before  # without --yes nothing is deleted
    advice = listed.stdout.strip().splitlines()[-1]
    assert advice.startswith("2 unused cassette(s); nothing deleted. Delete them with: pytest-anyint prune")

    command = shlex.split(advice.split("Delete them with: ", 1)[1])
    assert command[:2] == ["pytest-anyint", "prune"] and command[-1] == "--yes"
    pruned = _cli(project, *command[1:])  # the advised command, as printed
    assert pruned.returncode == 0 and f"deleted {stale}" in pruned.stdout
    assert "2 unused cassette(s) deleted" in pruned.stdout
    assert project.cassettes() == [
        "test_app/test_extract_invoice/extract/deepseek-v3.2-exp.yaml",
        "test_app/test_extract_invoice/extract/gpt-5-mini.yaml",
    ]
    project.replay().assert_outcomes(passed=2)


@pytest.mark.parametrize(
    "skip",
    [
        pytest.param('pytest.importorskip("a_package_that_is_not_installed")', id="importorskip"),
        pytest.param('pytest.skip("needs the GPU runner", allow_module_level=True)', id="module-level-skip"),
    ],
)
def test_a_module_skipped_here_keeps_its_cassettes_and_prune_deletes_nothing(project, skip):
    before = _recorded(project, test_app=OPENAI_TEST)
    project.tests(test_app=OPENAI_TEST.replace("import pytest\n", f"import pytest\n{skip}\n", 1))
    for command in (["prune", "--yes"], ["check", "--unused"]):
        result = _cli(project, *command)
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "nothing counted as unused" in lines[0]
        assert "test_app.py: skipped:" in lines[0]
        assert ("a_package_that_is_not_installed" if "importorskip" in skip else "needs the GPU runner") in lines[0]
        assert "Traceback" not in result.stdout + result.stderr
    assert _files(project.root) == before  # 0 user files deleted


def test_tests_deselected_by_addopts_keep_their_cassettes(project):
    before = _recorded(project, test_app=OPENAI_TEST.replace('@pytest.mark.route("extract")',
                                                             '@pytest.mark.slow\n@pytest.mark.route("extract")'))
    project.pytester.makeini(INI + 'markers = slow: slow tests\naddopts = -m "not slow"\n')
    assert project.replay().ret == 5  # the route tests are deselected here: "no tests ran"
    result = _cli(project, "prune", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 unused cassette(s)" in result.stdout
    assert _cli(project, "check", "--unused").returncode == 0
    assert _files(project.root) == before


def test_a_test_file_in_collect_ignore_keeps_its_cassettes(project):
    before = _recorded(project, test_app=OPENAI_TEST)
    (project.root / "conftest.py").write_text('collect_ignore = ["test_app.py"]\n')
    before.add("conftest.py")
    result = _cli(project, "prune", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kept cassettes/test_app/test_extract/extract/gpt-5-mini.yaml: its test file exists but was not collected" in result.stdout
    assert "deleted" not in result.stdout.replace("nothing to delete", "")
    assert "unused" not in _cli(project, "check", "--unused").stdout.replace("0 unused", "")
    assert _files(project.root) == before


def test_a_pytest_recording_cassette_in_the_same_folder_is_never_touched(project):
    _recorded(project, test_app=OPENAI_TEST)
    foreign = project.root / "cassettes/test_app/test_weather/extract/gpt-5-mini.yaml"
    foreign.parent.mkdir(parents=True)
    foreign.write_text(textwrap.dedent("""\
        interactions:
        - request:
            body: null
            headers: {}
            method: GET
            uri: https://api.weather.example/today
          response:
            body: {string: sunny}
            headers: {}
            status: {code: 200, message: OK}
        version: 1
        """))
    before = _files(project.root)
    result = _cli(project, "prune", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "left alone 1 file(s) without pytest-anyint metadata" in result.stdout
    assert _files(project.root) == before


def test_tests_outside_testpaths_are_collected_from_the_rootdir(project):
    project.pytester.makeini(INI + "testpaths = tests\n")
    (project.root / "tests").mkdir()
    (project.root / "tests" / "test_main.py").write_text(textwrap.dedent(OPENAI_TEST))
    (project.root / "smoke").mkdir()
    (project.root / "smoke" / "test_smoke.py").write_text(textwrap.dedent(OPENAI_TEST))
    result = project.record("tests", "smoke")
    assert result.ret == 0, result.stdout.str()
    before = _files(project.root)
    assert "cassettes/smoke/test_smoke/test_extract/extract/gpt-5-mini.yaml" in before
    pruned = _cli(project, "prune", "--yes", cwd=project.root / "tests")  # from a subfolder, too
    assert pruned.returncode == 0 and "0 unused cassette(s)" in pruned.stdout, pruned.stdout + pruned.stderr
    assert _files(project.root) == before
    # --tests limits the collection; the other folder's cassettes are kept, not deleted
    only = _cli(project, "prune", "--yes", "--tests", "tests", cwd=project.root)
    assert only.returncode == 0 and "kept cassettes/smoke/test_smoke" in only.stdout
    assert _files(project.root) == before


def test_a_collection_error_quotes_the_error_not_the_last_line(project):
    before = _recorded(project, test_app=OPENAI_TEST)
    project.tests(
        test_broken="import a_module_that_does_not_exist\n",
        test_other="class TestThing:\n    def __init__(self):\n        pass\n",  # a collection warning, printed last
    )
    before |= {"test_broken.py", "test_other.py"}
    for command in (["prune", "--yes"], ["check", "--unused"]):
        result = _cli(project, *command)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert "test_broken.py: ModuleNotFoundError: No module named 'a_module_that_does_not_exist'" in lines[0]
        assert "warning" not in lines[0].lower()
    assert _files(project.root) == before


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
