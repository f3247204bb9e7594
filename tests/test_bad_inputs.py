"""§14 bad input: each case of the catalogue in docs/troubleshooting.md, as a user meets it.

Every bad input ends in one line that names the file (or the test) and the cause: no traceback,
and the user's file is left as it was. Cases already covered elsewhere are listed in the docs with
the test that covers them (tests/test_core_loop.py, tests/test_recording.py).
"""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml

from pytest_anyint import cassettes

from .conftest import INI
from .helpers import APP_SCHEMA_ROUTE, OPENAI_TEST, assert_clear_failure, assert_output

ONE_CASE = "import pytest\n\n@pytest.mark.route('extract', models='primary')\ndef test_x(anyint_route):\n    pass\n"


# --------------------------------------------------------------------------- anyint.yaml


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "anyint.yaml: empty: expected a mapping with 'version: 1' and 'routes'", id="empty"),
        pytest.param("# nothing here yet\n", "anyint.yaml: empty: expected a mapping", id="only-comments"),
        pytest.param("- extract\n- chat\n", "anyint.yaml: expected a mapping with 'version: 1' and 'routes', got list", id="a-list"),
        pytest.param(
            "version: 1\nroutes:\n  extract: {family: openai, primary: gpt-5-mini, fallback: [deepseek-v3.2-exp]}\n",
            "anyint.yaml: routes.extract.fallback: unknown key 'fallback' (did you mean 'fallbacks'?)",
            id="unknown-key",
        ),
        pytest.param(
            "version: 1\nroute:\n  extract: {family: openai, primary: gpt-5-mini}\n",
            "anyint.yaml: route: unknown key 'route' (did you mean 'routes'?)",
            id="unknown-top-level-key",
        ),
        pytest.param(
            "version: 1\nroutes:\n  extract: {family: openai, primary: a, fallbacks: [{model: b, family: mistral}]}\n",
            "anyint.yaml: routes.extract.fallbacks[0].family: 'mistral' is not one of: openai, anthropic, gemini, media, music",
            id="unknown-fallback-family",
        ),
        pytest.param(
            "version: 1\nroutes:\n  extract: {family: openai, primary: a}\n  extract: {family: openai, primary: b}\n",
            "anyint.yaml:4: duplicate key 'extract': each key may appear once",
            id="duplicate-route",
        ),
        pytest.param(
            "version: 1\nroutes:\n  extract: {family: openai, primary: gpt-5-mini, fallbacks: [deepseek-v3.2-exp, gpt-5-mini]}\n",
            "anyint.yaml: routes.extract.fallbacks[1]: 'gpt-5-mini' is the primary; a fallback must be another model",
            id="fallback-equals-primary",
        ),
        pytest.param(
            "version: 1\nroutes:\n  extract: {family: openai, primary: org/model-a, fallbacks: [org_model-a]}\n",
            "anyint.yaml: routes.extract.fallbacks[0]: 'org_model-a' and 'org/model-a' share the cassette name "
            "org_model-a.yaml",
            id="models-sharing-a-cassette-name",
        ),
        pytest.param(
            "version: 1\nroutes:\n  2025: {family: openai, primary: gpt-5-mini}\n",
            "anyint.yaml: routes: route label 2025 must be text",
            id="route-label-not-text",
        ),
        pytest.param(
            "version: 1\nroutes:\n  extract: {family: openai, primary: gpt-5-mini}\n? [a, b]\n: 1\n",
            "anyint.yaml:4: a key must be a plain name, not a list",
            id="list-as-key",
        ),
        pytest.param(
            "version: 1\nroutes:\n  extract: {family: openai, primary: gpt-5-mini}\n1: x\n",
            "anyint.yaml: 1: unknown key '1'",
            id="number-as-key",
        ),
        pytest.param(
            "version: 1\nroutes:\n  extract:\n    family: openai\n    primary: gpt-5-mini\n   fallbacks: []\n",
            "anyint.yaml:6: not valid YAML: did not find expected key",
            id="bad-indentation",
        ),
        pytest.param(
            "version: 1\nroutes:\n  extract: {family: openai, primary: gpt-5-mini, max_latency_s: 0b_}\n",
            "anyint.yaml: not valid YAML: a value PyYAML cannot read (invalid literal for int() with base 2: '')",
            id="value-pyyaml-cannot-construct",
        ),
        pytest.param(
            "version: 1\nroutes:\n  extract: {family: openai, primary: gpt-5-mini}\nroutes: {}\n",
            "anyint.yaml:4: duplicate key 'routes': each key may appear once",
            id="duplicate-key-of-a-plain-file",
        ),
        pytest.param(
            "version: 1\npolicy: {fallback_on: [503, timeout], never_fallback_on: [401]}\n"
            "routes:\n  extract: {family: openai, primary: gpt-5-mini}\n",
            "anyint.yaml: policy: fault kind 'connect' is in neither fallback_on nor never_fallback_on; "
            "every fault kind (timeout, connect, reset, malformed-json, truncated-stream, stream-error, empty-body) "
            "must be in exactly one",
            id="fault-kind-in-neither-list",
        ),
        pytest.param(
            "version: 1\nroutes:\n  extract:\n    family: openai\n    primary: gpt-5-mini\n"
            "    policy: {fallback_on: [429, timeout], never_fallback_on: [429]}\n",
            "anyint.yaml: routes.extract.policy: 429 is in both fallback_on and never_fallback_on; it must be in exactly one",
            id="status-in-both-lists",
        ),
    ],
)
def test_config_mistakes_are_one_line_naming_file_and_key(project, text, message):
    (project.root / "anyint.yaml").write_text(text)
    project.tests(test_app=ONE_CASE)
    result = project.replay()
    assert_clear_failure(result, message)
    assert (project.root / "anyint.yaml").read_text() == text


