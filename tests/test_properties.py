"""§14 property tests: arbitrary input gives a result or one clear error, never a surprise.

For the five parsers a user's files and a gateway's bytes go through — the config loader, the
cassette loader, the SSE parser, the contract index and the shape fingerprint — hypothesis throws
arbitrary text, bytes and structured-but-wrong documents at them. Each must return a usable result
or raise its own error type with one line that names the file; and where a result comes back,
it must be one the plugin can use (a cassette that loads also replays, a stream splits losslessly).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pytest_anyint import cassettes, contracts, sse
from pytest_anyint import config as config_module
from pytest_anyint.drift import shape as drift
from pytest_anyint.families import FAMILY_NAMES
from pytest_anyint.kinds import FAULT_KINDS
from pytest_anyint.text import model_slug

#: ANYINT_PROPERTY_EXAMPLES=5000 for a deep run; the default keeps the suite fast.
SETTINGS = settings(
    max_examples=int(os.environ.get("ANYINT_PROPERTY_EXAMPLES", "150")), deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

# --------------------------------------------------------------------------- strategies

#: Characters that make YAML interesting: structure, anchors, tags, quotes, block scalars.
YAML_TEXT = st.text(
    alphabet=st.sampled_from(list("ab1:{}[]-,&*!|>'\"#%@`?<= \n\t.") + ["\r", "\x00", "\ufeff", "é", "\U0001f600"]),
    max_size=80,
)
ANY_TEXT = st.one_of(YAML_TEXT, st.text(max_size=120))
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 700), st.floats(), st.text(max_size=12),
    st.sampled_from(["gpt-5-mini", "a/b", "a_b", "", " ", "openai", "timeout", "2xx", "*", "/openai/v1/chat/completions"]),
)
JUNK = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.one_of(st.text(max_size=6), st.integers(0, 3)), inner, max_size=3),
    max_leaves=8,
)


#: Junk a YAML mapping can have as a key (``1:``, ``true:``, ``~:``).
KEY_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=6))


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a document, so one value anywhere in it can be changed."""
    found: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((node, key))
            found += _slots(value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((node, index))
            found += _slots(value)
    return found


@st.composite
def almost(draw: Any, valid: st.SearchStrategy, most: int = 2) -> tuple[Any, int]:
    """A valid document with up to ``most`` things wrong in it (a value swapped for junk, a key
    removed or added), and how many: deep enough to reach every later check, wrong in any place."""
    document = copy.deepcopy(draw(valid))
    changes = draw(st.integers(0, most))
    for _ in range(changes):
        slots = _slots(document)
        if not slots:
            return draw(JUNK), changes
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            container[key] = draw(JUNK)
        elif action == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[draw(KEY_JUNK)] = draw(JUNK)
        else:
            container.append(draw(JUNK))
    return document, changes


MODELS = st.sampled_from(["gpt-5-mini", "deepseek-v3.2-exp", "org/m", "org_m", "ORG_M", "claude-haiku-4-5"])
FAULTS = [429, 500, 503, 529, 400, 401, *FAULT_KINDS]


@st.composite
def valid_policy(draw: Any) -> dict[str, Any]:
    sides = draw(st.lists(st.booleans(), min_size=len(FAULTS), max_size=len(FAULTS)))
    policy = {
        "fallback_on": [f for f, side in zip(FAULTS, sides) if side],
        "never_fallback_on": [f for f, side in zip(FAULTS, sides) if not side],
    }
    policy.update(draw(st.fixed_dictionaries({}, optional={"require_fallback_log": st.booleans(), "max_attempts_per_model": st.integers(1, 5)})))
    return policy


VALID_ROUTE = st.fixed_dictionaries(
    {"family": st.sampled_from(FAMILY_NAMES), "primary": MODELS},
    optional={
        "fallbacks": st.lists(st.one_of(MODELS, st.fixed_dictionaries({"model": MODELS}, optional={"family": st.sampled_from(FAMILY_NAMES)})), max_size=3),
        "optimize": st.sampled_from(["cost", "latency", "quality", "reliability"]),
        "policy": valid_policy(),
        "output_schema": st.sampled_from(["schema.json", "missing.json", "a\x00b"]),
        "max_latency_s": st.floats(0.1, 10),
        "max_cost_per_call_usd": st.floats(0.0001, 1),
        "match_ignore": st.lists(st.sampled_from(["metadata.run_id", "$.messages[0].content", "messages[*].content"]), max_size=2),
        "check_models": st.booleans(),
        "cross_family": st.booleans(),
        "emulator": st.fixed_dictionaries({}, optional={"reply": st.one_of(st.text(max_size=8), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))}),
    },
)
VALID_CONFIG = st.fixed_dictionaries(
    {"version": st.just(1), "routes": st.dictionaries(st.sampled_from(["extract", "chat", "x.y", "a-1"]), VALID_ROUTE, min_size=1, max_size=3)},
    optional={
        "gateway": st.fixed_dictionaries({}, optional={"base_url": st.just("https://gw.example"), "api_key_env": st.just("KEY")}),
        "policy": valid_policy(),
        "pricing": st.dictionaries(MODELS, st.fixed_dictionaries({"input": st.floats(0, 9), "output": st.floats(0, 9)}, optional={"cached_input": st.floats(0, 9)}), max_size=2),
    },
)


