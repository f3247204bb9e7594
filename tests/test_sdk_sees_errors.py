"""What each official SDK sees for each HTTP error, injected or answered by the emulator.

``docs/faults.md`` ("What each SDK sees for an HTTP error") states it as a table; the table's rows
are rendered here from ``EXPECTED`` and must appear in the page verbatim, and every cell is checked
against the real SDKs, for both envelopes and both sources (the interceptor's injected faults and
the emulator's ``fail()``), so page, injection and emulator cannot drift apart.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors

from pytest_anyint.emulator.server import Emulator
from pytest_anyint.families import FAMILIES
from pytest_anyint.run.session import AnyIntSession, SessionOptions

from .helpers import FAULTS_CONFIG as CONFIG
from .helpers import LABEL_OF, ask, running

DOC = Path(__file__).resolve().parent.parent / "docs" / "faults.md"
REQUEST_ID = "req_anyint_injected"
STATUSES = (400, 401, 403, 404, 429, 500, 502, 503, 504, 529)

#: status -> (class, gateway .type, gateway .code, native .type, native .code)
OPENAI: dict[int, tuple[str, str, str, str, str | None]] = {
    400: ("BadRequestError", "invalid_request_error", "invalid_request", "invalid_request_error", None),
    401: ("AuthenticationError", "authentication_error", "invalid_api_key", "invalid_request_error", "invalid_api_key"),
    403: ("PermissionDeniedError", "permission_error", "model_not_allowed", "request_forbidden", "unsupported_country_region_territory"),
    404: ("NotFoundError", "not_found_error", "model_not_found", "invalid_request_error", "model_not_found"),
    429: ("RateLimitError", "rate_limit_error", "rate_limit_exceeded", "requests", "rate_limit_exceeded"),
    500: ("InternalServerError", "server_error", "internal_error", "server_error", None),
    502: ("InternalServerError", "server_error", "bad_gateway", "server_error", None),
    503: ("InternalServerError", "server_error", "upstream_unavailable", "server_error", None),
    504: ("InternalServerError", "server_error", "upstream_timeout", "server_error", None),
    529: ("InternalServerError", "server_error", "upstream_overloaded", "server_error", None),
}
#: status -> (class, body["error"]["type"] in both envelopes)
ANTHROPIC: dict[int, tuple[str, str]] = {
    400: ("BadRequestError", "invalid_request_error"),
    401: ("AuthenticationError", "authentication_error"),
    403: ("PermissionDeniedError", "permission_error"),
    404: ("NotFoundError", "not_found_error"),
    429: ("RateLimitError", "rate_limit_error"),
    500: ("InternalServerError", "api_error"),
    502: ("InternalServerError", "api_error"),
    503: ("ServiceUnavailableError", "api_error"),
    504: ("GatewayTimeoutError", "timeout_error"),
    529: ("OverloadedError", "overloaded_error"),
}
#: status -> (class, native .status); .code is the status and .status is None with the gateway envelope
GEMINI: dict[int, tuple[str, str]] = {
    400: ("ClientError", "INVALID_ARGUMENT"),
    401: ("ClientError", "UNAUTHENTICATED"),
    403: ("ClientError", "PERMISSION_DENIED"),
    404: ("ClientError", "NOT_FOUND"),
    429: ("ClientError", "RESOURCE_EXHAUSTED"),
    500: ("ServerError", "INTERNAL"),
    502: ("ServerError", "INTERNAL"),
    503: ("ServerError", "UNAVAILABLE"),
    504: ("ServerError", "DEADLINE_EXCEEDED"),
    529: ("ServerError", "INTERNAL"),
}


def _code(value: str | None) -> str:
    return "`None`" if value is None else f"`{value}`"


def table_rows() -> list[str]:
    """The rows of the page's table, as the page must hold them."""
    rows = []
    for status in STATUSES:
        cls, g_type, g_code, n_type, n_code = OPENAI[status]
        a_cls, a_type = ANTHROPIC[status]
        m_cls, m_status = GEMINI[status]
        rows.append(
            f"| {status} | `{cls}`: `{g_type}` / {_code(g_code)}; native `{n_type}` / {_code(n_code)} "
            f"| `{a_cls}`: `{a_type}` | `errors.{m_cls}`: `{status}`; native `{m_status}` |"
        )
    return rows


def test_the_page_states_the_table_this_module_checks():
    text = DOC.read_text()
    missing = [row for row in table_rows() if row not in text]
    assert not missing, "docs/faults.md lacks these rows:\n" + "\n".join(missing)
    for sentence in (
        "`.status_code` is the status",
        f"`.request_id` is `{REQUEST_ID}`",
        "`.status` is `None` with the gateway envelope",
    ):
        assert sentence in re.sub(r"\s+", " ", text), sentence