def test_a_config_that_is_not_text_is_one_line(project):
    (project.root / "anyint.yaml").write_bytes(b"version: 1\nroutes: \xff\xfe\x00\n")
    project.tests(test_app=ONE_CASE)
    assert_clear_failure(project.pytester.runpytest("--anyint-record=once"), "anyint.yaml: not UTF-8 text: expected a YAML file")


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('models=["gpt-5-mini", "gpt-5-mini"]', "route 'extract': models=: 'gpt-5-mini' is listed twice"),
        ('faults=[503, "timeout", 503]', "route 'extract': faults=: 503 is listed twice"),
    ],
)
def test_a_marker_naming_a_case_twice_fails_collection(project, marker, message):
    # Two cases would share one id and one cassette.
    project.tests(test_app=f"import pytest\n\n@pytest.mark.route('extract', {marker})\ndef test_x(anyint_route):\n    pass\n")
    assert_clear_failure(project.replay(), message)


# --------------------------------------------------------------------------- the plugin's API called wrongly

MISUSED_API = """
import pytest

@pytest.fixture(scope="module")
def client_kwargs(anyint_gateway):
    return anyint_gateway.sdk_kwargs("opnai")

@pytest.mark.route("extract", models="primary")
def test_sdk_kwargs(anyint_gateway):
    anyint_gateway.sdk_kwargs("opnai")

@pytest.mark.route("extract", models="primary")
def test_base_url(anyint_gateway):
    anyint_gateway.base_url("Anthropic")

@pytest.mark.route("extract", models="primary")
def test_headers(anyint_gateway):
    anyint_gateway.headers("mistral")

@pytest.mark.route("extract", models="primary")
def test_in_a_fixture(client_kwargs):
    pass

@pytest.mark.route("extract", models="primary")
def test_inject_outside_the_route(anyint_faults):
    anyint_faults.inject("gpt-4o", status=503)

@pytest.mark.route("extract", models="primary")
def test_inject_a_bad_status(anyint_faults):
    anyint_faults.inject("gpt-5-mini", status=200)

@pytest.mark.route("extract", models="primary")
def test_inject_still_raises_value_error(anyint_faults):
    with pytest.raises(ValueError, match="is not in route"):
        anyint_faults.inject("gpt-4o", status=503)
"""


