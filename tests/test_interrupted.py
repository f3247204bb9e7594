"""§14: an interrupted recording never costs a cassette, and xdist workers never share one.

A real ``pytest --anyint-record=rewrite`` process is killed with SIGKILL while it writes a
cassette (once the new text is on disk but before it replaces the old file, and once before the
rename itself): the old cassette stays byte for byte, replay ignores the leftover temporary file,
and the next recording removes it. Cassette paths come from the test's node id, so two workers
can only meet on one file when two ids collapse into one file name; that fails collection.
"""

from __future__ import annotations

import signal

import pytest
import yaml

from .helpers import OPENAI_TEST, assert_output

#: Kills the recording process at a point of the cassette write, wherever the bytes are going.
KILL_DURING_WRITE = '''
import os
import signal

POINT = {point!r}


def _is_case_cassette(path):
    path = str(path)
    return "/cassettes/" in path and "/_models/" not in path


def _kill():
    os.kill(os.getpid(), signal.SIGKILL)


_real_fsync, _real_replace = os.fsync, os.replace


def fsync(fd):
    # The new text is written and flushed, not yet in place: a crash of the machine or the runner.
    if POINT == "fsync" and _is_case_cassette(os.readlink(f"/proc/self/fd/{{fd}}")):
        _kill()
    return _real_fsync(fd)


def replace(src, dst, *args, **kwargs):
    if POINT == "replace" and _is_case_cassette(dst):
        _kill()
    return _real_replace(src, dst, *args, **kwargs)


os.fsync, os.replace = fsync, replace
'''

CASSETTE = "test_app/test_extract/extract/gpt-5-mini.yaml"


@pytest.mark.parametrize("point", ["fsync", "replace"])
def test_a_recording_killed_mid_write_leaves_the_old_cassette_intact(project, point):
    project.tests(test_app=OPENAI_TEST)
    project.record("-k", "primary").assert_outcomes(passed=1)
    cassette = project.cassette(CASSETTE)
    before = cassette.read_bytes()

    # Re-record a different exchange, and die while writing it.
    project.tests(conftest=KILL_DURING_WRITE.format(point=point), test_app=OPENAI_TEST.replace("vendor: ACME", "vendor: Initech"))
    killed = project.pytester.runpytest_subprocess(
        "--anyint-record=rewrite", "--anyint-emulator", "--no-anyint-check-models", "-p", "no:randomly", "-k", "primary"
    )

    assert killed.ret == -signal.SIGKILL, "the recording process was not killed during the cassette write"
    assert cassette.read_bytes() == before
    leftovers = list(cassette.parent.glob(".gpt-5-mini.yaml.*.anyint-tmp"))
    assert len(leftovers) == 1 and b"Initech" in leftovers[0].read_bytes()  # killed while writing the new text

    # The leftover neither breaks replay nor counts as a cassette ...
    (project.root / "conftest.py").unlink()
    project.tests(test_app=OPENAI_TEST)
    project.replay("-k", "primary").assert_outcomes(passed=1)
    assert project.cassettes() == [CASSETTE]
    # ... and the next recording of that cassette clears it away.
    project.pytester.runpytest("--anyint-record=rewrite", "--anyint-emulator", "-k", "primary").assert_outcomes(passed=1)
    assert not list(cassette.parent.glob("*.anyint-tmp"))
    assert yaml.safe_load(cassette.read_text())["metadata"]["model"] == "gpt-5-mini"


def test_an_atomic_write_keeps_the_files_permissions(tmp_path):
    """The temporary file is private while it is written; the cassette ends up as readable as before."""
    import os
    import stat

    from pytest_anyint.text import write_atomic

    fresh = tmp_path / "new.yaml"
    umask = os.umask(0o022)
    try:
        write_atomic(fresh, "version: 1\n")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # what any file gets under that umask
    shared = tmp_path / "shared.yaml"
    shared.write_text("old")
    shared.chmod(0o664)
    write_atomic(shared, "new")
    assert shared.read_text() == "new" and stat.S_IMODE(shared.stat().st_mode) == 0o664


COLLAPSING_IDS = """
import pytest

@pytest.mark.parametrize("item", [1, 2], ids=[{first!r}, {second!r}])
@pytest.mark.route("extract", models="primary")
def test_items(anyint_route, item):
    pass
"""


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("a/b", "a_b", "gpt-5-mini__a_b.yaml"),  # characters a file name cannot keep
        ("Large", "large", "gpt-5-mini__large.yaml"),  # letter case: one file on macOS and Windows
        ("x-", "x", "gpt-5-mini__x.yaml"),  # separators trimmed from the id
    ],
)
def test_ids_that_collapse_into_one_cassette_fail_collection(project, first, second, shared):
    project.tests(test_app=COLLAPSING_IDS.format(first=first, second=second))
    result = project.record()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    assert_output(
        result,
        f"test_app.py::test_items[extract-primary-gpt-5-mini-{first}] and "
        f"test_app.py::test_items[extract-primary-gpt-5-mini-{second}] would record into the same cassette "
        f"cassettes/test_app/test_items/extract/",
    )
    assert shared.casefold() in result.stdout.str().casefold()
    assert project.cassettes() == []


def test_under_xdist_a_shared_cassette_is_refused_before_any_worker_runs(project):
    project.tests(test_app=COLLAPSING_IDS.format(first="a/b", second="a_b"))
    result = project.pytester.runpytest_subprocess("-n", "2", "--anyint-record=once", "--anyint-emulator")
    assert result.ret != 0
    assert_output(result, "would record into the same cassette cassettes/test_app/test_items/extract/gpt-5-mini__a_b.yaml")
    assert project.cassettes() == []


SAME_NAMES = """
import pytest

def call(anyint_route, text):
    with anyint_route.client() as client:
        client.post("/chat/completions", json={"model": anyint_route.model,
                    "messages": [{"role": "user", "content": text}]}).raise_for_status()

class TestInvoices:
    @pytest.mark.route("extract")
    def test_run(self, anyint_route):
        call(anyint_route, "invoices")

class TestReceipts:
    @pytest.mark.route("extract")
    def test_run(self, anyint_route):
        call(anyint_route, "receipts")

@pytest.mark.parametrize("lang", ["en", "de", "fr"], ids=["en", "de", "fr"])
@pytest.mark.route("chat")
def test_run(anyint_route, lang):
    pass
"""


def test_xdist_workers_record_every_case_into_its_own_cassette(project):
    project.tests(test_app=SAME_NAMES, test_other=SAME_NAMES)
    result = project.pytester.runpytest_subprocess("-n", "2", "--anyint-record=once", "--anyint-emulator", "-p", "no:randomly")
    cases = 2 * (2 + 2 + 3 * 2)  # per module: two classes × two models, three languages × two models
    result.assert_outcomes(passed=cases)
    written = project.cassettes()
    assert len(written) == cases
    owners = [yaml.safe_load(project.cassette(path).read_text())["metadata"]["test"] for path in written]
    assert len(set(owners)) == cases  # one node id per file: no file was written by two cases
    assert "test_app/TestInvoices.test_run/extract/gpt-5-mini.yaml" in written
    assert "test_other/test_run/chat/claude-haiku-4-5__fr.yaml" in written
    project.pytester.runpytest_subprocess("-n", "2", "-p", "no:randomly").assert_outcomes(passed=cases)
