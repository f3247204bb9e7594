"""Nothing leaves the machine in replay or under ``--anyint-emulator``, whoever connects.

The inner sessions run in their own process with the test's socket guard of ``test_offline`` in
their conftest: it is installed before the plugin's guard, so every connection or lookup that got
past the plugin reaches it and is written to a log. An empty log proves the plugin refused before
anything was sent; addresses are TEST-NET (192.0.2.0/24) and ``.invalid`` names besides.
"""

from __future__ import annotations

from .helpers import SOCKET_GUARD, attempts

NETWORK_TESTS = '''
import http.server
import socket
import threading
import urllib.request

import pytest
import requests


@pytest.fixture(scope="module")
def remote_settings():
    """A module-scoped fixture that fetches settings from a remote host."""
    return urllib.request.urlopen("http://192.0.2.1/settings", timeout=1).read()


def test_urllib():
    urllib.request.urlopen("http://192.0.2.1/", timeout=1)


def test_requests():
    requests.get("http://unreachable.invalid/", timeout=1)


def test_raw_socket():
    socket.create_connection(("192.0.2.2", 443), timeout=1)


def test_raw_connect_by_name():
    with socket.socket() as sock:
        sock.connect(("nowhere.invalid", 80))


def test_swallowed():
    try:
        urllib.request.urlopen("http://192.0.2.3/", timeout=1)
    except Exception:
        pass  # an app that hides the error still fails the test


def test_module_fixture(remote_settings):
    pass


@pytest.mark.route("extract", models="primary")
def test_routed(anyint_route):
    requests.get("http://192.0.2.4/", timeout=1)


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"local")

    def log_message(self, *args):
        pass


def test_loopback():
    server = http.server.HTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read() == b"local"
        assert requests.get(f"http://localhost:{port}/", timeout=5).text == "local"
    finally:
        server.shutdown()
'''

REFUSED = {
    "test_urllib": "192.0.2.1:80",
    "test_requests": "unreachable.invalid:80",
    "test_raw_socket": "192.0.2.2:443",
    "test_raw_connect_by_name": "nowhere.invalid:80",
    "test_swallowed": "192.0.2.3:80",
    "test_module_fixture": "192.0.2.1:80",
    "test_routed": "192.0.2.4:80",
}


def refused_line(test: str, where: str) -> str:
    return (
        f"test_net.py::{test}{'[extract-primary-gpt-5-mini]' if test == 'test_routed' else ''}: pytest-anyint "
        f"refused a connection to {where}: in replay mode (no --anyint-record) nothing leaves the machine: only "
        f"loopback, recorded gateway answers and injected faults; if this host is meant to be reached, allow it "
        f"with --anyint-allow-host {where.rsplit(':', 1)[0]} (or the ini option anyint_allow_hosts)"
    )


def test_replay_refuses_every_connection_off_the_machine_before_it_is_made(project):
    project.tests(conftest=SOCKET_GUARD, test_net=NETWORK_TESTS)

    result = project.pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, failed=len(REFUSED) - 1, errors=1)  # the fixture's is a setup error
    output = result.stdout.str()
    for test, where in REFUSED.items():
        assert refused_line(test, where) in output, test
    assert "Traceback" not in output and "NetworkRefused" not in output  # one line each
    assert attempts(project) == []  # nothing got past the plugin: no lookup, no connection


def test_allowed_hosts_pass_by_option_and_by_ini(project):
    project.tests(conftest=SOCKET_GUARD, test_net=NETWORK_TESTS)
    project.pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = ignore::pytest.PytestAssertRewriteWarning\n"
        "anyint_allow_hosts = unreachable.invalid 192.0.2.0/30\n"
    )

    result = project.pytester.runpytest_subprocess(
        "-p", "no:randomly", "-p", "no:cacheprovider", "--anyint-allow-host", "nowhere.invalid"
    )

    output = result.stdout.str()
    for test in ("test_urllib", "test_requests", "test_raw_socket", "test_raw_connect_by_name", "test_module_fixture"):
        assert refused_line(test, REFUSED[test]) not in output, test
    assert refused_line("test_routed", "192.0.2.4:80") in output  # outside 192.0.2.0/30: still refused
    # What was allowed went on to the socket (the test's own guard stops it there).
    assert set(attempts(project)) == {
        "getaddrinfo 192.0.2.1", "getaddrinfo unreachable.invalid", "getaddrinfo 192.0.2.2",
        "connect nowhere.invalid:80", "getaddrinfo 192.0.2.3",
    }


def test_a_session_without_route_markers_or_options_is_left_alone(project):
    project.tests(conftest=SOCKET_GUARD, test_net="import urllib.request\n\ndef test_urllib():\n"
                  "    urllib.request.urlopen('http://192.0.2.1/', timeout=1)\n")

    result = project.pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    assert "pytest-anyint refused" not in result.stdout.str()
    assert attempts(project) == ["getaddrinfo 192.0.2.1"]  # the plugin stayed out of a suite that does not use it


def test_recording_needs_the_network_and_is_not_guarded(project, monkeypatch):
    monkeypatch.setenv("ANYINT_API_KEY", "invented-key-for-this-test")  # recording needs a key to start at all
    project.tests(conftest=SOCKET_GUARD, test_net=NETWORK_TESTS)

    project.pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", "--anyint-record=once", "--no-anyint-check-models", "-k", "urllib")

    assert attempts(project) == ["getaddrinfo 192.0.2.1"]