def dump(document: object) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def one_line_naming(error: Exception, name: str) -> None:
    message = str(error)
    assert "\n" not in message and "\r" not in message, f"more than one line: {message!r}"
    assert message.startswith(name), f"does not start with the file: {message!r}"


# --------------------------------------------------------------------------- config loader


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("properties")
    (path / "schema.json").write_text('{"type": "object"}')
    return path


def load_config_text(workdir: Path, data: str | bytes) -> config_module.AnyIntConfig | None:
    path = workdir / "anyint.yaml"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    try:
        return config_module.load_config(path, environ={})
    except config_module.ConfigError as error:
        one_line_naming(error, str(path))
        return None


@SETTINGS
@given(text=st.one_of(ANY_TEXT, st.binary(max_size=60)))
@example(text="? [a]\n: 1\n")  # an unhashable key
@example(text="version: 1\nroutes: {a: {family: openai, primary: x}}\n1: x\nfoo: y\n")  # keys of mixed types
@example(text="version: 1\nroutes: {a: {family: openai, primary: x}}\ntrue: x\n")
def test_config_loader_on_arbitrary_text(workdir, text):
    load_config_text(workdir, text)


@SETTINGS
@given(case=almost(VALID_CONFIG))
@example(case=({"version": 1, "routes": {"a": {"family": "openai", "primary": "x", "output_schema": "a\x00b"}}}, 1))
@example(case=({"version": 1, "routes": {"a": {"family": "openai", "primary": "org/m", "fallbacks": ["org_m"]}}}, 0))
@example(case=({"version": 1, "routes": {"a": {"family": "openai", "primary": "x"}}, "a\nb": 1}, 1))  # a key with a line break
@example(case=({"version": 1, "routes": {"a": {"family": "openai", "primary": "x"}}, "pricing": {"": None, 0: None}}, 1))  # found by hypothesis
def test_config_loader_on_documents_that_are_almost_right(workdir, case):
    document, _ = case
    loaded = load_config_text(workdir, dump(document))
    if loaded is None:
        return
    for route in loaded.routes.values():  # what loads is what the rest of the plugin relies on
        models = [m.model for m in route.chain]
        assert isinstance(route.label, str) and route.family in FAMILY_NAMES
        assert len({model_slug(m) for m in models}) == len(models), "two models would share one cassette"
        assert all(isinstance(m, str) and m for m in models)
        policy = route.policy
        assert not set(policy.fallback_on) & set(policy.never_fallback_on)
        assert all(kind in policy.fallback_on or kind in policy.never_fallback_on for kind in FAULT_KINDS)
        assert route.output_schema is None or route.output_schema.is_file()
        assert route.emulator_reply is None or (isinstance(route.emulator_reply, str) and route.family not in ("media", "music"))


