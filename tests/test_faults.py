"""Faults on the wire: what each kind sends, what each official SDK makes of it, and the policy check.

The SDK tests drive the engine without pytest's help (``AnyIntSession.open_case`` / ``close_case``),
the way the plugin does for a route case: requests go through the real httpx / httpx2 clients of
the official SDKs, and the interceptor answers them from the fault plan before anything else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from pytest_anyint import sse
from pytest_anyint.calls import Call, CallTrail
from pytest_anyint.cassettes import read_cassette
from pytest_anyint.config import ConfigError, load_config
from pytest_anyint.families import FAMILIES, GATEWAY_ERRORS
from pytest_anyint.faults import Fault, FaultPlan, body_fault_wire, check_policy, error_body
from pytest_anyint.kinds import FAULT_KINDS
from pytest_anyint.run.session import AnyIntSession, RouteCase, SessionOptions

from .helpers import FAULTS_CONFIG as CONFIG
from .helpers import HELLO, LABEL_OF, anthropic_stream_cut, ask, running


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults")
    (path / "anyint.yaml").write_text(textwrap.dedent(CONFIG))
    return path


@pytest.fixture(scope="module")
def engine(root: Path) -> Iterator[AnyIntSession]:
    session = AnyIntSession(SessionOptions(rootdir=root, contracts_mode="off"), environ={})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def clients(engine: AnyIntSession) -> dict[str, Any]:
    gateway = engine.gateway()
    return {
        "openai": openai.OpenAI(**gateway.sdk_kwargs("openai"), max_retries=0),
        "anthropic": anthropic.Anthropic(**gateway.sdk_kwargs("anthropic"), max_retries=0),
        "gemini": genai.Client(**gateway.sdk_kwargs("gemini")),
    }


async def ask_async(engine: AnyIntSession, gem: Any, family: str, stream: bool) -> Any:
    gateway = engine.gateway()
    if family == "openai":
        async with openai.AsyncOpenAI(**gateway.sdk_kwargs("openai"), max_retries=0) as client:
            result = await client.chat.completions.create(model="gpt-5-mini", messages=HELLO, stream=stream)
            return [c async for c in result] if stream else result
    if family == "anthropic":
        async with anthropic.AsyncAnthropic(**gateway.sdk_kwargs("anthropic"), max_retries=0) as client:
            result = await client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HELLO, stream=stream)
            return [e async for e in result] if stream else result
    if stream:
        return [c async for c in await gem.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hello")]
    return await gem.aio.models.generate_content(model="gemini-2.5-flash", contents="hello")


# --------------------------------------------------------------------------- each kind, each SDK

# What the real service's failure becomes in each official SDK: (family, kind, stream) -> exception
# type, or None when the SDK returns normally (an empty answer the app itself must notice).
SDK_OUTCOME: dict[tuple[str, str, bool], type[BaseException] | None] = {}
for _stream in (False, True):
    SDK_OUTCOME.update(
        {
            ("openai", "timeout", _stream): openai.APITimeoutError,
            ("openai", "connect", _stream): openai.APIConnectionError,
            ("openai", "reset", _stream): openai.APIConnectionError,
            ("openai", "malformed-json", _stream): json.JSONDecodeError,
            ("openai", "truncated-stream", _stream): openai.APIConnectionError,
            ("anthropic", "timeout", _stream): anthropic.APITimeoutError,
            ("anthropic", "connect", _stream): anthropic.APIConnectionError,
            ("anthropic", "reset", _stream): anthropic.APIConnectionError,
            ("anthropic", "malformed-json", _stream): json.JSONDecodeError,
            ("gemini", "timeout", _stream): httpx2.ReadTimeout,
            ("gemini", "connect", _stream): httpx2.ConnectError,
            ("gemini", "reset", _stream): httpx2.ReadError,
            ("gemini", "truncated-stream", _stream): httpx2.RemoteProtocolError,
            ("gemini", "stream-error", _stream): genai_errors.ServerError,
        }
    )
SDK_OUTCOME.update(
    {
        ("openai", "stream-error", False): openai.InternalServerError,  # the error came before the 200
        ("openai", "stream-error", True): openai.APIError,
        ("openai", "empty-body", False): json.JSONDecodeError,
        ("openai", "empty-body", True): None,
        ("anthropic", "truncated-stream", False): anthropic.APIConnectionError,
        ("anthropic", "truncated-stream", True): anthropic_stream_cut(),  # wrapped mid-stream since 2.17
        ("anthropic", "stream-error", False): anthropic.OverloadedError,
        ("anthropic", "stream-error", True): anthropic.APIStatusError,
        ("anthropic", "empty-body", False): json.JSONDecodeError,
        ("anthropic", "empty-body", True): None,
        ("gemini", "malformed-json", False): json.JSONDecodeError,
        ("gemini", "malformed-json", True): genai_errors.UnknownApiResponseError,
        ("gemini", "empty-body", False): None,
        ("gemini", "empty-body", True): None,
    }
)
CASES = sorted(SDK_OUTCOME, key=lambda k: (k[0], FAULT_KINDS.index(k[1]), k[2]))


def _check_attributes(family: str, kind: str, stream: bool, error: BaseException | None, result: Any) -> None:
    """The attributes an app reads off the exception, as the real service's failure would set them."""
    if kind == "stream-error" and family == "openai":
        assert error.body["type"] == "server_error" and "overloaded" in error.message  # type: ignore[union-attr]
        if not stream:
            assert error.status_code == 503  # type: ignore[union-attr]
    elif kind == "stream-error" and family == "anthropic":
        assert error.body["error"]["type"] == "overloaded_error"  # type: ignore[union-attr]
        assert error.status_code == (200 if stream else 529)  # type: ignore[union-attr]
    elif kind == "stream-error":
        assert (error.code, error.status) == (503, "UNAVAILABLE")  # type: ignore[union-attr]
    elif kind == "reset" and family != "gemini":
        assert isinstance(error.__cause__, httpx2.ReadError) and "reset by peer" in str(error.__cause__)
    elif kind == "truncated-stream" and not isinstance(error, httpx2.RemoteProtocolError):
        assert isinstance(error.__cause__, httpx2.RemoteProtocolError)
    elif kind == "empty-body" and result is not None:
        assert result == [] if stream else result.text is None


