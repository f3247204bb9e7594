"""§14 secrets: the key never reaches a cassette, a report, a log line or a failure message.

The emulator plants the key it receives in every place a gateway might echo it (a response
header, a URL query, a JSON body field, an error message, a redirect URL, a field a contract
check quotes); the app under test even logs and raises what it got back. After recording with the
key set, the key (plain, URL-encoded or base64-encoded) is in none of the files and outputs a CI
run keeps, while the placeholder that replaced it shows that each echo really happened.
"""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path

import pytest
import yaml

from .helpers import KEY, PLACEHOLDER, assert_no_key, key_forms

ECHOING_APP = '''
import logging
import pytest
from openai import BadRequestError, OpenAI

log = logging.getLogger("app")
MESSAGES = [{"role": "user", "content": "vendor: ACME"}]


@pytest.fixture
def plant(request):
    """Make the emulator echo the key in the next answer (only when recording)."""
    def plant(where):
        if request.config.getoption("--anyint-record"):
            request.getfixturevalue("anyint_emulator").plant_key(where)
    return plant


@pytest.fixture
def live(request):
    return bool(request.config.getoption("--anyint-record"))


@pytest.fixture
def echoed(live, anyint_route):
    """What an echo in a body reads as: the key itself live, the placeholder once replayed."""
    return anyint_route.api_key if live else "<ANYINT_API_KEY>"


def chat(anyint_route, **kwargs):
    with anyint_route.client(**kwargs) as client:
        return client.post("/chat/completions", json={"model": anyint_route.model, "messages": MESSAGES})


@pytest.mark.route("extract", models="primary")
def test_header(plant, anyint_gateway, anyint_route):
    plant("header")
    client = OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0)  # logs response headers at DEBUG
    raw = client.chat.completions.with_raw_response.create(model=anyint_route.model, messages=MESSAGES)
    # Response headers reach the app as they are stored: scrubbed already while recording.
    assert raw.headers["x-anyint-echo-key"] == "<ANYINT_API_KEY>"
    log.warning("gateway echoed the key in a header: %s", raw.headers["x-anyint-echo-key"])


@pytest.mark.route("extract", models="primary")
def test_query(plant, live, echoed, anyint_route):
    plant("query")
    response = chat(anyint_route, params={"key": anyint_route.api_key})  # httpx logs the URL, query and all
    assert response.json()["request_url"].endswith("?key=" + (urllib_quote(echoed) if live else echoed))
    log.info("gateway answered for %s", response.json()["request_url"])


@pytest.mark.route("extract", models="primary")
def test_json(plant, echoed, anyint_route):
    plant("json")
    response = chat(anyint_route)
    assert response.json()["echo"] == {"api_key": echoed}
    log.debug("full answer: %s", response.text)


@pytest.mark.route("extract", models="primary")
def test_redirect(plant, anyint_route, anyint_calls):
    plant("redirect")
    response = chat(anyint_route, follow_redirects=True)
    assert response.status_code == 200
    assert [call.status for call in anyint_calls] == [307, 200]
    assert str(response.url).endswith("?key=%3CANYINT_API_KEY%3E")  # the location header, scrubbed


@pytest.mark.route("extract", models="primary")
def test_error_message_fails_the_test(plant, anyint_gateway, anyint_route):
    plant("error")
    client = OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0)
    try:
        client.chat.completions.create(model=anyint_route.model, messages=MESSAGES)
    except BadRequestError as error:
        log.error("the gateway refused: %s", error)
        raise  # the SDK's error quotes the gateway's message, key and all


@pytest.mark.route("extract", models="primary")
def test_contract_violation_quotes_the_value(plant, anyint_route):
    plant("contract")
    chat(anyint_route).raise_for_status()


def urllib_quote(text):
    import urllib.parse
    return urllib.parse.quote(text, safe="")
'''


def test_key_forms_cover_what_a_leak_looks_like():
    assert urllib.parse.quote(KEY, safe="") != KEY  # the key has characters URL-encoding changes
    for prefix in (b"", b"u:", b"user:", b"Basic x:"):
        encoded = base64.b64encode(prefix + KEY.encode() + b"@host").decode()
        assert any(form in encoded for form in key_forms(KEY)), prefix