# --------------------------------------------------------------------------- cassette loader

HEADERS = st.dictionaries(
    st.sampled_from(["content-type", "x-a", "retry-after", "Content-Length"]),
    st.one_of(st.text(max_size=10), st.lists(st.text(max_size=10), min_size=1, max_size=2)),
    max_size=3,
)
VALID_BODY = st.one_of(
    st.none(),
    st.fixed_dictionaries({"json": JUNK}),
    st.fixed_dictionaries({"sse": st.lists(st.text(max_size=10), max_size=3)}),
    st.fixed_dictionaries({"string": st.text(max_size=10)}),
    st.fixed_dictionaries({"base64": st.binary(max_size=10).map(lambda b: base64.b64encode(b).decode())}),
)
VALID_INTERACTION = st.fixed_dictionaries(
    {
        "request": st.fixed_dictionaries(
            {"method": st.sampled_from(["GET", "POST"]), "uri": st.just("https://gateway.api.anyint.ai/openai/v1/models")},
            optional={"headers": HEADERS, "body": VALID_BODY},
        ),
        "response": st.fixed_dictionaries(
            {"status": st.fixed_dictionaries({"code": st.sampled_from([200, 404, 529])}, optional={"message": st.just("OK")})},
            optional={"headers": HEADERS, "body": VALID_BODY, "timing": st.fixed_dictionaries({"total_s": st.floats(0, 1)})},
        ),
    }
)
VALID_CASSETTE = st.fixed_dictionaries(
    {"interactions": st.lists(VALID_INTERACTION, max_size=3), "version": st.just(1)},
    optional={"metadata": st.fixed_dictionaries({"route": st.just("extract"), "model": MODELS})},
)


def check_replayable(parsed: dict) -> None:
    """What parses must replay: vcrpy builds the request, httpx builds the response."""
    import httpx
    from vcr.request import Request

    assert isinstance(parsed["metadata"], dict)
    for interaction in parsed["interactions"]:
        request, response = interaction["request"], interaction["response"]
        assert isinstance(request["method"], str) and isinstance(request["uri"], str)
        assert isinstance(request["body"], bytes) and isinstance(response["body"]["string"], bytes)
        code = response["status"]["code"]  # compared and served as an HTTP status by the interceptor
        assert type(code) is int and 100 <= code <= 599
        Request._from_dict(dict(request))
        headers = cassettes.header_items(response["headers"])  # as the interceptor serves them
        httpx.Response(response["status"]["code"], headers=headers, content=response["body"]["string"])
        # Replay hands these to the body matcher and the contract check instead of parsing the
        # bytes again, so they must be exactly what parsing the bytes gives (key types included).
        for value, raw in ((response["body"].get("json"), response["body"]["string"]), (interaction.get("request_json"), request["body"])):
            if value is not None:
                assert repr(value) == repr(json.loads(raw))  # repr: json.dumps would hide a key that is not text


@SETTINGS
@given(text=ANY_TEXT)
@example(text="\x00")  # a reader error whose text spans two lines
@example(text="interactions:\n- request: ab\n  response: {}\nversion: 1\n")
@example(text="interactions: []\nmetadata: [1]\nversion: 1\n")
def test_cassette_loader_on_arbitrary_text(text):
    try:
        parsed = cassettes.parse_cassette_text(text, source="cassettes/c.yaml")
    except cassettes.CassetteError as error:
        one_line_naming(error, "cassettes/c.yaml")
    else:
        check_replayable(parsed)


@SETTINGS
@given(case=almost(VALID_CASSETTE, most=3))
@example(case=({"interactions": [{"request": {"method": "GET", "uri": "https://x/openai/v1/models"},
                                  "response": {"status": {"code": 200}, "headers": {"x-name": "Caf\u00e9 \U0001f600"}}}],
                "version": 1}, 0))  # a header value that is not ASCII
