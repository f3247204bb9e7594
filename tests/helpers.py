"""What several test modules share: test sources for pytester projects, and small helpers.

Test modules import these from here, never from each other (importing a test module would also
run its module-level setup and tie the two files together).
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_anyint.calls import CallTrail
from pytest_anyint.faults.plan import FaultPlan
from pytest_anyint.run.session import AnyIntSession, RouteCase

# --------------------------------------------------------------------------- the core loop: a route test and its output (test_core_loop)

def assert_output(result: pytest.RunResult, *texts: str) -> None:
    """Each text appears in the run's output, in order (plain substrings, no globbing)."""
    output = result.stdout.str()
    position = 0
    for text in texts:
        found = output.find(text, position)
        assert found >= 0, f"not in the output (after position {position}): {text!r}\n{output}"
        position = found + len(text)

OPENAI_TEST = """
import pytest
from openai import OpenAI

@pytest.fixture(scope="module")
def client(anyint_gateway):
    return OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0)

@pytest.mark.route("extract")
def test_extract(client, anyint_route, anyint_calls):
    answer = client.chat.completions.create(
        model=anyint_route.model, messages=[{"role": "user", "content": "vendor: ACME"}]
    )
    assert anyint_route.model in answer.choices[0].message.content
    assert anyint_calls.models() == [anyint_route.model]
"""


# --------------------------------------------------------------------------- the network blocked at the socket level, in a pytester project (test_offline)

SOCKET_GUARD = '''
import os
import socket

ATTEMPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "network-attempts.log")
LOOPBACK = {"127.0.0.1", "::1", "localhost", "", None}


class NetworkBlocked(OSError):
    """Raised for any connection or lookup off loopback."""


def _note(what):
    with open(ATTEMPTS, "a", encoding="utf-8") as handle:
        handle.write(what + "\\n")


def _guard(real):
    def connect(self, address, *args):
        host = address[0] if isinstance(address, tuple) else None
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            _note(f"connect {host}:{address[1]}")
            raise NetworkBlocked(f"network blocked by the test: connect to {host}")
        return real(self, address, *args)
    return connect


_real_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    if (host.decode() if isinstance(host, bytes) else host) not in LOOPBACK:
        _note(f"getaddrinfo {host}")
        raise NetworkBlocked(f"network blocked by the test: lookup of {host}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guard(socket.socket.connect)
socket.socket.connect_ex = _guard(socket.socket.connect_ex)
socket.getaddrinfo = getaddrinfo
'''

def attempts(project) -> list[str]:
    log = project.root / "network-attempts.log"
    return log.read_text().splitlines() if log.exists() else []


# --------------------------------------------------------------------------- the fault engine driven without pytest (AnyIntSession.open_case / close_case) (test_faults)

FAULTS_CONFIG = """
version: 1
routes:
  extract:
    family: openai
    primary: gpt-5-mini
    fallbacks: [deepseek-v3.2-exp, {model: gemini-2.5-flash, family: gemini}]
  chat:
    family: anthropic
    primary: claude-sonnet-4-6
    fallbacks: [claude-haiku-4-5]
  summarize:
    family: gemini
    primary: gemini-2.5-flash
    fallbacks: [gemini-2.5-pro]
  classify:
    family: openai
    primary: gpt-5
    fallbacks: [{model: claude-haiku-4-5, family: anthropic}, gpt-5-mini]
    policy:
      max_attempts_per_model: 5
  code:
    family: openai
    primary: gpt-5-mini
    policy:
      fallback_on: [429, 503, timeout, connect, reset, malformed-json, truncated-stream, stream-error, empty-body]
      never_fallback_on: [400, 401, 403, 404, 502]
      require_fallback_log: false
"""

LABEL_OF = {"openai": "extract", "anthropic": "chat", "gemini": "summarize"}

HELLO = [{"role": "user", "content": "hello"}]

