"""Cassette files under attack or in odd places: each ends in one clear line, never a hang,
a traceback, a leftover temporary file or a cassette that check, prune and drift cannot see.

YAML bombs (aliases expanded), write errors (a read-only folder, a full disk, a file size limit,
a directory where the cassette goes), symlinked cassettes, the temporary file's permissions,
model IDs that start with a dot, test files outside the rootdir, and explicit parametrize ids.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_anyint import cassettes, parsecache
from pytest_anyint.config import ConfigError, load_config
from pytest_anyint.text import write_atomic

from .helpers import OPENAI_TEST, assert_output

CASSETTE = "test_app/test_extract/extract/gpt-5-mini.yaml"

#: 360 bytes that expand to 9**8 strings (a "billion laughs").
BILLION_LAUGHS = """metadata: {route: extract, model: gpt-5-mini}
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
interactions: [*g]
version: 1
"""


def _big_body_bomb() -> str:
    """A small file whose one body expands to ~40 MB once its aliases are written out."""
    chunk = "A" * 4000
    return (
        f"metadata: {{route: extract, model: gpt-5-mini}}\nchunk: &x {chunk}\ninteractions:\n"
        "- request: {method: POST, uri: 'https://gateway.api.anyint.ai/openai/v1/chat/completions', headers: {}, "
        "body: {string: ''}}\n"
        "  response:\n    status: {code: 200, message: OK}\n    headers: {}\n"
        "    body: {json: [" + ", ".join(["*x"] * 10000) + "]}\n"
        "version: 1\n"
    )


def test_a_billion_laughs_cassette_is_refused_at_once_in_replay_and_check(project, capsys):
    assert len(BILLION_LAUGHS) <= 360
    project.tests(test_app=OPENAI_TEST)
    path = project.cassette(CASSETTE)
    path.parent.mkdir(parents=True)
    path.write_text(BILLION_LAUGHS)
    started = time.monotonic()
    result = project.replay("-k", "primary")
    assert time.monotonic() - started < 20
    result.assert_outcomes(errors=1)  # the cassette errors its test at setup, as every unusable one does
    assert_output(result, f"{CASSETTE}: uses a YAML alias (*name, repeating the value anchored at line 2): "
                          "pytest-anyint cassettes never need anchors or aliases")
    assert "Traceback" not in result.stdout.str()

    # pytest-anyint check (a separate process, so a hang would show as a timeout) says the same.
    started = time.monotonic()
    checked = subprocess.run([sys.executable, "-m", "pytest_anyint.cli", "check", "cassettes"], cwd=project.root,
                             capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 30
    assert checked.returncode == 1 and "uses a YAML alias" in checked.stdout and "Traceback" not in checked.stderr


def test_a_big_body_bomb_is_refused_and_writes_no_parse_cache_entry(project):
    project.tests(test_app=OPENAI_TEST)
    path = project.cassette(CASSETTE)
    path.parent.mkdir(parents=True)
    bomb = _big_body_bomb()
    assert len(bomb) < 50_000
    path.write_text(bomb)
    started = time.monotonic()
    result = project.replay("-k", "primary")  # with the cache provider: parsed files persist
    assert time.monotonic() - started < 20
    result.assert_outcomes(errors=1)
    assert_output(result, f"{CASSETTE}: uses a YAML alias")
    cached = [n for f in (project.root / ".pytest_cache").rglob("parsed-*") for n in parsecache.entry_names(f)]
    assert [n.split("-")[0] for n in cached] == ["config"]  # the run wrote its cache, but no cassette


def test_an_anyint_yaml_with_aliases_is_refused_with_one_line(tmp_path):
    config = tmp_path / "anyint.yaml"
    config.write_text(BILLION_LAUGHS.replace("interactions: [*g]\n", "routes: {x: {family: openai, primary: *g}}\n"))
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert time.monotonic() - started < 5
    assert str(info.value).startswith(f"{config}: uses a YAML alias (*name, repeating the value anchored at line 2)")
    assert "\n" not in str(info.value)


def test_the_serializer_never_writes_aliases():
    shared = {"content-type": ["application/json"]}
    cassette = {"interactions": [
        {"request": {"method": "GET", "uri": "https://gateway.api.anyint.ai/x", "body": b"", "headers": shared},
         "response": {"status": {"code": 200, "message": "OK"}, "headers": shared, "body": {"string": b"{}"}}},
    ] * 2}
    text = cassettes.CassetteSerializer.serialize(cassette)
    assert "&id" not in text and "*id" not in text
    assert len(cassettes.parse_cassette_text(text, source="x")["interactions"]) == 2


# --------------------------------------------------------------------------- write errors


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` read-only: by its mode, or (as root, who ignores modes) by a read-only bind mount."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode == 0
    if mounted and subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", str(folder)], capture_output=True)
        mounted = False
    if not mounted:
        pytest.skip("running as root without the right to mount: a read-only folder cannot be made")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def _leftovers(root: Path) -> list[Path]:
    return list(root.rglob("*.anyint-tmp"))


def test_a_read_only_cassette_folder_fails_the_test_with_one_line(project):
    project.tests(test_app=OPENAI_TEST)
    with read_only(project.root / "cassettes"):
        result = project.record("--no-anyint-check-models")
    result.assert_outcomes(failed=2)  # both cases ran: the session did not crash
    output = result.stdout.str()
    assert "not saved: " in output and ("permission denied" in output or "read-only" in output)
    assert str(project.cassette(CASSETTE)) in output
    assert "Traceback" not in output and "INTERNALERROR" not in output
    assert _leftovers(project.root) == []


def test_rewriting_in_a_read_only_folder_keeps_the_old_cassette(project):
    project.tests(test_app=OPENAI_TEST)
    project.record("-k", "primary").assert_outcomes(passed=1)
    cassette = project.cassette(CASSETTE)
    before = cassette.read_bytes()
    project.tests(test_app=OPENAI_TEST.replace("vendor: ACME", "vendor: Initech"))
    with read_only(cassette.parent):
        result = project.pytester.runpytest("--anyint-record=rewrite", "--anyint-emulator", "-k", "primary",
                                            "--no-anyint-check-models")
    result.assert_outcomes(failed=1)
    assert_output(result, f"{cassette}: not saved: ")
    assert cassette.read_bytes() == before and _leftovers(project.root) == []


def test_a_directory_where_the_cassette_goes_is_named_in_one_line(project):
    project.tests(test_app=OPENAI_TEST)
    project.cassette(CASSETTE).mkdir(parents=True)
    once = project.record("-k", "primary")
    once.assert_outcomes(errors=1)
    assert_output(once, f"{project.cassette(CASSETTE)}: is a directory, not a cassette file; remove or rename that directory")
    rewrite = project.pytester.runpytest("--anyint-record=rewrite", "--anyint-emulator", "-k", "primary")
    rewrite.assert_outcomes(failed=1)
    assert_output(rewrite, f"{project.cassette(CASSETTE)}: not saved: the cassette path is a directory")
    for result in (once, rewrite):
        assert "Traceback" not in result.stdout.str()
    assert project.cassette(CASSETTE).is_dir() and _leftovers(project.root) == []


def test_a_full_disk_fails_the_test_with_one_line(project):
    project.tests(test_app=OPENAI_TEST)
    folder = project.root / "cassettes"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("a tiny tmpfs cannot be mounted here (the file size limit test covers the write error path)")
    try:
        with contextlib.suppress(OSError):  # fill it up
            with open(folder / "filler", "wb") as handle:
                while True:
                    handle.write(b"x" * 1024)
                    handle.flush()
        result = project.record("--no-anyint-check-models")
        result.assert_outcomes(failed=2)
        assert_output(result, "not saved: no space left on the device (disk full or quota reached)")
        assert "Traceback" not in result.stdout.str()
        assert _leftovers(folder) == []
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_file_size_limit_fails_the_test_with_one_line(project):
    """The process may not write files past 1 KB (RLIMIT_FSIZE): every cassette write fails."""
    resource = pytest.importorskip("resource")
    project.tests(test_app=OPENAI_TEST)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("ANYINT_API_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--anyint-record=once", "--anyint-emulator", "-p", "no:cacheprovider",
         "-p", "no:randomly", "--no-anyint-check-models"],
        cwd=project.root, preexec_fn=limit, capture_output=True, text=True, timeout=300, env=env,
    )
    output = result.stdout
    assert "2 failed" in output, output
    assert "not saved: the file is larger than this process may write (file size limit)" in output
    assert "Traceback" not in output + result.stderr and "INTERNALERROR" not in output
    assert _leftovers(project.root) == []


# --------------------------------------------------------------------------- links and permissions


def test_rewriting_a_symlinked_cassette_writes_through_the_link(project):
    project.tests(test_app=OPENAI_TEST)
    project.record("-k", "primary").assert_outcomes(passed=1)
    link = project.cassette(CASSETTE)
    shared = project.root / "shared" / "extract.yaml"
    shared.parent.mkdir()
    link.rename(shared)
    link.symlink_to(shared)
    project.tests(test_app=OPENAI_TEST.replace("vendor: ACME", "vendor: Initech"))
    project.pytester.runpytest("--anyint-record=rewrite", "--anyint-emulator", "-k", "primary").assert_outcomes(passed=1)
    assert link.is_symlink() and link.resolve() == shared.resolve()
    assert "Initech" in shared.read_text()
    assert _leftovers(project.root) == []


def test_the_temporary_file_is_private_until_it_is_complete(tmp_path, monkeypatch):
    seen: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # called once the text is written, before the rename
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    umask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "c.yaml", "version: 1\n")
    finally:
        os.umask(umask)
    assert seen == [0o600]
    assert stat.S_IMODE((tmp_path / "c.yaml").stat().st_mode) == 0o644


# --------------------------------------------------------------------------- names


DOT_CONFIG = """
version: 1
routes:
  extract:
    family: openai
    primary: .internal-model