def test_a_bad_allowed_host_is_one_line(project):
    result = project.pytester.runpytest("--anyint-allow-host", "example.com:443")

    assert result.ret == 4
    assert (
        "--anyint-allow-host / ini option anyint_allow_hosts: 'example.com:443' is not a host name (without a port), "
        "an IP address or a network such as 10.0.0.0/8"
    ) in result.stderr.str()


EMULATED_APP = '''
import os

import httpx
import pytest
from openai import OpenAI

MESSAGES = [{"role": "user", "content": "vendor: ACME"}]


def app_client():
    """What the app builds from its own settings: the real gateway's address."""
    return OpenAI(base_url="https://gateway.api.anyint.ai/openai/v1", api_key=os.environ["ANYINT_API_KEY"], max_retries=0)


def test_settings_point_at_the_emulator():
    assert os.environ["ANYINT_BASE_URL"].startswith("http://127.0.0.1:")


def test_plain_client_is_served_by_the_emulator():
    reply = app_client().chat.completions.create(model="gpt-5-mini", messages=MESSAGES)
    assert reply.choices[0].message.content


@pytest.mark.route("extract", models="primary")
def test_routed_plain_client(anyint_route):
    reply = app_client().chat.completions.create(model=anyint_route.model, messages=MESSAGES)
    assert reply.choices[0].message.content


def test_other_host():
    httpx.get("https://example.com/")
'''


def test_under_the_emulator_the_apps_own_client_never_reaches_the_network(project):
    project.tests(conftest=SOCKET_GUARD, test_app=EMULATED_APP)

    result = project.pytester.runpytest_subprocess(
        "-p", "no:randomly", "-p", "no:cacheprovider", "--anyint-emulator", "--anyint-record=once"
    )

    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "test_app.py::test_other_host: pytest-anyint refused a connection to example.com*: under --anyint-emulator "
        "nothing leaves the machine: the gateway is served by the emulator on loopback, and every other host is "
        "refused; if this host is meant to be reached, allow it with --anyint-allow-host example.com*",
    ])
    assert attempts(project) == []
    # Recorded against the emulator, stored under the configured gateway (no loopback port).
    cassette = project.cassette("test_app/test_routed_plain_client/extract/gpt-5-mini.yaml").read_text()
    assert "uri: https://gateway.api.anyint.ai/openai/v1/chat/completions" in cassette


def test_the_emulators_settings_are_restored_after_the_session(project, monkeypatch):
    import os

    monkeypatch.setenv("ANYINT_BASE_URL", "https://gateway.api.anyint.ai")
    project.tests(test_app="import os\n\ndef test_env():\n    assert os.environ['ANYINT_BASE_URL'].startswith('http://127.0.0.1')\n"
                  "    assert os.environ['ANYINT_API_KEY']\n")

    project.pytester.runpytest("--anyint-emulator").assert_outcomes(passed=1)

    assert os.environ["ANYINT_BASE_URL"] == "https://gateway.api.anyint.ai"
    assert "ANYINT_API_KEY" not in os.environ


def test_a_real_key_in_the_shell_is_replaced_by_a_placeholder_under_the_emulator(project, monkeypatch):
    """A run the user believes is local never hands the app the real key, not even for loopback."""
    import os

    monkeypatch.setenv("ANYINT_API_KEY", "invented-shell-key-for-this-test")
    project.tests(test_app="import os\n\ndef test_env(anyint_emulator):\n"
                  "    assert os.environ['ANYINT_API_KEY'] == anyint_emulator.api_key != 'invented-shell-key-for-this-test'\n")

    project.pytester.runpytest("--anyint-emulator").assert_outcomes(passed=1)

    assert os.environ["ANYINT_API_KEY"] == "invented-shell-key-for-this-test"  # restored after the session


GATEWAY_OUTSIDE_A_CASE = '''
import urllib.request


def test_gateway_by_urllib():
    urllib.request.urlopen("https://gateway.api.anyint.ai/openai/v1/models", timeout=1)
'''


def test_the_gateway_outside_a_route_case_is_refused_with_advice_that_keeps_it_offline(project):
    """Allowing the gateway's host would reach the live gateway: the line says what does work instead."""
    project.tests(conftest=SOCKET_GUARD, test_gw=GATEWAY_OUTSIDE_A_CASE)

    replay = project.pytester.runpytest_subprocess("-p", "no:cacheprovider", "--anyint-record=none")
    emulated = project.pytester.runpytest_subprocess("-p", "no:cacheprovider", "--anyint-emulator")

    replay.stdout.fnmatch_lines([
        "test_gw.py::test_gateway_by_urllib: pytest-anyint refused a connection to gateway.api.anyint.ai:443: in "
        "replay mode * gateway.api.anyint.ai is the AnyInt gateway, whose answers only route-marked tests replay, "
        "through httpx or httpx2 clients (urllib, requests and aiohttp are not intercepted): mark the test with "
        '@pytest.mark.route("<label>") and build the client from anyint_route or anyint_gateway',
    ])
    emulated.stdout.fnmatch_lines([
        "*refused a connection to gateway.api.anyint.ai:443: under --anyint-emulator * only httpx and httpx2 "
        "clients are redirected to the emulator (urllib, requests and aiohttp are not)*",
    ])
    assert "--anyint-allow-host" not in replay.stdout.str() + emulated.stdout.str()
    assert attempts(project) == []