def _failure_section(result: pytest.RunResult, test: str) -> list[str]:
    """The lines pytest printed for one failed (or errored) test, between its header and the next."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("_") and f" {test}" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("_", "=")))
    return [line for line in lines[start + 1 : end] if line.strip()]


def test_a_wrong_call_of_the_gateway_or_the_fault_plan_fails_with_its_one_line(project):
    project.tests(test_app=MISUSED_API)
    result = project.replay("-p", "no:randomly")
    result.assert_outcomes(failed=5, errors=1, passed=1)
    families = "openai, anthropic, gemini, media, music"
    expected = {
        "test_sdk_kwargs": f"anyint_gateway.sdk_kwargs('opnai'): unknown family: 'opnai' is not one of: {families} "
        "(did you mean 'openai'?)",
        "test_base_url": f"anyint_gateway.base_url('Anthropic'): unknown family: 'Anthropic' is not one of: {families} "
        "(did you mean 'anthropic'?)",
        "test_headers": f"anyint_gateway.headers('mistral'): unknown family: 'mistral' is not one of: {families}",
        "test_in_a_fixture": f"anyint_gateway.sdk_kwargs('opnai'): unknown family: 'opnai' is not one of: {families} "
        "(did you mean 'openai'?)",
        "test_inject_outside_the_route": "inject('gpt-4o'): gpt-4o is not in route 'extract' (chain: gpt-5-mini, "
        "deepseek-v3.2-exp), so no call of this test can reach it",
        "test_inject_a_bad_status": "status= must be an HTTP error status (400-599), got 200",
    }
    for test, line in expected.items():
        assert _failure_section(result, test) == [line], test
    output = result.stdout.str() + result.stderr.str()
    for trace in ("Traceback", "KeyError", "cases.py", "plan.py", "raise "):
        assert trace not in output, trace


# --------------------------------------------------------------------------- cassettes

CASSETTE = "test_app/test_extract/extract/gpt-5-mini.yaml"


def recorded(project) -> tuple:
    project.tests(test_app=OPENAI_TEST)
    project.record("-k", "primary").assert_outcomes(passed=1)
    path = project.cassette(CASSETTE)
    return path, path.read_bytes()


def test_a_cassette_truncated_at_a_line_break_says_it_is_incomplete(project):
    path, whole = recorded(project)
    lines = whole.decode().splitlines(keepends=True)
    cut = "".join(lines[: len(lines) * 2 // 3])  # still valid YAML, but the end is gone
    path.write_text(cut)
    result = project.replay("-k", "primary")
    result.assert_outcomes(errors=1)
    assert_clear_failure(
        result,
        f"cassettes/{CASSETTE}: incomplete cassette: no 'version: 1' line, which pytest-anyint writes last "
        "(the file is truncated or was not written by pytest-anyint); re-record it",
    )
    assert path.read_text() == cut
    # Recording over it is the way out (rewrite replaces whatever is there).
    project.pytester.runpytest("--anyint-record=rewrite", "--anyint-emulator", "-k", "primary").assert_outcomes(passed=1)
    project.replay("-k", "primary").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text: not a pytest-anyint cassette", id="binary"),
        pytest.param(
            json.dumps({"log": {"version": "1.2", "entries": []}}).encode(),
            "not a pytest-anyint cassette (expected a mapping with 'interactions')",
            id="a-HAR-file",
        ),
        pytest.param(
            b"interactions:\n- request: {method: POST, uri: 'https://x/openai/v1/chat/completions', body: null, headers: {}}\n"
            b"  response: {status: 200, body: 'ok'}\nversion: 1\n",
            "interaction #1: response.status.code must be an HTTP status (100-599), got None "
            "(this file may come from another tool, or be truncated or hand-edited)",
            id="another-tools-shape",
        ),
        pytest.param(
            b"interactions: []\nmetadata: [route, extract]\nversion: 1\n",
            "metadata must be a mapping, got list",
            id="metadata-not-a-mapping",
        ),
    ],
)
def test_a_cassette_that_is_not_ours_is_one_line_and_left_alone(project, content, message):
    path = project.cassette(CASSETTE)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    project.tests(test_app=OPENAI_TEST)
    result = project.pytester.runpytest("--anyint-record=once", "--anyint-emulator", "-k", "primary")
    result.assert_outcomes(errors=1)
    assert_clear_failure(result, f"cassettes/{CASSETTE}", message)
    assert path.read_bytes() == content  # once never overwrites a file it cannot read


SHARED_MODEL = """
version: 1
routes:
  extract:
    family: openai
    primary: gpt-5-mini
  classify:
    family: openai
    primary: gpt-5-mini
