"""§14: replay never touches the network, proven with the network blocked at the socket level.

The replay runs in a separate process whose conftest replaces ``socket.socket.connect`` /
``connect_ex`` and ``socket.getaddrinfo``: anything but loopback raises and is written to a log.
Recorded cases pass there, an unrecorded request fails with the plugin's own message, and the log
holds nothing but the guard's own canary: not one DNS lookup or connection towards the gateway.
"""

from __future__ import annotations

from .helpers import OPENAI_TEST, SOCKET_GUARD, assert_output, attempts

GUARD_CANARY = '''
import socket
import pytest


def test_the_guard_is_on():
    with pytest.raises(OSError, match="network blocked by the test"):
        socket.create_connection(("canary.invalid", 443), timeout=1)
'''

GEMINI_TEST = '''
import pytest
from google import genai


@pytest.mark.route("summarize", models="primary")
def test_summarize(anyint_gateway, anyint_route):
    client = genai.Client(**anyint_gateway.sdk_kwargs("gemini"))
    assert client.models.generate_content(model=anyint_route.model, contents="vendor: ACME").text
'''

ELSEWHERE_TEST = '''
import httpx
import pytest


@pytest.mark.route("extract", models="primary")
def test_elsewhere(anyint_route):
    httpx.get("https://example.com/")
'''


def test_replay_passes_with_the_network_blocked_and_tries_no_socket(project):
    project.tests(test_app=OPENAI_TEST, test_gemini=GEMINI_TEST)
    project.record().assert_outcomes(passed=3)
    project.tests(conftest=SOCKET_GUARD, test_canary=GUARD_CANARY)

    # The plugin's own guard would refuse the canary first: let it through to the test's guard.
    result = project.pytester.runpytest_subprocess("-p", "no:randomly", "--anyint-allow-host", "canary.invalid")

    result.assert_outcomes(passed=4)
    assert attempts(project) == ["getaddrinfo canary.invalid"]  # the canary, and nothing else


def test_unrecorded_and_foreign_requests_fail_with_the_plugins_message_not_a_socket(project):
    project.tests(test_app=OPENAI_TEST)
    project.record("-k", "primary").assert_outcomes(passed=1)
    project.tests(
        conftest=SOCKET_GUARD,
        test_app=OPENAI_TEST.replace("vendor: ACME", "vendor: Initech"),  # no recording of this prompt
        test_elsewhere=ELSEWHERE_TEST,
    )

    result = project.pytester.runpytest_subprocess("-p", "no:randomly", "-k", "primary")

    result.assert_outcomes(failed=2)
    assert_output(
        result,
        "POST /openai/v1/chat/completions (model gpt-5-mini) was not recorded: cassette "
        "cassettes/test_app/test_extract/extract/gpt-5-mini.yaml has no unplayed recording of it",
    )
    assert_output(
        result,
        "pytest-anyint refused a connection to example.com: in replay mode (no --anyint-record) nothing leaves "
        "the machine",
    )
    assert_output(result, "allow it with --anyint-allow-host example.com")
    assert "network blocked by the test" not in result.stdout.str()
    assert attempts(project) == []


PROVIDER_DEFAULTS_TEST = '''
import anthropic
import pytest
from google import genai
from openai import OpenAI


@pytest.mark.route("extract", models="primary")
def test_openai_without_base_url(anyint_route):
    OpenAI(api_key=anyint_route.api_key, max_retries=0).chat.completions.create(
        model=anyint_route.model, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.route("extract", models="primary")
def test_anthropic_without_base_url(anyint_route):
    anthropic.Anthropic(api_key=anyint_route.api_key, max_retries=0).messages.create(
        model=anyint_route.model, max_tokens=16, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.route("extract", models="primary")
def test_genai_without_base_url(anyint_route):
    client = genai.Client(api_key=anyint_route.api_key)
    client.models.generate_content(model=anyint_route.model, contents="hi")
'''


def test_a_client_built_without_base_url_is_told_to_use_the_gateway_not_to_allow_the_provider(project):
    """An official SDK without a base URL calls its provider directly: allowing that host would send
    the app's requests and key past the gateway, so the refusal never advises it."""
    project.tests(conftest=SOCKET_GUARD, test_app=PROVIDER_DEFAULTS_TEST)

    result = project.pytester.runpytest_subprocess("-p", "no:randomly")

    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    for sdk, host, family in (("openai", "api.openai.com", "openai"), ("anthropic", "api.anthropic.com", "anthropic"),
                              ("google-genai", "generativelanguage.googleapis.com", "gemini")):
        assert_output(result, f"pytest-anyint refused a connection to {host}",
                      f"{host} is where the {sdk} SDK sends requests when its client is built without a base URL",
                      f"build the client on the gateway with **anyint_gateway.sdk_kwargs('{family}')")
        assert f"--anyint-allow-host {host}" not in out
    assert attempts(project) == []
