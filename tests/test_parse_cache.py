"""Replay speed without a change in what replays: the parsed-cassette cache and the cassette folder
that collection never walks (benchmarks/ proves the speed; these tests prove the behaviour)."""

from __future__ import annotations

import os
from pathlib import Path

from pytest_anyint import cassettes, parsecache
from pytest_anyint.contracts import gate, shipped

from .conftest import INI
from .helpers import OPENAI_TEST

CASSETTE = "test_app/test_extract/extract/gpt-5-mini.yaml"


def _folders(project):
    return sorted((project.root / ".pytest_cache" / "d" / "anyint").glob("parsed-*"))


def _entries(project, kind="cassette"):
    return [name for folder in _folders(project) for name in parsecache.entry_names(folder) if name.startswith(f"{kind}-")]


def _packs(project):
    return sorted(p for folder in _folders(project) for p in folder.glob("pack-*"))


def test_a_replay_keeps_parsed_cassettes_and_an_edited_cassette_is_read_anew(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    project.replay().assert_outcomes(passed=2)
    entries = _entries(project)
    assert len(entries) == 2  # one parsed form per cassette content, under pytest's cache folder
    # An edit changes the content, so the next run parses the file again and replays the edit:
    # a recorded answer the app no longer accepts fails the test.
    cassette = project.cassette(CASSETTE)
    cassette.write_text(cassette.read_text().replace("gpt-5-mini: vendor", "someone-else: vendor"))
    result = project.replay("-k", "primary")
    result.assert_outcomes(failed=1)
    assert len(_entries(project)) == 3


def test_a_corrupt_cache_entry_is_a_miss_not_a_failure(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    project.replay().assert_outcomes(passed=2)
    (pack,) = _packs(project)
    data = bytearray(pack.read_bytes())
    data[-200:] = b"\x00" * 200  # the last entry's bytes: its index still names it
    pack.write_bytes(bytes(data))
    parsecache.forget()  # pytester runs in this process: read from disk, not from memory
    project.replay().assert_outcomes(passed=2)
    for entry in _packs(project):
        entry.write_bytes(b"\x00not a pack")
    parsecache.forget()
    project.replay().assert_outcomes(passed=2)
    (rewritten,) = _packs(project)  # the unreadable packs replaced by one that reads
    assert len(_entries(project)) == 2
    assert parsecache.entry_names(rewritten.parent) == sorted(_entries(project) + _entries(project, "config"))


def test_a_warm_run_writes_nothing_and_a_run_that_parsed_writes_one_pack(project):
    """A file per entry cost a run with no cache a file creation and a rename per cassette."""
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    parsecache.forget()
    project.replay().assert_outcomes(passed=2)
    (pack,) = _packs(project)
    stamp = pack.stat().st_mtime_ns
    parsecache.forget()
    project.replay().assert_outcomes(passed=2)
    assert _packs(project) == [pack] and pack.stat().st_mtime_ns == stamp
    # A run that parses one new file writes one new pack that also holds what the old one did.
    cassette = project.cassette(CASSETTE)
    cassette.write_text(cassette.read_text() + "\n")
    parsecache.forget()
    project.replay().assert_outcomes(passed=2)
    (newer,) = _packs(project)
    assert newer != pack and len(_entries(project)) == 3


def test_without_the_cacheprovider_nothing_is_written(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    project.replay("-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert _entries(project) == []


def test_the_cache_never_serves_another_content(tmp_path):
    """Keyed by the file's bytes: two files with one content share an entry, an edit never does."""
    parsecache.use(tmp_path / "cache")
    try:
        text = (
            "interactions:\n- request: {method: GET, uri: 'https://g/openai/v1/models', body: {string: ''}, headers: {}}\n"
            "  response: {status: {code: 200, message: OK}, headers: {}, body: {json: {data: []}}}\nversion: 1\n"
        )
        first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
        first.write_text(text)
        second.write_text(text.replace("data: []", "data: [1]"))
        parsecache.forget()
        assert cassettes.read_cassette(first)["interactions"][0]["response"]["body"]["string"] == b'{"data":[]}'
        assert cassettes.read_cassette(second)["interactions"][0]["response"]["body"]["string"] == b'{"data":[1]}'
        parsecache.forget()  # from disk now
        assert cassettes.read_cassette(second)["interactions"][0]["response"]["body"]["string"] == b'{"data":[1]}'
    finally:
        parsecache.use(None)
        parsecache.forget()


def test_other_versions_keep_their_folders_within_a_bound(tmp_path):
    """Two environments sharing a checkout (tox with two Pythons) must not delete each other's
    entries, or both replay cold every run; what upgrades leave behind is still cleared."""
    cache = tmp_path / "cache"
    older = {}
    for age, name in enumerate(["parsed-newest", "parsed-newer", "parsed-oldest"]):
        folder = cache / name
        folder.mkdir(parents=True)
        (folder / "cassette-entry").write_bytes(b"x")
        stamp = 1_700_000_000 - age * 3600
        os.utime(folder, (stamp, stamp))
        older[name] = folder
    parsecache.use(cache)
    try:
        parsecache.forget()
        assert parsecache.parsed(b"a: 1\n", "test", lambda raw: {"a": 1}, lambda data: isinstance(data, dict)) == {"a": 1}
        parsecache.flush()  # the run's end: its pack is written, in a new folder
        folders = sorted(p.name for p in cache.iterdir())
        assert folders == sorted(["parsed-newest", "parsed-newer", parsecache._DIR.name])
        assert (older["parsed-newest"] / "cassette-entry").read_bytes() == b"x"
        parsecache.forget()  # and the entry is read back from the new folder
        assert parsecache.parsed(b"a: 1\n", "test", lambda raw: {"never": "parsed"}, lambda data: True) == {"a": 1}
    finally:
        parsecache.use(None)
        parsecache.forget()


def test_collection_never_walks_the_cassette_folder(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    # Nothing under cassettes/ is a test, whatever its name; the tests beside it still run.
    stray = project.root / "cassettes" / "test_app" / "test_stray.py"
    stray.write_text("def test_stray():\n    assert False\n")
    project.replay().assert_outcomes(passed=2)


def test_a_cassette_folder_that_holds_tests_is_still_collected(project):
    """``anyint_cassette_dir = tests``: the folder has tests of its own at its top, so it is walked."""
    project.tests(test_app=OPENAI_TEST)
    (project.root / "tests").mkdir()
    (project.root / "tests" / "test_here.py").write_text("def test_here():\n    pass\n")
    project.pytester.makeini(INI + "anyint_cassette_dir = tests\n")
    result = project.pytester.runpytest("--collect-only", "-q", "tests")
    result.stdout.fnmatch_lines(["tests/test_here.py::test_here"])


def test_anyint_yaml_is_kept_once_valid_and_an_edit_is_read_and_checked_anew(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    project.replay().assert_outcomes(passed=2)
    assert len(_entries(project, "config")) == 1
    # A broken edit is checked as if there were no cache: one line naming the key, nothing kept.
    config = project.root / "anyint.yaml"
    config.write_text(config.read_text().replace("primary: gpt-5-mini", "primry: gpt-5-mini"))
    result = project.replay()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*anyint.yaml: routes.extract.primry: unknown key 'primry'*"])
    assert len(_entries(project, "config")) == 1
    # A valid edit is read anew: the route loses its fallback, so one case is left.
    config.write_text(config.read_text().replace("primry: gpt-5-mini", "primary: gpt-5-mini")
                      .replace("fallbacks: [deepseek-v3.2-exp]", "fallbacks: []"))
    project.replay().assert_outcomes(passed=1)
    assert len(_entries(project, "config")) == 2


def test_the_shipped_contract_index_is_read_from_its_json_form_not_the_cache(project, monkeypatch):
    """A fresh CI clone has no parse cache: the shipped index costs no YAML parse there either."""
    def as_a_new_process():  # pytester runs in this process, where the index is loaded once
        parsecache.forget()
        shipped.forget()
        monkeypatch.setattr(gate, "_SESSION_INDEXES", {})

    project.tests(test_app=OPENAI_TEST)
    as_a_new_process()
    project.record().assert_outcomes(passed=2)
    as_a_new_process()
    project.replay().assert_outcomes(passed=2)  # the index read from its JSON form still routes and checks
    assert _entries(project, "contract-index") == []


def test_the_cache_folder_follows_the_parsing_code_not_its_file_times(tmp_path, monkeypatch):
    """pip install resets modification times: a restored .pytest_cache must still be found."""
    import pytest_anyint

    copy = tmp_path / "pkg"
    source = Path(pytest_anyint.__file__).parent
    for name in parsecache._PARSER_MODULES:
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((source / name).read_bytes())
    monkeypatch.setattr(parsecache, "__file__", str(copy / "parsecache.py"))
    try:
        parsecache.use(tmp_path / "cache")
        first = parsecache._DIR
        os.utime(copy / "cassettes" / "format.py", (2**31, 2**31))  # a reinstall: same code, another time
        parsecache.use(tmp_path / "cache")
        assert parsecache._DIR == first
        (copy / "yamlsafe.py").write_text((copy / "yamlsafe.py").read_text() + "\n# changed\n")
        parsecache.use(tmp_path / "cache")
        assert parsecache._DIR != first
    finally:
        parsecache.use(None)
