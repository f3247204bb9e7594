"""The fast cassette reader: yaml-rs reads what the writer marked, PyYAML everything else, and both
read it the same.

PyYAML reads YAML 1.1 and yaml-rs YAML 1.2, which read some plain scalars differently (``09``,
``1e3``, ``_0`` are text to one and numbers to the other). The writer quotes every such string and
marks the file; only marked files with nothing unusual in them (no tag, anchor or complex key) take
the fast path, so a replay serves the same bytes whichever reader ran.
"""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pytest_anyint import cassettes, yamlsafe
from pytest_anyint.cassettes import format as cassette_format

pytest.importorskip("yaml_rs")

SETTINGS = settings(
    max_examples=int(os.environ.get("ANYINT_PROPERTY_EXAMPLES", "300")), deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

#: Strings the two YAML versions disagree on when written plain, and YAML's own punctuation.
TRICKY = st.sampled_from([
    "09", "1e3", "1.5e3", "0o17", "_0", "_.5", "1_", "+1", ".5", "1.", "-", "- x", "? x", "yes", "No", "on", "~",
    "null", "1:20", "2026-11-26", "<<", "=", ".inf", "-.Inf", ".NaN", "0x1F", "\u2028x", "a\u2028b", "x\x85",
    "data: {}\n\n", "\n", "a\n\n", " lead", "trail ", "#", "&a", "*a", "!x", "é😀",
])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(), TRICKY,
    st.text(alphabet="0123456789+-._eExXoO:aAnNiIfF \n\t'\"#&*!?|>%@`{}[],~\x85\u2028\u2029\ufeff\r\\"),
)
DOCUMENTS = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text() | TRICKY, inner, max_size=4),
    max_leaves=20,
)


def _interaction(response_json: object, request_text: str = "{}") -> dict:
    return {
        "request": {"method": "POST", "uri": "https://gateway.api.anyint.ai/openai/v1/chat/completions",
                    "body": request_text.encode(), "headers": {"content-type": ["application/json"]}},
        "response": {"status": {"code": 200, "message": "OK"}, "headers": {"content-type": ["application/json"]},
                     "body": {"string": json.dumps(response_json).encode()}},
    }


@SETTINGS
@given(DOCUMENTS)
@example("09")
@example({"_0": ["1e3", "0o17", "a\u2028b"]})
@example(["data: {}\n\n", "\n"])
def test_what_the_writer_writes_both_readers_read_as_written(value):
    text = cassette_format.dump_yaml({"metadata": {"route": "chat"}, "interactions": [{"v": value}], "version": 1})
    assert text.endswith(cassette_format.SAME_IN_YAML_1_2 + "version: 1\n"), text  # marked: the fast path
    by_pyyaml = yaml.load(text, Loader=yaml.CSafeLoader)
    by_yaml_rs = yamlsafe.rust_loads()(text)
    assert by_pyyaml["interactions"] == [{"v": value}]
    # JSON text compares NaN-free floats, ints and bools exactly (1 == 1.0 == True would not).
    assert json.dumps(by_yaml_rs, sort_keys=True) == json.dumps(by_pyyaml, sort_keys=True)


def _count_fast_reads(monkeypatch) -> list[str]:
    read: list[str] = []
    fast = yamlsafe.rust_loads()

    def counting(text: str) -> object:
        read.append(text)
        return fast(text)

    monkeypatch.setattr(cassette_format, "rust_loads", lambda: counting)
    return read


def test_a_cassette_the_plugin_wrote_is_read_fast_and_replays_the_same_bytes(monkeypatch):
    answer = {"id": "x", "choices": [{"message": {"content": "09"}}], "note": "1e3", "n": 9}
    text = cassettes.CassetteSerializer.serialize({"interactions": [_interaction(answer, '{"seed": "_0"}')]})
    read = _count_fast_reads(monkeypatch)
    parsed = cassettes.parse_cassette_text(text, source="c.yaml")
    assert read == [text]
    stored = parsed["interactions"][0]
    assert json.loads(stored["response"]["body"]["string"]) == answer
    assert json.loads(stored["request"]["body"]) == {"seed": "_0"}


def test_an_unmarked_cassette_is_read_by_pyyaml(monkeypatch):
    # Written before the mark existed (or by hand): ``09`` plain is text to YAML 1.1, a number to 1.2.
    text = cassettes.CassetteSerializer.serialize({"interactions": [_interaction({"code": "x"})]})
    old = text.replace(cassette_format.SAME_IN_YAML_1_2, "").replace("code: x", "code: 09")
    read = _count_fast_reads(monkeypatch)
    body = cassettes.parse_cassette_text(old, source="c.yaml")["interactions"][0]["response"]["body"]["string"]
    assert read == []
    assert json.loads(body) == {"code": "09"}


def test_a_marked_cassette_with_an_alias_is_still_refused(monkeypatch):
    text = cassettes.CassetteSerializer.serialize({"interactions": [_interaction({"a": "b"})]})
    bomb = text.replace("metadata", "chunk: &x AAAA\nmetadata", 1) if "metadata" in text else "chunk: &x AAAA\n" + text
    bomb = bomb.replace("a: b", "a: [*x, *x, *x]")
    read = _count_fast_reads(monkeypatch)
    with pytest.raises(cassettes.CassetteError, match=r"c\.yaml: uses a YAML alias \(\*name, repeating the value"):
        cassettes.parse_cassette_text(bomb, source="c.yaml")
    assert read == []