@pytest.mark.parametrize("family, kind, stream", CASES, ids=[f"{f}-{k}-{'stream' if s else 'plain'}" for f, k, s in CASES])
def test_each_fault_kind_reaches_the_sync_sdk_as_the_real_failure(engine, clients, family, kind, stream):
    expected = SDK_OUTCOME[(family, kind, stream)]
    with running(engine, LABEL_OF[family]) as (plan, trail):
        plan.inject(kind=kind)
        error: BaseException | None = None
        result = None
        if expected is None:
            result = ask(clients, family, stream)
        else:
            with pytest.raises(expected) as info:
                ask(clients, family, stream)
            error = info.value
            assert type(error) is expected  # not a subclass standing in for it
    _check_attributes(family, kind, stream, error, result)
    assert [(c.source, c.fault, c.stream) for c in trail] == [("fault", kind, stream)]
    if kind in ("timeout", "connect", "reset"):
        status = None  # no answer at all
    elif kind == "stream-error" and not stream:
        status = {"openai": 503, "anthropic": 529, "gemini": 503}[family]  # the error came before the 200
    else:
        status = 200
    assert trail[0].status == status


@pytest.mark.parametrize("family, kind, stream", CASES, ids=[f"{f}-{k}-{'stream' if s else 'plain'}" for f, k, s in CASES])
def test_each_fault_kind_reaches_the_async_sdk_the_same_way(engine, clients, family, kind, stream):
    expected = SDK_OUTCOME[(family, kind, stream)]
    with running(engine, LABEL_OF[family]) as (plan, trail):
        plan.inject(kind=kind)
        coroutine = ask_async(engine, clients["gemini"], family, stream)
        if expected is None:
            result, error = asyncio.run(coroutine), None
        else:
            with pytest.raises(expected) as info:
                asyncio.run(coroutine)
            result, error = None, info.value
            assert type(error) is expected
    _check_attributes(family, kind, stream, error, result)
    assert [(c.source, c.fault) for c in trail] == [("fault", kind)]


def test_a_broken_stream_delivers_its_first_chunks_before_the_break(engine, clients):
    received: list[Any] = []
    with running(engine, "extract") as (plan, _):
        plan.inject(kind="truncated-stream")
        with pytest.raises(openai.APIConnectionError):
            for chunk in clients["openai"].chat.completions.create(model="gpt-5-mini", messages=HELLO, stream=True):
                received.append(chunk)
    assert [c.choices[0].delta.content for c in received] == ["", "The first sentence arrives."]
    assert received[0].model == "gpt-5-mini"


# --------------------------------------------------------------------------- plain httpx and httpx2