@contextmanager
def running(engine: AnyIntSession, label: str, *, fault: int | str | None = None) -> Iterator[tuple[FaultPlan, CallTrail]]:
    """One route case on the primary, as the plugin runs it; yields its fault plan and call trail."""
    route = engine.config.route(label)
    case = RouteCase(label, route.primary.model, 0, fault)
    plan = FaultPlan(engine, case)
    cassette = engine.cassette_path(case, module_path="test_faults", test_name="sdk", other_params=None)
    context = engine.open_case(case, nodeid=f"test_faults.py::{label}", cassette_path=cassette, faults=plan)
    try:
        yield plan, context.trail
    finally:
        engine.close_case(context, passed=None)

def ask(clients: dict[str, Any], family: str, stream: bool) -> Any:
    """One request to the family's primary through its official SDK (streams read to the end)."""
    if family == "openai":
        result = clients["openai"].chat.completions.create(model="gpt-5-mini", messages=HELLO, stream=stream)
    elif family == "anthropic":
        result = clients["anthropic"].messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HELLO, stream=stream)
    elif stream:
        result = clients["gemini"].models.generate_content_stream(model="gemini-2.5-flash", contents="hello")
    else:
        result = clients["gemini"].models.generate_content(model="gemini-2.5-flash", contents="hello")
    return list(result) if stream else result


# --------------------------------------------------------------------------- an invented key, and every form a leak of it takes (test_secrets)

KEY = "live-S3cret+Key/With=Signs-" + "x9" * 8  # not sk-shaped: only knowing the key can hide it

PLACEHOLDER = "<ANYINT_API_KEY>"

def key_forms(key: str) -> list[str]:
    """The key as it may be written anywhere: plain, URL-encoded, and base64 at each of the three
    byte alignments (alone, or inside ``user:key`` Basic auth): the middle of each encoding is the
    same whatever surrounds the key."""
    forms = {key, urllib.parse.quote(key, safe=""), urllib.parse.quote_plus(key)}
    for pad in range(3):
        forms.add(base64.b64encode(b"\0" * pad + key.encode()).decode()[4:-4])
    return sorted(forms)

def assert_no_key(where: str, text: str) -> None:
    for form in key_forms(KEY):
        assert form not in text, f"the key ({form[:6]}…) leaked into {where}"


# --------------------------------------------------------------------------- an app that drifts against the emulator (test_drift)

DRIFT_CONFTEST = """
import os
import pytest

@pytest.fixture(scope="session", autouse=True)
def emulator_drift(request):
    change = os.environ.get("EMULATOR_DRIFT")
    if change:
        request.getfixturevalue("anyint_emulator").drift(change)
"""

def git(root: Path, *args: str) -> str:
    """Run git in a user repository (the test fails on a git error)."""
    import subprocess

    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def commit_recorded(project: Any) -> Any:
    """Record DRIFT_APP's three route tests against the emulator and commit them in a new git repository."""
    project.pytester.makeconftest(DRIFT_CONFTEST)
    project.tests(test_app=DRIFT_APP)
    project.record().assert_outcomes(passed=3)
    root = project.root
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "ci")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "recorded")
    return project


DRIFT_APP = """
import pytest

HELLO = [{"role": "user", "content": "Say hello to the team"}]

@pytest.mark.route("extract", models="primary")
def test_openai(anyint_route):
    with anyint_route.client() as client:
        body = {"model": anyint_route.model, "messages": HELLO}
        assert client.post("/chat/completions", json=body).status_code == 200
        assert client.post("/chat/completions", json={**body, "stream": True}).status_code == 200

@pytest.mark.route("chat", models="primary")
def test_anthropic(anyint_route):
    with anyint_route.client() as client:
        body = {"model": anyint_route.model, "max_tokens": 64, "messages": HELLO, "stream": True}
        assert client.post("/v1/messages", json=body).status_code == 200

@pytest.mark.route("summarize", models="primary")
def test_gemini(anyint_route):
    with anyint_route.client() as client:
        body = {"contents": [{"role": "user", "parts": [{"text": "Say hello to the team"}]}]}
        assert client.post(f"/v1beta/models/{anyint_route.model}:generateContent", json=body).status_code == 200
"""