def test_a_marked_cassette_with_a_tag_is_read_by_pyyaml(monkeypatch):
    # vcrpy's own cassettes store binary bodies as !!binary; yaml-rs would hand back the base64 text.
    text = cassettes.CassetteSerializer.serialize({"interactions": [_interaction({"a": "b"})]})
    tagged = text.replace("      json:\n        a: b\n", "      string: !!binary aGVsbG8=\n")
    assert tagged != text
    read = _count_fast_reads(monkeypatch)
    body = cassettes.parse_cassette_text(tagged, source="c.yaml")["interactions"][0]["response"]["body"]["string"]
    assert body == b"hello" and read == []


def test_without_yaml_rs_pyyaml_reads_the_same(monkeypatch):
    text = cassettes.CassetteSerializer.serialize({"interactions": [_interaction({"v": ["09", "_0", 1.5]})]})
    fast = cassettes.parse_cassette_text(text, source="c.yaml")
    monkeypatch.setattr(cassette_format, "rust_loads", lambda: None)
    assert cassettes.parse_cassette_text(text, source="c.yaml") == fast


def test_a_marked_cassette_cut_off_or_broken_gets_the_same_one_line_error():
    text = cassettes.CassetteSerializer.serialize({"interactions": [_interaction({"a": "b"})]})
    broken = text.replace("  response:", "  response: [", 1)
    with pytest.raises(cassettes.CassetteError, match=r"^c\.yaml:\d+: not valid YAML \(truncated or corrupt\?\)"):
        cassettes.parse_cassette_text(broken, source="c.yaml")


#: What the fast path must leave to PyYAML, as a regular expression: a tag or anchor where a value
#: starts, or a complex key. ``has_tag_anchor_or_complex_key`` finds the same without scanning the text with one.
UNUSUAL = re.compile(r"(?:^|[\s\[{,])[!&]|^[ \t-]*\?[ \t\n]", re.MULTILINE)


@SETTINGS
@given(st.text(alphabet=" \t\r\n\x85\u2028\x0b-?!&[{,:ab\"'", max_size=40))
@example("!!binary x")
@example("a: &x 1")
@example("- ? k\n")
@example("a?b !c")
def test_the_unusual_check_finds_whatever_the_pattern_finds(text):
    # It may send a file to PyYAML that the pattern would not (a '?' ending the text); never the reverse.
    if UNUSUAL.search(text):
        assert yamlsafe.has_tag_anchor_or_complex_key(text)
    elif not text.rstrip(" \t-").endswith("?"):
        assert not yamlsafe.has_tag_anchor_or_complex_key(text)


# ---- anyint.yaml: yaml-rs reads a config only where PyYAML would read it the same

WORDS = st.sampled_from([
    "yes", "No", "on", "OFF", "y", "true", "False", "null", "~", "", "09", "017", "0o17", "0x1F", "1_000", "1:30",
    "1e3", "1.5e3", "1.5e+3", "-.5", ".5", "1.", "+1", "-0", "2026-11-26", "2026-11-26 10:00:00", "<<", "=", ".inf",
    "-.Inf", ".NaN", "gpt-5-mini", "qwen3-max", "https://gateway.api.anyint.ai", "system[1].text", "a b", "0.25",
    "10", "429", "#x", "a #b", "'q'", '"d"', '"e\\u00e9"', "'it''s'", "[a, 09]", "{input: 0.25, output: 1e3}",
    "*a", "&a x", "!!str 1", "? k", "|\n  block", "a\u2028b", "x\x85",
])


@st.composite
def config_texts(draw):
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        key = draw(WORDS | st.text(alphabet="abc_-09.", min_size=1, max_size=6))
        value = draw(WORDS | st.text(alphabet="abc _-09.:#'\"", max_size=8))
        if draw(st.booleans()):
            lines.append(f"{key}:\n  - {value}\n  - {draw(WORDS)}")
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(config_texts())
@example("version: 1\nroutes:\n  chat: {family: openai, primary: gpt-5-mini, fallbacks: [qwen3-max]}\n")
@example("a: 017\n")
@example("a: 1e3\n")
@example("on: x\n")
@example("a: 1\na: 2\n")
def test_a_config_yaml_rs_reads_is_what_pyyaml_reads(text):
    plain, data = yamlsafe.read_plain(text)
    try:
        expected = yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - PyYAML raises ValueError for some (``0b_``)
        assert not plain  # PyYAML names the problem
        return
    if plain:
        assert repr(data) == repr(expected)  # repr: nan == nan


def test_the_example_config_is_read_without_pyyaml():
    text = open(os.path.join(os.path.dirname(__file__), "..", "examples", "anyint.yaml"), encoding="utf-8").read()
    assert yamlsafe.read_plain(text) == (True, yaml.safe_load(text))