def test_an_echoed_key_reaches_no_cassette_report_log_or_failure_message(project, monkeypatch):
    monkeypatch.setenv("ANYINT_API_KEY", KEY)
    project.tests(test_app=ECHOING_APP)
    outputs = ("report.json", "report.md", "report.html", "junit.xml")
    recorded = project.pytester.runpytest(
        "--anyint-record=once", "--anyint-emulator", "-p", "no:randomly",
        "--log-level=DEBUG", "--log-cli-level=DEBUG", "-rA",
        "--anyint-report=report.json", "--anyint-report-md=report.md", "--anyint-html=report.html",
        "--junitxml=junit.xml",
    )
    recorded.assert_outcomes(passed=4, failed=2)
    terminal = recorded.stdout.str() + recorded.stderr.str()

    # Every echo happened (the placeholder stands where the key was) ...
    cassettes = {str(path.relative_to(project.root)): path.read_text() for path in (project.root / "cassettes").rglob("*.yaml")}

    def stored(test: str, number: int = 0) -> dict:
        text = project.cassette(f"test_app/{test}/extract/gpt-5-mini.yaml").read_text()
        return yaml.safe_load(text)["interactions"][number]

    assert stored("test_header")["response"]["headers"]["x-anyint-echo-key"] == [PLACEHOLDER]
    assert stored("test_query")["request"]["uri"].endswith(f"?key={PLACEHOLDER}")
    assert stored("test_query")["response"]["body"]["json"]["request_url"].endswith(f"?key={PLACEHOLDER}")
    assert stored("test_json")["response"]["body"]["json"]["echo"] == {"api_key": PLACEHOLDER}
    assert stored("test_redirect")["response"]["headers"]["location"] == [f"/openai/v1/chat/completions?key={PLACEHOLDER}"]
    assert stored("test_redirect", 1)["request"]["uri"].endswith(f"?key={PLACEHOLDER}")
    assert "Invalid request for API key <ANYINT_API_KEY>" in str(stored("test_error_message_fails_the_test")["response"]["body"])
    assert stored("test_contract_violation_quotes_the_value")["response"]["body"]["json"]["created"] == PLACEHOLDER
    assert '"echo":{"api_key":"<ANYINT_API_KEY>"}' in terminal  # the app logged the body it got, key and all
    assert "Invalid request for API key <ANYINT_API_KEY>" in terminal  # the SDK error failing the test
    assert "contract:" in terminal and "created" in terminal  # the violation that quotes the value
    report = (project.root / "report.json").read_text()
    assert "created" in report and PLACEHOLDER in report

    # ... and the key itself is nowhere.
    for name, text in cassettes.items():
        assert_no_key(f"cassette {name}", text)
    for name in outputs:
        assert_no_key(name, (project.root / name).read_text())
    assert_no_key("the terminal output (failures, captured and live logs)", terminal)

    # The scrubbed cassettes replay without the key.
    monkeypatch.delenv("ANYINT_API_KEY")
    replayed = project.replay("-rA")
    replayed.assert_outcomes(passed=4, failed=2)
    assert_no_key("the replay output", replayed.stdout.str())


def test_the_key_in_a_failure_message_is_replaced_even_outside_route_cases(project, monkeypatch):
    """A test the plugin does not route still has its report scrubbed while the session knows the key."""
    monkeypatch.setenv("ANYINT_API_KEY", KEY)
    project.tests(
        test_app="""
        import os, logging, pytest

        def test_plain_failure():
            logging.getLogger("app").warning("using key %s", os.environ["ANYINT_API_KEY"])
            print("key is", os.environ["ANYINT_API_KEY"])
            assert os.environ["ANYINT_API_KEY"] == "something else"

        @pytest.mark.route("extract", models="primary")
        def test_routed(anyint_route):
            pass
        """
    )
    result = project.pytester.runpytest("--anyint-record=once", "--anyint-emulator", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "using key <ANYINT_API_KEY>" in output and "key is <ANYINT_API_KEY>" in output
    assert_no_key("a failure message", output)


def test_secret_scan_is_the_last_line_of_defence(tmp_path):
    """Whatever scrubbing missed, the persister refuses to write a cassette holding the key."""
    from vcr.request import Request

    from pytest_anyint import cassettes

    target = tmp_path / "c.yaml"
    target.write_text("old")
    cassette = {
        "requests": [Request("GET", "https://gateway.api.anyint.ai/openai/v1/models", b"", {})],
        "responses": [{"status": {"code": 200, "message": "OK"}, "headers": {"content-type": ["application/json"]},
                       "body": {"string": ('{"note": "' + urllib.parse.quote(KEY, safe="") + '"}').encode()}}],
    }
    with pytest.raises(cassettes.SecretLeakError) as info:
        cassettes.CassettePersister((KEY,)).save_cassette(target, cassette, cassettes.CassetteSerializer)
    assert target.read_text() == "old" and "the configured key" in str(info.value)
    assert_no_key("the leak message", str(info.value))
    assert not list(Path(tmp_path).glob("*.anyint-tmp"))