@example(case=({"interactions": [{"request": {"method": "GET", "uri": "https://x/openai/v1/models"},
                                  "response": {"status": {"code": 200}, "headers": {"caf\u00e9": "x"}}}],
                "version": 1}, 1))  # a header name that is not ASCII
@example(case=({"interactions": [{"request": "ab", "response": {}}], "version": 1}, 1))
@example(case=({"interactions": [{"request": {"method": "GET", "uri": "u", "headers": {"content-type": []}},
                                  "response": {"status": {"code": 200}}}], "version": 1}, 1))  # found by hypothesis
@example(case=({"interactions": [], "metadata": [1], "version": 1}, 1))
@example(case=({"interactions": [{"request": {"method": "GET", "uri": "u"}, "response": {"status": {"code": 600}}}], "version": 1}, 1))
@example(case=({"interactions": [{"request": {"method": "POST", "uri": "u", "body": {"json": {"a": [{1: "x"}]}}},
                                  "response": {"status": {"code": 200}, "body": {"json": {"b": {"2": {True: 1}}}}}}],
                "version": 1}, 1))  # YAML keys that JSON turns into text
def test_cassette_loader_on_documents_that_are_almost_right(case):
    document, changes = case
    try:
        parsed = cassettes.parse_cassette_text(dump(document), source="cassettes/c.yaml")
    except cassettes.CassetteError as error:
        assert changes, f"a valid cassette was refused: {error}"
        one_line_naming(error, "cassettes/c.yaml")
    else:
        check_replayable(parsed)


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_cassette_file_of_arbitrary_bytes(workdir, raw):
    path = workdir / "c.yaml"
    path.write_bytes(raw)
    try:
        cassettes.read_cassette(path)
    except cassettes.CassetteError as error:
        one_line_naming(error, str(path))


CONTENT_TYPES = st.sampled_from([None, "application/json", "application/json; charset=utf-8", "text/event-stream", "text/plain", "application/octet-stream"])


@SETTINGS
@given(
    bodies=st.lists(st.tuples(st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode), JUNK.map(lambda v: json.dumps(v).encode())), CONTENT_TYPES), min_size=1, max_size=3),
    status=st.integers(100, 599),
)
def test_every_body_survives_the_round_trip_through_a_cassette(bodies, status):
    from vcr.request import Request
    from vcr.serialize import serialize

    cassette = {
        "requests": [Request("POST", "https://gateway.api.anyint.ai/openai/v1/chat/completions", body, {"content-type": ct} if ct else {}) for body, ct in bodies],
        "responses": [
            {"status": {"code": status, "message": "x"}, "headers": {"content-type": [ct]} if ct else {}, "body": {"string": body}}
            for body, ct in bodies
        ],
    }
    parsed = cassettes.parse_cassette_text(serialize(cassette, cassettes.CassetteSerializer), source="c.yaml")
    for (body, content_type), interaction in zip(bodies, parsed["interactions"]):
        served = interaction["response"]["body"]["string"]
        stored = cassettes.encode_body(body, content_type)
        if "json" in stored:  # structured for review: the same JSON value, served in canonical form
            assert json.loads(served) == json.loads(body)
            # and carried beside the bytes for the contract check, so replay parses it once
            assert repr(interaction["response"]["body"]["json"]) == repr(json.loads(served))
        else:  # sse, string and base64 keep every byte
            assert served == body
        assert interaction["response"]["headers"]["content-length"] == [str(len(served))]


# --------------------------------------------------------------------------- SSE parser

NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])
LINE_TEXT = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=15)


def normalized(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from(list("data: event:x{}\r\n[DONE]")), max_size=80) | st.text(max_size=80))
@example(text="event: x\r\ndata: y\r\n\r\n")  # CRLF lines: one event, not two
@example(text="data: a\n\nda")  # an unterminated tail after a complete event
def test_sse_split_is_lossless_and_cuts_only_at_blank_lines(text):
    pieces = sse.split_raw(text)
    assert "".join(pieces) == text
    for piece in pieces[:-1]:
        assert normalized(piece).endswith("\n\n") and "\n\n" not in normalized(piece)[:-2]
    if pieces:
        assert "\n\n" not in normalized(pieces[-1])[:-2]
    assert sse.is_terminated(text) == normalized(text).endswith("\n\n")
    events = sse.parse(text)
    assert all(event.raw in pieces for event in events)