"""

SAME_REQUEST = """
import pytest

def ask(anyint_route):
    with anyint_route.client() as client:
        client.post("/chat/completions", json={"model": anyint_route.model,
                    "messages": [{"role": "user", "content": "x"}]}).raise_for_status()

@pytest.mark.route("extract")
def test_same(anyint_route):
    ask(anyint_route)

@pytest.mark.route("classify")
def test_other(anyint_route):
    ask(anyint_route)
"""


def test_a_cassette_recorded_for_another_route_fails_even_when_its_requests_match(project):
    project.config(SHARED_MODEL)
    project.tests(test_app=SAME_REQUEST)
    project.record().assert_outcomes(passed=2)
    mine = project.cassette("test_app/test_same/extract/gpt-5-mini.yaml")
    mine.write_bytes(project.cassette("test_app/test_other/classify/gpt-5-mini.yaml").read_bytes())
    result = project.replay()
    result.assert_outcomes(passed=1, failed=1)  # the request matches; the cassette is still not this case's
    assert_output(
        result,
        "test_app.py::test_same[extract-primary-gpt-5-mini]: cassette cassettes/test_app/test_same/extract/gpt-5-mini.yaml "
        "was recorded for route 'classify' model 'gpt-5-mini', not for this case (route 'extract' model 'gpt-5-mini'); "
        "a copied or renamed cassette never stands in for another case. Re-record it with: "
        'pytest --anyint-record=rewrite "test_app.py::test_same[extract-primary-gpt-5-mini]"',
    )
    # new_episodes must not append this case's exchanges to the other case's cassette
    before = mine.read_bytes()
    project.pytester.runpytest("--anyint-record=new_episodes", "--anyint-emulator", "-k", "same").assert_outcomes(failed=1)
    assert mine.read_bytes() == before
    # rewrite is the fix it names
    project.pytester.runpytest("--anyint-record=rewrite", "--anyint-emulator", "-k", "same").assert_outcomes(passed=1)
    project.replay().assert_outcomes(passed=2)


# --------------------------------------------------------------------------- user schemas





@pytest.mark.parametrize(
    ("schema", "message"),
    [
        pytest.param('{"type": "objekt"}', "invoice.schema.json: not a valid JSON Schema: at /type:", id="unknown-type"),
        pytest.param(
            '{"type": "object", "properties": {"total": {"type": "string", "pattern": "(["}}}',
            "invoice.schema.json: not a valid JSON Schema: at /properties/total/pattern: '([' is not a 'regex'",
            id="broken-regex",
        ),
        pytest.param(
            '{"type": "object", "properties": {"total": {"$ref": "#/$defs/money"}}}',
            "invoice.schema.json: not a valid JSON Schema: $ref '#/$defs/money' points to nothing in the file",
            id="dangling-ref",
        ),
        pytest.param('{"type": "object",', "invoice.schema.json: not valid JSON", id="not-json"),
        pytest.param("[1, 2]", "invoice.schema.json: not a JSON Schema (expected an object, got list)", id="not-an-object"),
    ],
)
def test_an_invalid_output_schema_fails_the_routes_cases_before_any_call(project, schema, message):
    project.config(APP_SCHEMA_ROUTE)
    (project.root / "schemas").mkdir()
    (project.root / "schemas" / "invoice.schema.json").write_text(schema)
    project.tests(test_app=OPENAI_TEST)
    result = project.pytester.runpytest("--anyint-record=once", "--anyint-emulator", "-k", "primary")
    result.assert_outcomes(errors=1)
    assert_clear_failure(result, message)
    assert project.cassettes() == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        pytest.param({}, "index.yaml: not found: a contracts directory needs an index.yaml", id="no-index"),
        pytest.param(
            {"index.yaml": "entries:\n- {family: openai, method: POST, path: /openai/v1/chat/completions, status: 2xx,"
                           " schema: chat.json, confidence: sure}\n", "chat.json": "{}"},
            "index.yaml: entry #1: confidence must be one of documented, upstream, assumed, got 'sure'",
            id="bad-confidence",
        ),
        pytest.param(
            {"index.yaml": "entries:\n- {family: openai, method: POST, path: /openai/v1/chat/completions, status: 2xx,"
                           " schema: chat.json, confidence: assumed}\n", "chat.json": '{"required": "id"}'},
            "chat.json: not a valid JSON Schema: at /required: 'id' is not of type 'array'",
            id="invalid-schema",
        ),
        pytest.param(
            {"index.yaml": "entries:\n- {family: openai, method: POST, path: /openai/v1/chat/completions, status: 2xx,"
                           " schema: missing.json, confidence: assumed}\n"},
            "index.yaml: entry #1: schema file missing.json not found",
            id="missing-schema-file",
        ),
    ],
)
def test_a_broken_user_contracts_directory_is_one_line(project, files, message):
    contracts = project.root / "my-contracts"
    contracts.mkdir()
    for name, text in files.items():
        (contracts / name).write_text(text)
    project.pytester.makeini(INI + "anyint_contracts_dir = my-contracts\n")
    project.tests(test_app=OPENAI_TEST)
    result = project.pytester.runpytest("--anyint-record=once", "--anyint-emulator", "-k", "primary")
    result.assert_outcomes(errors=1)
    assert_clear_failure(result, message)


# --------------------------------------------------------------------------- bodies

CANNED = """
import pytest