TRANSPORT = {"timeout": "ReadTimeout", "connect": "ConnectError", "reset": "ReadError", "truncated-stream": "RemoteProtocolError"}


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
@pytest.mark.parametrize("kind", list(TRANSPORT))
def test_transport_faults_raise_the_exceptions_of_the_module_the_request_came_through(engine, module, kind):
    url = engine.config.base_url + "/openai/v1/chat/completions"
    headers = {"Authorization": "Bearer k"}
    body = {"model": "gpt-5-mini", "messages": HELLO}
    expected = getattr(module, TRANSPORT[kind])
    with running(engine, "extract") as (plan, trail):
        plan.inject(kind=kind)
        with module.Client(timeout=600) as client, pytest.raises(expected) as sync_info:
            client.post(url, headers=headers, json=body)

        async def post() -> None:
            async with module.AsyncClient(timeout=600) as client:
                await client.post(url, headers=headers, json=body)

        with pytest.raises(expected) as async_info:
            asyncio.run(post())
    for info in (sync_info, async_info):
        assert type(info.value) is expected and info.value.request.url.path == "/openai/v1/chat/completions"
    assert [c.fault for c in trail] == [kind, kind]


def test_a_legacy_httpx_client_inside_the_openai_sdk_gets_httpx_exceptions(engine):
    gateway = engine.gateway()
    with httpx.Client() as http_client:
        client = openai.OpenAI(**gateway.sdk_kwargs("openai"), max_retries=0, http_client=http_client)
        with running(engine, "extract") as (plan, _):
            plan.inject(kind="timeout")
            with pytest.raises(openai.APITimeoutError) as info:
                client.chat.completions.create(model="gpt-5-mini", messages=HELLO)
    assert type(info.value.__cause__) is httpx.ReadTimeout


def test_a_timeout_never_waits(engine, clients, monkeypatch):
    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s")

    monkeypatch.setattr(time, "sleep", no_sleep)
    with running(engine, "chat") as (plan, _):
        plan.inject(kind="timeout")
        client = clients["anthropic"].with_options(timeout=3600)
        with pytest.raises(anthropic.APITimeoutError):
            client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HELLO)


# --------------------------------------------------------------------------- HTTP statuses

STATUS_CASES = [
    # family, inject kwargs, exception, attributes the app reads
    ("openai", {"status": 429}, openai.RateLimitError, lambda e: (e.status_code, e.code, e.type) == (429, "rate_limit_exceeded", "rate_limit_error")),
    ("openai", {"status": 429, "envelope": "native"}, openai.RateLimitError, lambda e: (e.code, e.type) == ("rate_limit_exceeded", "requests")),
    ("openai", {"variant": "insufficient_quota"}, openai.RateLimitError, lambda e: (e.status_code, e.code, e.type) == (429, "insufficient_quota", "insufficient_quota")),
    ("openai", {"status": 401}, openai.AuthenticationError, lambda e: e.code == "invalid_api_key"),
    ("openai", {"status": 503}, openai.InternalServerError, lambda e: (e.status_code, e.code) == (503, "upstream_unavailable")),
    ("anthropic", {"status": 529, "envelope": "native"}, anthropic.OverloadedError, lambda e: e.body["error"]["type"] == "overloaded_error"),
    ("anthropic", {"status": 429, "envelope": "native"}, anthropic.RateLimitError, lambda e: e.body["error"]["type"] == "rate_limit_error"),
    ("anthropic", {"status": 401, "envelope": "native"}, anthropic.AuthenticationError, lambda e: e.body["error"]["type"] == "authentication_error"),
    ("anthropic", {"status": 529}, anthropic.OverloadedError, lambda e: e.body["error"]["code"] == "upstream_overloaded"),
    ("gemini", {"status": 429, "envelope": "native"}, genai_errors.ClientError,
     lambda e: (e.code, e.status, e.details["error"]["details"][0]["retryDelay"]) == (429, "RESOURCE_EXHAUSTED", "1s")),
    ("gemini", {"variant": "api_key_invalid"}, genai_errors.ClientError,
     lambda e: (e.code, e.status, e.details["error"]["details"][0]["reason"]) == (400, "INVALID_ARGUMENT", "API_KEY_INVALID")),
    ("gemini", {"status": 503, "envelope": "native"}, genai_errors.ServerError, lambda e: (e.code, e.status) == (503, "UNAVAILABLE")),
    ("gemini", {"status": 403}, genai_errors.ClientError, lambda e: e.code == 403 and e.details["error"]["type"] == "permission_error"),
]