@SETTINGS
@given(
    events=st.lists(st.tuples(st.one_of(st.none(), LINE_TEXT.filter(lambda t: t.strip() == t and t)), st.lists(LINE_TEXT, min_size=1, max_size=3)), max_size=5),
    newline=NEWLINES,
    comments=st.booleans(),
)
def test_sse_events_written_with_any_line_ending_read_back_the_same(events, newline, comments):
    text = ""
    for name, lines in events:
        if comments:
            text += ": keep-alive" + newline
        if name is not None:
            text += f"event: {name}{newline}"
        text += "".join(f"data: {line}{newline}" for line in lines) + newline
    parsed = sse.parse(text)
    assert [(e.event, e.data) for e in parsed] == [(name, "\n".join(lines)) for name, lines in events]
    assert sse.is_terminated(text) == bool(events)


# --------------------------------------------------------------------------- contract index

VALID_ENTRY = st.fixed_dictionaries(
    {
        "family": st.just("openai"),
        "method": st.sampled_from(["POST", "*", ["GET", "POST"]]),
        "path": st.sampled_from(["/openai/v1/chat/completions", "/openai/v1/things/{id}", "*"]),
        "status": st.sampled_from(["2xx", "200", ["4xx", "5xx"]]),
        "confidence": st.sampled_from(["documented", "upstream", "assumed"]),
    },
    optional={
        "stream": st.sampled_from([True, False, "any"]),
        "schema": st.sampled_from(["s.json", "s.json#/$defs/a", "missing.json", "a\x00b"]),
        "event_schemas": st.dictionaries(st.sampled_from(["*", "message_start"]), st.sampled_from(["s.json", "nope.json"]), max_size=2),
        "grammar": st.sampled_from(["openai", "anthropic", "gemini"]),
        "published": st.booleans(),
        "name": st.text(max_size=8),
        "note": st.text(max_size=8),
    },
)
VALID_INDEX = st.fixed_dictionaries({"version": st.just(1), "entries": st.lists(VALID_ENTRY, max_size=3)})


SCHEMA = st.recursive(
    st.one_of(
        st.fixed_dictionaries({}, optional={"type": st.sampled_from(["object", "string", "integer", "objekt"])}),
        st.fixed_dictionaries({"pattern": st.sampled_from(["^a", "(", "[a-", "\\d+"])}),
        st.fixed_dictionaries({"$ref": st.sampled_from(["#/$defs/a", "#/$defs/missing", "other.json", "#"])}),
        st.fixed_dictionaries({"required": st.one_of(st.lists(st.text(max_size=3), max_size=2), JUNK)}),
        st.booleans(),
    ),
    lambda inner: st.fixed_dictionaries({}, optional={"properties": st.dictionaries(st.text(max_size=3), inner, max_size=2), "items": inner, "$defs": st.fixed_dictionaries({"a": inner}), "anyOf": st.lists(inner, min_size=1, max_size=2)}),
    max_leaves=6,
)


@SETTINGS
@given(case=almost(VALID_INDEX, most=2), schema=st.one_of(SCHEMA, JUNK), index_text=st.one_of(st.none(), st.none(), YAML_TEXT))
@example(case=({"entries": [{"family": "openai", 1: "x", "b": 2}]}, 1), schema={}, index_text=None)  # keys of mixed types
@example(case=({"entries": [{"family": "openai", "method": "POST", "path": "/x", "status": "2xx", "confidence": "assumed",
                             "schema": "a\x00b"}]}, 0), schema={}, index_text=None)