# --------------------------------------------------------------------------- contracts in a run (test_contracts_in_session)

CONTRACTS_CHAT_TEST = """
import pytest
from openai import OpenAI

@pytest.fixture(scope="module")
def client(anyint_gateway):
    return OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0)

@pytest.mark.route("extract")
def test_extract(client, anyint_route, anyint_emulator):
    {setup}
    client.chat.completions.create(model=anyint_route.model, messages=[{{"role": "user", "content": "vendor: ACME"}}])
"""


# --------------------------------------------------------------------------- cassettes written by hand, for pytest-anyint check (test_check)

CHECK_CHAT = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1755781234, "model": "gpt-5-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": '{"total": 12.5}', "refusal": None},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 24, "completion_tokens": 8, "total_tokens": 32},
}

def interaction(method: str = "POST", path: str = "/openai/v1/chat/completions", status: int = 200,
                body: Any = None, content_type: str = "application/json") -> dict[str, Any]:
    return {
        "request": {"method": method, "uri": f"https://gateway.api.anyint.ai{path}",
                    "headers": {"content-type": ["application/json"], "authorization": ["Bearer <ANYINT_API_KEY>"]},
                    "body": {"json": {"model": "gpt-5-mini", "messages": [{"role": "user", "content": "hi"}]}}},
        "response": {"status": {"code": status, "message": "OK"}, "headers": {"content-type": [content_type]},
                     "body": body if body is not None else {"json": CHECK_CHAT}, "timing": {"headers_s": 0.2, "total_s": 0.4}},
    }

def write_cassette(path: Path, interactions: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"metadata": {"recorded_at": "2026-01-01T00:00:00Z", "plugin_version": "0.1.0", "route": "extract",
                             "model": "gpt-5-mini", "family": "openai", "test": "tests/test_app.py::test_extract"},
                "interactions": interactions, "version": 1}
    # Shared values written out in full: a cassette with aliases is refused.
    no_aliases = type("NoAliases", (yaml.SafeDumper,), {"ignore_aliases": lambda self, data: True})
    path.write_text(yaml.dump(document, Dumper=no_aliases, sort_keys=False, allow_unicode=True))
    return path


def usage_error(result: pytest.RunResult) -> str:
    """The one line pytest prints for a usage error (exit status 4), with no traceback anywhere."""
    assert result.ret == 4, result.stdout.str()
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "File \"" not in output
    lines = [line for line in result.stderr.str().splitlines() if line.startswith("ERROR: ")]
    assert len(lines) == 1, result.stderr.str()
    return lines[0][len("ERROR: "):]


def assert_clear_failure(result: pytest.RunResult, *texts: str) -> None:
    """The run failed, the texts are in its output, and no traceback was shown."""
    assert result.ret != 0
    output = result.stdout.str() + result.stderr.str()
    for text in texts:
        assert text in output, f"not in the output: {text!r}\n{output}"
    assert "Traceback" not in output and "INTERNALERROR" not in output


APP_SCHEMA_ROUTE = """
version: 1
routes:
  extract:
    family: openai
    primary: gpt-5-mini
    output_schema: schemas/invoice.schema.json
"""


def anthropic_stream_cut() -> type[BaseException]:
    """What the anthropic SDK raises when a stream's connection drops while the app iterates it:
    since 2.17 an ``APIConnectionError`` (the ``httpx2.RemoteProtocolError`` its ``__cause__``),
    before that the ``httpx2`` error itself."""
    import anthropic
    import httpx2

    major, minor = (int(part) for part in anthropic.__version__.split(".")[:2])
    return anthropic.APIConnectionError if (major, minor) >= (2, 17) else httpx2.RemoteProtocolError