@pytest.mark.parametrize("family, kwargs, expected, attributes", STATUS_CASES, ids=[f"{c[0]}-{c[1]}" for c in STATUS_CASES])
def test_status_faults_reach_each_sdk_as_its_own_error(engine, clients, family, kwargs, expected, attributes):
    with running(engine, LABEL_OF[family]) as (plan, trail):
        plan.inject(**kwargs)
        with pytest.raises(expected) as info:
            ask(clients, family, stream=False)
    assert type(info.value) is expected and attributes(info.value)
    status = kwargs.get("status") or {"insufficient_quota": 429, "api_key_invalid": 400}[kwargs["variant"]]
    assert [(c.source, c.status, c.fault) for c in trail] == [("fault", status, status)]


def test_request_ids_and_a_stream_request_get_the_error_before_any_event(engine, clients):
    with running(engine, "extract") as (plan, _):
        plan.inject(status=503)
        with pytest.raises(openai.InternalServerError) as oai:
            ask(clients, "openai", stream=True)
    with running(engine, "chat") as (plan, _):
        plan.inject(status=529, envelope="native")
        with pytest.raises(anthropic.OverloadedError) as claude:
            ask(clients, "anthropic", stream=True)
    assert oai.value.request_id == claude.value.request_id == "req_anyint_injected"


def test_retry_after_reaches_the_app_and_gemini_retry_info(engine, clients):
    with running(engine, "summarize") as (plan, _):
        plan.inject(status=429, envelope="native", retry_after=30)
        with pytest.raises(genai_errors.ClientError) as info:
            ask(clients, "gemini", stream=False)
    error = info.value.details["error"]
    assert error["details"][0] == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}
    assert "retry in 30s" in error["message"]
    headers = info.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("30", "1")