"""


def test_a_model_id_starting_with_a_dot_makes_no_hidden_cassette(project):
    project.config(DOT_CONFIG)
    project.tests(test_app="""
        import pytest

        @pytest.mark.route("extract")
        def test_extract(anyint_route):
            pass
        """)
    result = project.pytester.runpytest("--collect-only", "-q", "--anyint-list-cassettes=listed.json")
    assert result.ret == 0
    [path] = json.loads((project.root / "listed.json").read_text())["cassettes"]
    assert Path(path).name == "_internal-model.yaml"
    assert not any(part.startswith(".") for part in Path(path).relative_to(project.root).parts)
    Path(path).parent.mkdir(parents=True)
    Path(path).write_text("interactions: []\nversion: 1\n")
    assert list(cassettes.iter_cassettes(project.root / "cassettes")) == [Path(path)]  # check and prune see it


def test_model_ids_that_differ_only_in_a_leading_dot_are_refused(tmp_path):
    config = tmp_path / "anyint.yaml"
    config.write_text(DOT_CONFIG + "    fallbacks: [_internal-model]\n")
    with pytest.raises(ConfigError, match="_internal-model.yaml; model IDs of a route must differ in more than punctuation"):
        load_config(config)


def test_route_and_parameter_slugs_never_start_with_a_dot():
    from pytest_anyint.text import model_slug

    path = cassettes.cassette_path(Path("c"), "tests/test_app", "test_x", "..", model_slug(".hidden"), other_params="a.b")
    assert path == Path("c/tests/test_app/test_x/__/_hidden__a.b.yaml")


def test_test_files_outside_the_rootdir_get_their_own_cassettes(project):
    outside = project.root.parent / f"{project.root.name}-outside"
    for name in ("a", "b"):
        (outside / name).mkdir(parents=True, exist_ok=True)
        (outside / name / f"test_{name}.py").write_text(OPENAI_TEST.replace("def test_extract", "def test_x"))
    args = ["--rootdir", str(project.root), "-c", str(project.root / "tox.ini"), "-k", "primary"]
    files = [str(outside / "a" / "test_a.py"), str(outside / "b" / "test_b.py")]
    project.record(*args, *files).assert_outcomes(passed=2)
    shown = [str(Path(c).parent.parent.parent) for c in project.cassettes()]
    assert len(set(shown)) == 2, project.cassettes()  # one cassette per module, not one shared
    assert all(c.startswith("_up/") for c in project.cassettes())
    project.replay(*args, *files).assert_outcomes(passed=2)


def test_explicit_parametrize_ids_are_not_called_position_based(project):
    project.tests(test_app="""
        import pytest

        @pytest.mark.parametrize("obj", [object()], ids=["obj0"])
        @pytest.mark.route("extract", models="primary")
        def test_named(anyint_route, obj):
            pass

        @pytest.mark.parametrize("obj", [pytest.param(object(), id="obj1")])
        @pytest.mark.route("extract", models="primary")
        def test_param_id(anyint_route, obj):
            pass

        @pytest.mark.parametrize("n", [0, 1])
        @pytest.mark.route("extract", models="primary")
        def test_values(anyint_route, n):
            pass
        """)
    result = project.record()
    result.assert_outcomes(passed=4)
    assert "position-based" not in result.stdout.str()