def test_contract_index_on_user_directories_that_are_almost_right(workdir, case, schema, index_text):
    document, _ = case
    directory = workdir / "contracts"
    directory.mkdir(exist_ok=True)
    (directory / "index.yaml").write_text(index_text if index_text is not None else dump(document))
    (directory / "s.json").write_text(json.dumps(schema))
    try:
        index = contracts.ContractIndex.load([directory])
    except contracts.ContractError as error:
        message = str(error)
        assert "\n" not in message and str(directory) in message, message
        return
    # A loaded index validates any answer without an exception of its own kind escaping.
    for path in ("/openai/v1/chat/completions", "/x/1"):
        for body in (b"{}", b'{"a": "b"}', b"[1]", b"data: {}\n\n"):
            try:
                index.validate(method="POST", path=path, status=200, content_type="application/json", body=body)
            except contracts.ContractError as error:  # a user schema that cannot be used, named
                assert "\n" not in str(error) and str(directory) in str(error)


PUBLISHED = contracts.ContractIndex.load().published_routes()
PATHS = st.one_of(
    st.sampled_from([route.split(" ", 1)[1] for route in PUBLISHED]).map(lambda p: p.replace("{", "").replace("}", "")),
    st.text(max_size=30).map(lambda t: "/" + t),
    st.text(max_size=30),
)


@SETTINGS
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "get", ""]),
    path=PATHS,
    status=st.integers(100, 599),
    content_type=st.one_of(CONTENT_TYPES, st.text(max_size=20)),
    body=st.one_of(st.binary(max_size=60), JUNK.map(lambda v: json.dumps(v).encode()), st.lists(JUNK.map(json.dumps), max_size=3).map(lambda xs: "".join(f"data: {x}\n\n" for x in xs).encode())),
)
def test_shipped_contracts_judge_any_answer_without_raising(method, path, status, content_type, body):
    index = contracts.session_index()
    found = index.validate(method=method, path=path, status=status, content_type=content_type, body=body, cassette="c.yaml", interaction=1)
    assert all(isinstance(v, contracts.Violation) and "\n" not in v.message for v in found)
    assert isinstance(index.is_published(method or "GET", path), bool)
    assert isinstance(index.closest_route(method or "GET", urllib.parse.quote(path, safe="/")), str)


# --------------------------------------------------------------------------- shape fingerprint


@SETTINGS
@given(
    status=st.one_of(st.none(), st.integers(100, 599)),
    content_type=st.one_of(CONTENT_TYPES, st.text(max_size=20)),
    body=st.one_of(st.none(), st.binary(max_size=80), st.text(max_size=80), JUNK.map(json.dumps), st.lists(JUNK.map(json.dumps), max_size=4).map(lambda xs: "".join(f"data: {x}\n\n" for x in xs))),
)
def test_fingerprint_of_any_answer_equals_itself(status, content_type, body):
    first = drift.ShapeFingerprint.of_response(status, content_type, body)
    assert drift.compare_fingerprints(first, first) == []
    assert drift.ShapeFingerprint.of_response(status, content_type, body) == first


@SETTINGS
@given(old=JUNK, new=JUNK, statuses=st.tuples(st.integers(100, 599), st.integers(100, 599)))
def test_fingerprints_of_any_two_answers_compare(old, new, statuses):
    a = drift.ShapeFingerprint.of_response(statuses[0], "application/json", json.dumps(old))
    b = drift.ShapeFingerprint.of_response(statuses[1], "application/json", json.dumps(new))
    changes = drift.compare_fingerprints(a, b)
    assert all(change.kind in (drift.BREAKING, drift.ADDITIVE) for change in changes)
    if isinstance(old, (dict, list)):
        assert a == drift.ShapeFingerprint.of_json(statuses[0], "application/json", json.loads(json.dumps(old)))
    assume(statuses[0] // 100 == statuses[1] // 100)
    if json.dumps(old) == json.dumps(new):  # the same document (False == 0 in Python, not in JSON)
        assert [c for c in changes if c.kind == drift.BREAKING] == []