# --------------------------------------------------------------------------- SDK retries


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every time.sleep the SDKs make; injected errors must keep them at a millisecond."""
    seen: list[float] = []
    monkeypatch.setattr(time, "sleep", seen.append)
    return seen


@pytest.mark.parametrize("family", ["openai", "anthropic"])
def test_sdk_retries_happen_without_sleeping_and_each_is_a_call_in_the_trail(engine, family, sleeps):
    gateway = engine.gateway()
    sdk = openai.OpenAI if family == "openai" else anthropic.Anthropic
    client = sdk(**gateway.sdk_kwargs(family))  # the SDK's default: two retries
    with running(engine, LABEL_OF[family]) as (plan, trail):
        plan.inject(status=503)
        with pytest.raises(sdk is openai.OpenAI and openai.InternalServerError or anthropic.InternalServerError):
            ask({family: client}, family, stream=False)
    assert [(c.source, c.status, c.fault) for c in trail] == [("fault", 503, 503)] * 3
    assert len(sleeps) == 2 and all(s <= 0.001 for s in sleeps)


def test_should_retry_false_is_obeyed_and_true_forces_a_retry(engine, sleeps):
    client = openai.OpenAI(**engine.gateway().sdk_kwargs("openai"))
    with running(engine, "extract") as (plan, trail):
        plan.inject(status=503, should_retry=False)
        with pytest.raises(openai.InternalServerError):
            ask({"openai": client}, "openai", stream=False)
    assert len(trail) == 1
    with running(engine, "extract") as (plan, trail):
        plan.inject(status=400, should_retry=True)  # a 400 is never retried, unless the server says so
        with pytest.raises(openai.BadRequestError) as info:
            ask({"openai": client}, "openai", stream=False)
    assert len(trail) == 3 and info.value.response.headers["x-should-retry"] == "true"


def test_gemini_retries_only_with_retry_options_and_each_retry_is_in_the_trail(engine, clients):
    options = genai_types.HttpRetryOptions(attempts=3, initial_delay=0, max_delay=0, jitter=0)
    kwargs = engine.gateway().sdk_kwargs("gemini")
    client = genai.Client(api_key=kwargs["api_key"], http_options={**kwargs["http_options"], "retry_options": options})
    with running(engine, "summarize") as (plan, trail):
        plan.inject(status=503)
        with pytest.raises(genai_errors.ServerError):
            ask({"gemini": clients["gemini"]}, "gemini", stream=False)
        with pytest.raises(genai_errors.ServerError):
            ask({"gemini": client}, "gemini", stream=False)
    assert [c.status for c in trail] == [503] + [503] * 3


def test_times_and_the_latest_fault_first(engine, sleeps):
    client = openai.OpenAI(**engine.gateway().sdk_kwargs("openai"))
    with running(engine, "extract") as (plan, trail):
        plan.inject(status=429)
        first = plan.inject(status=503, times=1)
        with pytest.raises(openai.RateLimitError):
            ask({"openai": client}, "openai", stream=False)
    assert [c.status for c in trail] == [503, 429, 429]
    assert first.used == 1 and first.exhausted


def test_record_mode_injects_too_and_never_writes_a_fault_into_the_cassette(root, sleeps):
    session = AnyIntSession(
        SessionOptions(rootdir=root, record_mode="once", use_emulator=True, contracts_mode="off", cassette_dir="recorded"),
        environ={},
    )
    try:
        client = openai.OpenAI(**session.gateway().sdk_kwargs("openai"))
        with running(session, "extract") as (plan, trail):
            plan.inject(status=503, times=2)
            answer = ask({"openai": client}, "openai", stream=False)
        assert answer.choices[0].message.content.startswith("gpt-5-mini")
        assert [(c.source, c.status) for c in trail] == [("fault", 503), ("fault", 503), ("network", 200)]
        cassette = root / "recorded/test_faults/sdk/extract/gpt-5-mini.yaml"
        interactions = read_cassette(cassette)["interactions"]
        assert [i["response"]["status"]["code"] for i in interactions] == [200]
        assert b"req_anyint_injected" not in cassette.read_bytes()
    finally:
        session.stop()


# --------------------------------------------------------------------------- inject() arguments


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one of status="),
        ({"status": 503, "kind": "timeout"}, "exactly one of status="),
        ({"status": 200}, "HTTP error status (400-599), got 200"),
        ({"kind": "slow"}, "unknown fault kind 'slow'; expected one of timeout, connect"),
        ({"kind": "timeout", "retry_after": 5}, "go with status=, not kind='timeout'"),
        ({"status": 503, "times": 0}, "times= must be a positive number"),
        ({"status": 503, "envelope": "upstream"}, 'envelope= must be "gateway" or "native"'),
        ({"status": 503, "variant": "insufficient_quota"}, "openai's 429 body, not a 503"),
        ({"variant": "quota"}, "unknown variant 'quota'"),
        ({"status": 429, "retry_after": -1}, "retry_after= must be a number of seconds >= 0"),
    ],
)
def test_inject_rejects_bad_arguments_with_a_reason(engine, kwargs, message):
    plan = FaultPlan(engine, RouteCase("extract", "gpt-5-mini", 0))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        plan.inject(**kwargs)


def test_inject_refuses_a_model_outside_the_route(engine):
    plan = FaultPlan(engine, RouteCase("extract", "gpt-5-mini", 0))
    with pytest.raises(ValueError) as info:
        plan.inject("gpt-4o", status=503)
    assert str(info.value) == (
        "inject('gpt-4o'): gpt-4o is not in route 'extract' (chain: gpt-5-mini, deepseek-v3.2-exp, "
        "gemini-2.5-flash), so no call of this test can reach it"
    )


def test_a_fault_case_fails_the_primary_for_the_whole_test_and_nothing_else(engine):
    plan = FaultPlan(engine, RouteCase("extract", "gpt-5-mini", 0, "timeout"))
    primary, fallback = Call("gpt-5-mini", "openai", "POST", "/x"), Call("deepseek-v3.2-exp", "openai", "POST", "/x")
    assert [plan.take(primary).label for _ in range(5)] == ["timeout"] * 5
    assert plan.take(fallback) is None


# --------------------------------------------------------------------------- the wire itself


def _schema_validator(family: str) -> Any:
    import jsonschema
    from referencing import Registry, Resource

    base = Path(__file__).resolve().parents[1] / "pytest_anyint" / "_contracts" / "errors"
    registry = Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text()))) for path in base.glob("*.json")
    )
    return jsonschema.Draft202012Validator({"$ref": f"{family}-route.json"}, registry=registry)


@pytest.mark.parametrize("family", ["openai", "anthropic", "gemini", "media", "music"])
def test_every_injected_error_body_satisfies_the_shipped_error_contract(family):
    validator = _schema_validator(family)
    statuses = sorted({*GATEWAY_ERRORS, 402, 409, 413, 422, 499})
    bodies = [error_body(s, family, envelope=e) for s in statuses for e in ("gateway", "native")]
    bodies += [error_body(429, family, envelope="native", variant="insufficient_quota", retry_after=7)]
    bodies += [error_body(400, family, envelope="native", variant="api_key_invalid")]
    for body in bodies:
        errors = [e.message for e in validator.iter_errors(body)]
        assert errors == [], (body, errors)


@pytest.mark.parametrize(
    "family, names",
    [("openai", [None, None, None]), ("anthropic", ["message_start", "content_block_start", "content_block_delta", "error"]), ("gemini", [None, None])],
)
def test_stream_error_is_a_200_stream_whose_last_event_is_the_family_error(family, names):
    wire = body_fault_wire("stream-error", family, "m-1", stream=True)
    assert (wire.status, wire.content_type, wire.cut) == (200, "text/event-stream", False)
    events = sse.parse(wire.body.decode())
    assert [e.event for e in events] == names
    last = events[-1].json()
    assert "error" in last and "[DONE]" not in wire.body.decode()
    if family == "gemini":
        assert wire.body.decode().count("\r\n\r\n") == 2  # Gemini frames with CRLF


def test_truncated_stream_cuts_mid_event_and_malformed_json_breaks_the_first_event():
    cut = body_fault_wire("truncated-stream", "anthropic", "m-1", stream=True)
    assert cut.cut and cut.declared_length is None and not cut.body.endswith(b"\n\n")
    broken = body_fault_wire("malformed-json", "openai", "m-1", stream=True)
    events = sse.parse(broken.body.decode())
    assert events[-1].is_done
    with pytest.raises(ValueError):
        events[0].json()
    plain = body_fault_wire("truncated-stream", "gemini", "m-1", stream=False)
    assert plain.cut and plain.declared_length is not None and len(plain.body) < plain.declared_length
    array = body_fault_wire("stream-error", "gemini", "m-1", stream=True, form=FAMILIES["gemini"].stream_form(""))
    assert array.content_type == "application/json" and json.loads(array.body)[-1]["error"]["status"] == "UNAVAILABLE"


# --------------------------------------------------------------------------- the policy check


@pytest.fixture(scope="module")
def routes(root: Path) -> Any:
    return load_config(root / "anyint.yaml", environ={}).routes


def trail_of(*calls: tuple[str, Any]) -> CallTrail:
    """A trail from (model, fault-or-status) pairs: an int < 400 is a served answer."""
    out = CallTrail()
    for model, what in calls:
        served = isinstance(what, int) and what < 400
        out.append(
            Call(model, "openai", "POST", "/openai/v1/chat/completions", status=what if isinstance(what, int) else None,
                 fault=None if served else what, source="cassette" if served else "fault")
        )
    return out


def record(message: str, *args: Any, name: str = "app", **extra: Any) -> logging.LogRecord:
    item = logging.LogRecord(name, logging.WARNING, __file__, 1, message, args, None)
    item.__dict__.update(extra)
    return item


def test_a_logged_fallback_passes(routes):
    trail = trail_of(("gpt-5-mini", 503), ("deepseek-v3.2-exp", 200))
    logs = [record("%s failed with %s, falling back to %s", "gpt-5-mini", 503, "deepseek-v3.2-exp")]
    assert check_policy(routes["extract"], 503, trail, logs) == []


def test_no_fallback_where_the_policy_requires_one(routes):
    trail = trail_of(("gpt-5-mini", 503), ("gpt-5-mini", 503), ("gpt-5-mini", 503))
    assert check_policy(routes["extract"], 503, trail, []) == [
        "route 'extract', fault 503: primary gpt-5-mini returned 503 (3 calls), the app never tried "
        "deepseek-v3.2-exp (policy: fallback_on includes 503)"
    ]
    assert check_policy(routes["extract"], "timeout", trail_of(("gpt-5-mini", "timeout")), []) == [
        "route 'extract', fault timeout: primary gpt-5-mini timed out, the app never tried deepseek-v3.2-exp "
        "(policy: fallback_on includes timeout)"
    ]


def test_a_fallback_to_the_wrong_model_names_the_one_required(routes):
    trail = trail_of(("gpt-5", 529), ("claude-haiku-4-5", 200))
    assert check_policy(routes["classify"], 529, trail, [record("gpt-5 529 -> claude-haiku-4-5")]) == [
        "route 'classify', fault 529: primary gpt-5 returned 529, the app never tried gpt-5-mini, it went to "
        "claude-haiku-4-5 instead (policy: fallback_on includes 529; gpt-5-mini is the first fallback of the "
        "route's family (openai))"
    ]


def test_a_fallback_that_masks_an_auth_failure(routes):
    trail = trail_of(("gpt-5-mini", 401), ("deepseek-v3.2-exp", 200))
    logs = [record("gpt-5-mini 401, trying deepseek-v3.2-exp")]
    assert check_policy(routes["extract"], 401, trail, logs) == [
        "route 'extract', fault 401: the app fell back on 401 from gpt-5-mini to deepseek-v3.2-exp: an auth "
        "failure must surface, not be masked (policy: never_fallback_on includes 401)"
    ]
    assert check_policy(routes["extract"], 401, trail_of(("gpt-5-mini", 401)), []) == []


def test_statuses_in_neither_list_follow_their_class_and_say_so(routes):
    assert check_policy(routes["extract"], 418, trail_of(("gpt-5-mini", 418), ("deepseek-v3.2-exp", 200)), []) == [
        "route 'extract', fault 418: the app fell back on 418 from gpt-5-mini to deepseek-v3.2-exp: a client "
        "error must surface, not be masked (policy: 418 is in neither list, and a 4xx must surface)"
    ]
    assert check_policy(routes["extract"], 507, trail_of(("gpt-5-mini", 507)), [])[0].endswith(
        "(policy: 507 is in neither list, and a 5xx falls back)"
    )
    # a route that moved 502 to never_fallback_on, and that has no fallback at all
    assert check_policy(routes["code"], 502, trail_of(("gpt-5-mini", 502)), []) == []


def test_the_fallback_log_must_name_both_models_and_the_status(routes):
    trail = trail_of(("gpt-5-mini", 503), ("deepseek-v3.2-exp", 200))
    assert check_policy(routes["extract"], 503, trail, []) == [
        "route 'extract', fault 503: the app fell back from gpt-5-mini to deepseek-v3.2-exp but no log record of "
        "the test names gpt-5-mini, deepseek-v3.2-exp and the status 503 (policy: require_fallback_log); a "
        'fallback must be visible, e.g. log.warning("%s failed with %s, falling back to %s", primary, 503, fallback)'
    ]
    no_status = [record("model %s failed, using %s", "gpt-5-mini", "deepseek-v3.2-exp")]
    assert check_policy(routes["extract"], 503, trail, no_status) == [
        "route 'extract', fault 503: the app logged its fallback from gpt-5-mini to deepseek-v3.2-exp without the "
        'status 503 ("model gpt-5-mini failed, using deepseek-v3.2-exp") (policy: require_fallback_log); say why it fell back'
    ]


def test_what_counts_as_a_fallback_log(routes):
    trail = trail_of(("gpt-5-mini", 503), ("deepseek-v3.2-exp", 200))
    structured = [record("fallback", primary="gpt-5-mini", fallback="deepseek-v3.2-exp", status=503)]
    assert check_policy(routes["extract"], 503, trail, structured) == []
    sdk_noise = [record("gpt-5-mini 503 deepseek-v3.2-exp", name="openai._base_client"), record("x", name="httpx")]
    assert check_policy(routes["extract"], 503, trail, sdk_noise) != []
    kind_trail = trail_of(("gpt-5-mini", "reset"), ("deepseek-v3.2-exp", 200))
    assert check_policy(routes["extract"], "reset", kind_trail, [record("gpt-5-mini broke; deepseek-v3.2-exp now")]) == []


def test_a_model_named_inside_a_longer_id_does_not_count(routes):
    trail = trail_of(("gpt-5", 503), ("gpt-5-mini", 200))
    only_mini = [record("gpt-5-mini answered after 503 from gpt-5-mini-2")]
    assert len(check_policy(routes["classify"], 503, trail, only_mini)) == 1
    assert check_policy(routes["classify"], 503, trail, [record("gpt-5 got 503. Falling back to gpt-5-mini.")]) == []


def test_hammering_a_failing_model_is_reported_with_the_trail(routes):
    trail = trail_of(*[("gpt-5-mini", 503)] * 6, ("deepseek-v3.2-exp", 200))
    logs = [record("gpt-5-mini 503 -> deepseek-v3.2-exp")]
    assert check_policy(routes["extract"], 503, trail, logs) == [
        "route 'extract', fault 503: the app called the failing gpt-5-mini 6 times in a row (gpt-5-mini ×6, then "
        "deepseek-v3.2-exp) (policy: max_attempts_per_model is 3, one call plus the SDKs' default two retries); "
        "cap the SDK's max_retries and any retry loop of your own"
    ]
    three = trail_of(*[("gpt-5-mini", 503)] * 3, ("deepseek-v3.2-exp", 200), *[("gpt-5-mini", 503)] * 3, ("deepseek-v3.2-exp", 200))
    assert check_policy(routes["extract"], 503, three, logs) == []  # two documents, each retried twice: fine
    five = trail_of(*[("gpt-5", 503)] * 5, ("gpt-5-mini", 200))
    assert check_policy(routes["classify"], 503, five, [record("gpt-5 503 gpt-5-mini")]) == []  # its own limit


def test_a_fault_case_that_never_called_the_primary_proves_nothing(routes):
    assert check_policy(routes["extract"], 503, CallTrail(), []) == [
        "route 'extract', fault 503: the test made no call to the primary gpt-5-mini, so the fault was never met "
        "and the policy was not proven; call the app under test with anyint_route.model inside the test"
    ]


def test_a_refused_case_reports_only_a_forbidden_fallback(routes):
    unrecorded = trail_of(("gpt-5-mini", 401))
    unrecorded.append(Call("deepseek-v3.2-exp", "openai", "POST", "/openai/v1/chat/completions"))
    assert len(check_policy(routes["extract"], 401, unrecorded, [], refused=True)) == 1
    fine = trail_of(("gpt-5-mini", 503))
    fine.append(Call("deepseek-v3.2-exp", "openai", "POST", "/openai/v1/chat/completions"))
    assert check_policy(routes["extract"], 503, fine, [], refused=True) == []


def test_max_attempts_per_model_is_validated(tmp_path):
    path = tmp_path / "anyint.yaml"
    path.write_text("version: 1\npolicy: {max_attempts_per_model: 0}\nroutes: {r: {family: openai, primary: m}}\n")
    with pytest.raises(ConfigError, match=r"policy.max_attempts_per_model"):
        load_config(path, environ={})
    path.write_text("version: 1\npolicy: {max_attempts_per_model: 2}\nroutes: {r: {family: openai, primary: m}}\n")
    assert load_config(path, environ={}).routes["r"].policy.max_attempts_per_model == 2


# --------------------------------------------------------------------------- the emulator puts the same wire on a socket


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    from pytest_anyint.emulator.server import Emulator

    with Emulator() as running_emulator:
        yield running_emulator


@pytest.fixture(scope="module")
def emulated_clients(emulator: Any) -> dict[str, Any]:
    from pytest_anyint.families import FAMILIES

    kwargs = {name: FAMILIES[name].sdk_kwargs(emulator.url, emulator.api_key) for name in ("openai", "anthropic", "gemini")}
    return {
        "openai": openai.OpenAI(**kwargs["openai"], max_retries=0),
        "anthropic": anthropic.Anthropic(**kwargs["anthropic"], max_retries=0),
        "gemini": genai.Client(**kwargs["gemini"]),
    }


EMULATED = [k for k in CASES if k[1] in ("malformed-json", "truncated-stream", "stream-error", "empty-body")]


@pytest.mark.parametrize("family, kind, stream", EMULATED, ids=[f"{f}-{k}-{'stream' if s else 'plain'}" for f, k, s in EMULATED])
def test_the_emulator_sends_each_body_fault_over_a_real_socket_as_the_sdk_expects(emulator, emulated_clients, family, kind, stream):
    """The emulator's fail() is the fault engine's Fault; this proves its server sends the wire right:
    chunked events, a cut connection, a short body under a longer Content-Length."""
    model = {"openai": "gpt-5-mini", "anthropic": "claude-sonnet-4-6", "gemini": "gemini-2.5-flash"}[family]
    emulator.reset()
    assert isinstance(emulator.fail(model, kind=kind, times=1), Fault)
    expected = SDK_OUTCOME[(family, kind, stream)]
    if expected is None:
        result = ask(emulated_clients, family, stream)
        assert result == [] if stream else result.text is None
    else:
        with pytest.raises(expected) as info:
            ask(emulated_clients, family, stream)
        assert type(info.value) is expected


def test_the_emulator_sends_x_should_retry(emulator):
    emulator.reset()
    emulator.fail("gpt-5-mini", status=503, should_retry=False, times=1)
    from pytest_anyint.families import FAMILIES

    client = openai.OpenAI(**FAMILIES["openai"].sdk_kwargs(emulator.url, emulator.api_key))  # two retries by default
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="gpt-5-mini", messages=HELLO)
    assert info.value.response.headers["x-should-retry"] == "false"
    assert len([r for r in emulator.requests if r.model == "gpt-5-mini"]) == 1