@pytest.fixture
def canned(request):
    def canned(body, content_type):
        if request.config.getoption("--anyint-record"):
            request.getfixturevalue("anyint_emulator").reply_with(body, content_type=content_type)
    return canned

@pytest.mark.route("extract", models="primary")
def test_body(canned, anyint_route):
    canned(BODY, CONTENT_TYPE)
    with anyint_route.client() as client:
        response = client.post("/chat/completions", json={"model": anyint_route.model, "messages": [{"role": "user", "content": "x"}]})
    assert response.content == BODY
"""


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(bytes(range(256)) * 4, "application/octet-stream", id="binary"),
        pytest.param('{"text": "caf\u00e9"}'.encode("latin-1"), "application/json", id="latin-1-json"),
    ],
)
def test_a_body_that_is_not_utf8_round_trips_as_base64(project, body, content_type):
    project.tests(test_app=f"BODY = {body!r}\nCONTENT_TYPE = {content_type!r}\n" + textwrap.dedent(CANNED))
    # A chat answer that is not JSON breaks its contract; here only the round trip is the question.
    project.record("--anyint-contracts=off").assert_outcomes(passed=1)
    stored = yaml.safe_load(project.cassette("test_app/test_body/extract/gpt-5-mini.yaml").read_text())
    assert list(stored["interactions"][0]["response"]["body"]) == ["base64"]
    project.replay("--anyint-contracts=off").assert_outcomes(passed=1)
    result = project.replay()
    result.assert_outcomes(failed=1)  # with contracts on, the user learns why such an answer is wrong
    assert_output(result, "body is not JSON")


def test_a_huge_answer_records_as_reviewable_json_and_replays_exactly(project):
    words = " ".join(f"word{n}" for n in range(400_000))  # about 4 MB of answer text
    answer = {
        "id": "chatcmpl-huge", "object": "chat.completion", "created": 1750000000, "model": "gpt-5-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": words}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 400_000, "total_tokens": 400_001},
    }
    body = json.dumps(answer).encode()
    assert len(body) > 4_000_000
    (project.root / "answer.json").write_bytes(body)
    project.tests(
        test_app="import pathlib\nBODY = pathlib.Path(__file__).with_name('answer.json').read_bytes()\n"
        "CONTENT_TYPE = 'application/json'\n" + textwrap.dedent(CANNED).replace(
            "assert response.content == BODY", "assert response.json() == __import__('json').loads(BODY)"
        )
    )
    project.record().assert_outcomes(passed=1)
    cassette = project.cassette("test_app/test_body/extract/gpt-5-mini.yaml")
    text = cassette.read_text()
    stored = yaml.safe_load(text)["interactions"][0]["response"]["body"]
    assert list(stored) == ["json"] and stored["json"]["choices"][0]["message"]["content"] == words
    assert len(text) < 1.2 * len(body)  # structured, not escaped or base64-inflated
    assert max(len(line) for line in text.splitlines()) <= 200  # a diff shows the change, not one 4 MB line
    served = cassettes.read_cassette(cassette)["interactions"][0]["response"]
    assert json.loads(served["body"]["string"]) == answer
    assert served["headers"]["content-length"] == [str(len(served["body"]["string"]))]
    project.replay().assert_outcomes(passed=1)


def test_an_encoding_that_cannot_be_scrubbed_is_never_recorded(project):
    project.tests(
        test_app="""
        import pytest

        @pytest.mark.route("extract", models="primary")
        def test_brotli(anyint_emulator, anyint_route):
            anyint_emulator.reply_with(b"\\x1b\\x03\\x00", headers={"content-encoding": "br"})
            with anyint_route.client() as client:
                client.post("/chat/completions", json={"model": anyint_route.model, "messages": [{"role": "user", "content": "x"}]})
        """
    )
    result = project.pytester.runpytest("--anyint-record=once", "--anyint-emulator")
    result.assert_outcomes(failed=1)
    assert_output(
        result,
        "the gateway answered /openai/v1/chat/completions with content-encoding 'br', which pytest-anyint cannot "
        "decode for scrubbing; nothing was recorded",
    )
    assert project.cassettes() == []


def test_a_stream_that_keeps_sending_but_never_ends_fails_instead_of_hanging(project):
    # The existing read timeout catches a stream that goes silent (tests/test_recording.py); this
    # one keeps the connection busy with keep-alive comments, so only the overall limit stops it.
    project.pytester.makeini(INI + "anyint_stream_timeout = 0.5\n")
    project.tests(
        test_app="""
        import pytest

        @pytest.mark.route("extract", models="primary")
        def test_endless(anyint_emulator, anyint_route):
            anyint_emulator.quirks[anyint_route.model] = "endless-stream"
            with anyint_route.client() as client:
                client.post("/chat/completions", json={"model": anyint_route.model, "stream": True,
                            "messages": [{"role": "user", "content": "x"}]})
        """
    )
    result = project.pytester.runpytest("--anyint-record=once", "--anyint-emulator")
    result.assert_outcomes(failed=1)
    assert_output(
        result,
        "POST /openai/v1/chat/completions kept streaming for more than 0.5 s without ending; a stream that never "
        "ends fails the test instead of hanging it (ini option anyint_stream_timeout)",
    )
    assert project.cassettes() == []  # nothing half-recorded