def sees(family: str, error: BaseException, status: int, envelope: str) -> list[str]:
    """What differs between the raised error and the page's row (empty: exactly as documented)."""
    problems: list[str] = []

    def check(what: str, got: Any, want: Any) -> None:
        if got != want:
            problems.append(f"{family} {status} {envelope}: {what} is {got!r}, the page says {want!r}")

    if family == "openai":
        cls, g_type, g_code, n_type, n_code = OPENAI[status]
        check("class", type(error).__name__, cls)
        check(".status_code", getattr(error, "status_code", None), status)
        check(".request_id", getattr(error, "request_id", None), REQUEST_ID)
        check(".type", getattr(error, "type", None), g_type if envelope == "gateway" else n_type)
        check(".code", getattr(error, "code", None), g_code if envelope == "gateway" else n_code)
    elif family == "anthropic":
        cls, a_type = ANTHROPIC[status]
        check("class", type(error).__name__, cls)
        check(".status_code", getattr(error, "status_code", None), status)
        check(".request_id", getattr(error, "request_id", None), REQUEST_ID)
        body = getattr(error, "body", None)
        check('.body["error"]["type"]', body.get("error", {}).get("type") if isinstance(body, dict) else body, a_type)
    else:
        cls, m_status = GEMINI[status]
        check("class", type(error).__name__, cls)
        check(".code", getattr(error, "code", None), status)
        check(".status", getattr(error, "status", None), None if envelope == "gateway" else m_status)
        details = getattr(error, "details", None) or {}
        check(".message", getattr(error, "message", None), details.get("error", {}).get("message"))
    return problems


# --------------------------------------------------------------------------- injected


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnyIntSession]:
    import textwrap

    root = tmp_path_factory.mktemp("sees")
    (root / "anyint.yaml").write_text(textwrap.dedent(CONFIG))
    session = AnyIntSession(SessionOptions(rootdir=root, contracts_mode="off"), environ={})
    yield session
    session.stop()


def _clients(url: str, key: str) -> dict[str, Any]:
    return _clients_from({name: FAMILIES[name].sdk_kwargs(url, key) for name in ("openai", "anthropic", "gemini")})


def _clients_from(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        "openai": openai.OpenAI(**kwargs["openai"], max_retries=0),
        "anthropic": anthropic.Anthropic(**kwargs["anthropic"], max_retries=0),
        "gemini": genai.Client(**kwargs["gemini"]),
    }


ERRORS = (openai.APIStatusError, anthropic.APIStatusError, genai_errors.APIError)


@pytest.mark.parametrize("family", ["openai", "anthropic", "gemini"])
def test_each_injected_status_is_what_the_page_says(engine, family):
    gateway = engine.gateway()
    clients = _clients_from({name: gateway.sdk_kwargs(name) for name in ("openai", "anthropic", "gemini")})
    problems: list[str] = []
    for status in STATUSES:
        for envelope in ("gateway", "native"):
            with running(engine, LABEL_OF[family]) as (plan, _):
                plan.inject(status=status, envelope=envelope)
                with pytest.raises(ERRORS) as info:
                    ask(clients, family, stream=False)
            problems += sees(family, info.value, status, envelope)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running_emulator:
        yield running_emulator


@pytest.mark.parametrize("family", ["openai", "anthropic", "gemini"])
def test_each_emulator_status_fault_is_what_the_page_says(emulator, family):
    clients = _clients(emulator.url, emulator.api_key)
    problems: list[str] = []
    for status in STATUSES:
        for envelope in ("gateway", "native"):
            emulator.reset()
            emulator.fail(status=status, envelope=envelope, times=1)
            with pytest.raises(ERRORS) as info:
                ask(clients, family, stream=False)
            problems += sees(family, info.value, status, envelope)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("family", ["openai", "anthropic"])
def test_sdk_retries_of_an_emulator_fault_do_not_sleep(emulator, family, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    emulator.reset()
    emulator.fail(status=503, times=2)  # the SDK's two default retries, then the answer
    url, key = emulator.url, emulator.api_key
    if family == "openai":
        client: Any = openai.OpenAI(**FAMILIES["openai"].sdk_kwargs(url, key))
        answer = client.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content
    else:
        client = anthropic.Anthropic(**FAMILIES["anthropic"].sdk_kwargs(url, key))
        answer = client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
        assert answer.content[0].text
    assert len(slept) == 2 and all(s <= 0.001 for s in slept), slept  # retry-after-ms: 1


def test_the_emulators_own_errors_carry_the_request_id_too(emulator):
    emulator.reset()
    clients = _clients(emulator.url, emulator.api_key)
    with pytest.raises(openai.NotFoundError) as oai:
        clients["openai"].chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.BadRequestError) as claude:
        clients["anthropic"].messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[])
    assert oai.value.request_id == claude.value.request_id == REQUEST_ID
    assert claude.value.body["error"]["type"] == "invalid_request_error"
