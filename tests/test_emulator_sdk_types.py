"""Every emulator answer parses with the official SDK's own pydantic types, in strict mode.

The SDKs build their objects without validating, so an answer the SDK "accepts" can still lack a
required field (the Anthropic models list once lacked ``lifecycle``). Here each answer, on every
route the emulator serves, in every shape (plain, SSE stream, Gemini's JSON array, errors, drift,
configured answers), goes through ``model_validate_json(..., strict=True)`` of the SDK type an app
would get. Media and music routes have no SDK: their answers are checked against the shipped
family contracts. One error envelope per route: every error of a route parses with the same type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic.types as anthropic_types
import httpx
import openai.types as openai_types
import openai.types.chat as openai_chat
import pytest
from google.genai import types as genai_types
from pydantic import TypeAdapter

from pytest_anyint import sse
from pytest_anyint.contracts.index import ContractIndex
from pytest_anyint.emulator.server import Emulator
from pytest_anyint.families import FAMILIES

HELLO = [{"role": "user", "content": "Say hello, then give me JSON.\nTotal: 120.50"}]
ANTHROPIC_EVENT = TypeAdapter(anthropic_types.RawMessageStreamEvent)
ANTHROPIC_ERROR = TypeAdapter(anthropic_types.ErrorObject)
# the models the emulator serves from a project's config, beside its built-in ones
CUSTOM = {"my-org/custom-model-1": "openai", "claude-custom-9": "anthropic", "gemini-2.0-flash": "gemini"}


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator(quirks={"qwen3-max": "fenced-json"}) as emulator:
        for model, family in CUSTOM.items():
            emulator.add_models([model], family=family)
        yield emulator


@pytest.fixture
def emu(server: Emulator) -> Iterator[Emulator]:
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, timeout=10) as client:
        yield client


def strict(model: Any, raw: bytes | str) -> Any:
    if isinstance(model, TypeAdapter):
        return model.validate_json(raw, strict=True)
    return model.model_validate_json(raw, strict=True)


def auth(emu: Emulator, family: str) -> dict[str, str]:
    return FAMILIES[family].auth_headers(emu.api_key)


def openai_answers(http: httpx.Client, emu: Emulator, model: str) -> None:
    body = {"model": model, "messages": HELLO}
    plain = http.post("/openai/v1/chat/completions", headers=auth(emu, "openai"), json=body)
    assert strict(openai_chat.ChatCompletion, plain.content).choices[0].message.content
    for extra in ({"stream": True}, {"stream": True, "stream_options": {"include_usage": True}}):
        stream = http.post("/openai/v1/chat/completions", headers=auth(emu, "openai"), json={**body, **extra})
        events = [e for e in sse.parse(stream.text) if not e.is_done]
        assert events and sse.parse(stream.text)[-1].is_done
        chunks = [strict(openai_chat.ChatCompletionChunk, e.data) for e in events]
        if "stream_options" in extra:
            assert chunks[-1].choices == [] and chunks[-1].usage is not None


def anthropic_answers(http: httpx.Client, emu: Emulator, model: str) -> None:
    body = {"model": model, "max_tokens": 64, "messages": HELLO}
    plain = http.post("/anthropic/v1/messages", headers=auth(emu, "anthropic"), json=body)
    message = strict(anthropic_types.Message, plain.content)
    assert message.usage.service_tier == "standard"
    stream = http.post("/anthropic/v1/messages", headers=auth(emu, "anthropic"), json={**body, "stream": True})
    for event in sse.parse(stream.text):
        if event.event == "ping":
            continue
        parsed = strict(ANTHROPIC_EVENT, event.data)
        assert parsed.type == event.event  # the event: line names the data's type
    count = http.post("/anthropic/v1/messages/count_tokens", headers=auth(emu, "anthropic"), json={"model": model, "messages": HELLO})
    assert strict(anthropic_types.MessageTokensCount, count.content).input_tokens > 0


def gemini_answers(http: httpx.Client, emu: Emulator, model: str) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": HELLO[0]["content"]}]}]}
    base = f"/gemini/v1beta/models/{model}"
    plain = http.post(f"{base}:generateContent", headers=auth(emu, "gemini"), json=body)
    assert strict(genai_types.GenerateContentResponse, plain.content).text
    stream = http.post(f"{base}:streamGenerateContent", params={"alt": "sse"}, headers=auth(emu, "gemini"), json=body)
    for event in sse.parse(stream.text):
        strict(genai_types.GenerateContentResponse, event.data)
    array = http.post(f"{base}:streamGenerateContent", headers=auth(emu, "gemini"), json=body)
    for item in json.loads(array.content):
        strict(genai_types.GenerateContentResponse, json.dumps(item))


@pytest.mark.parametrize("drift", [None, "additive", "wording"])
def test_every_text_answer_parses_strictly(emu, http, drift):
    if drift:
        emu.drift(drift)
    for model in ("gpt-5-mini", "qwen3-max", "my-org/custom-model-1"):
        openai_answers(http, emu, model)
    for model in ("claude-haiku-4-5", "claude-custom-9"):
        anthropic_answers(http, emu, model)
    for model in ("gemini-2.5-flash", "gemini-2.0-flash", "my-org/custom-model-1"):
        if drift == "additive":  # a field no SDK knows yet: google-genai's types forbid it, its client drops it
            from google import genai

            client = genai.Client(**FAMILIES["gemini"].sdk_kwargs(emu.url, emu.api_key))
            assert client.models.generate_content(model=model, contents="hi").text
            continue
        gemini_answers(http, emu, model)


def test_answers_set_by_a_fixture_or_the_config_parse_strictly(emu, http):
    emu.answer_with({"total": 120.5, "items": [1, 2]})
    openai_answers(http, emu, "gpt-5-mini")
    anthropic_answers(http, emu, "claude-haiku-4-5")
    gemini_answers(http, emu, "gemini-2.5-flash")


def test_models_lists_parse_strictly(emu, http):
    listing = http.get("/openai/v1/models", headers=auth(emu, "openai")).json()
    assert listing["object"] == "list"
    ids = [strict(openai_types.Model, json.dumps(m)).id for m in listing["data"]]
    assert set(CUSTOM) <= set(ids)  # the OpenAI list is the gateway-wide one
    page = http.get("/anthropic/v1/models", headers=auth(emu, "anthropic")).json()
    infos = [strict(anthropic_types.ModelInfo, json.dumps(m)) for m in page["data"]]
    assert [i.id for i in infos] == [m for m in emu.models if emu.model_families[m] == "anthropic"]
    assert "claude-custom-9" in page["data"][-1]["id"] and page["last_id"] == "claude-custom-9"
    assert set(page) == {"data", "has_more", "first_id", "last_id"} and page["has_more"] is False


def test_media_and_music_answers_satisfy_the_family_contracts(emu, http):
    index = ContractIndex.load()

    def check(response: httpx.Response) -> Any:
        violations = index.validate(
            method=response.request.method,
            path=response.request.url.path,
            status=response.status_code,
            content_type=response.headers.get("content-type"),
            body=response.content,
        )
        assert response.status_code == 200 and not violations, violations
        return response.json()

    create = check(http.post(
        "/dashscope/v1/services/aigc/video-generation/video-synthesis",
        headers=auth(emu, "media"),
        json={"model": "wan2.5-t2v-preview", "input": {"prompt": "a cat"}},
    ))
    task = create["output"]["task_id"]
    for _ in range(2):
        check(http.get(f"/dashscope/v1/tasks/{task}", headers=auth(emu, "media")))
    song = check(http.post("/suno/generate", headers=auth(emu, "music"), json={"model": "V5", "prompt": "a song"}))
    for _ in range(2):
        check(http.get("/suno/query/task", params={"taskId": song["data"]["taskId"]}, headers=auth(emu, "music")))


# --------------------------------------------------------------------------- one error envelope per route

#: Per family route: a request that reaches it, and the SDK type its error envelope's ``error`` parses as.
ROUTES = {
    "openai": ("POST", "/openai/v1/chat/completions", {"model": "gpt-5-mini", "messages": HELLO}),
    "openai-models": ("GET", "/openai/v1/models", None),
    "anthropic": ("POST", "/anthropic/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": HELLO}),
    "anthropic-count": ("POST", "/anthropic/v1/messages/count_tokens", {"model": "claude-haiku-4-5", "messages": HELLO}),
    "anthropic-models": ("GET", "/anthropic/v1/models", None),
    "gemini": ("POST", "/gemini/v1beta/models/gemini-2.5-flash:generateContent", {"contents": [{"parts": [{"text": "hi"}]}]}),
    "media": ("POST", "/dashscope/v1/services/aigc/video-generation/video-synthesis", {"model": "wan2.5-t2v-preview", "input": {}}),
    "music": ("POST", "/suno/generate", {"model": "V5", "prompt": "x"}),
}


def error_type_of(route: str) -> Any:
    return ANTHROPIC_ERROR if route.startswith("anthropic") else openai_types.shared.ErrorObject


def errors_of(emu: Emulator, http: httpx.Client, route: str) -> list[httpx.Response]:
    """Every kind of error the route answers: wrong key, and on model routes unknown model, bad body, faults."""
    method, path, body = ROUTES[route]
    family = route.split("-")[0]
    out = [http.request(method, path, headers={**auth(emu, family), **{k: "wrong" for k in auth(emu, family) if k != "anthropic-version"}}, json=body)]
    if body is None:
        return out
    if "model" in body:
        out.append(http.request(method, path, headers=auth(emu, family), json={**body, "model": "no-such-model"}))
    out.append(http.request(method, path, headers={**auth(emu, family), "content-type": "application/json"}, content=b"[1, 2]"))
    for status in (400, 429, 500, 503, 504, 529):
        emu.fail(status=status, times=1)
        out.append(http.request(method, path, headers=auth(emu, family), json=body))
    return out


@pytest.mark.parametrize("route", list(ROUTES))
def test_each_route_has_one_error_envelope_that_its_sdk_type_parses(emu, http, route):
    responses = errors_of(emu, http, route)
    assert all(r.status_code >= 400 for r in responses), [r.status_code for r in responses]
    for response in responses:
        body = response.json()
        assert set(body) == {"error"}, body  # the gateway envelope, the same on every answer of the route
        error = strict(error_type_of(route), json.dumps(body["error"]))
        assert error.message and response.headers["request-id"] == response.headers["x-request-id"]
    if route in ("anthropic", "anthropic-count"):
        types = {r.json()["error"]["type"] for r in responses}
        assert {"authentication_error", "api_error", "overloaded_error", "timeout_error", "rate_limit_error"} <= types


def test_native_error_bodies_parse_as_the_sdks_error_types(emu, http):
    from pytest_anyint.faults import error_body

    for status in (400, 401, 403, 404, 429, 500, 503, 529):
        strict(openai_types.shared.ErrorObject, json.dumps(error_body(status, "openai", envelope="native")["error"]))
        strict(anthropic_types.ErrorResponse, json.dumps(error_body(status, "anthropic", envelope="native")))
    strict(openai_types.shared.ErrorObject, json.dumps(error_body(429, "openai", variant="insufficient_quota", envelope="native")["error"]))
    emu.fail("claude-haiku-4-5", kind="stream-error", times=1)
    stream = http.post(
        "/anthropic/v1/messages", headers=auth(emu, "anthropic"),
        json={"model": "claude-haiku-4-5", "max_tokens": 8, "messages": HELLO, "stream": True},
    )
    error_event = sse.parse(stream.text)[-1]
    assert error_event.event == "error"
    assert strict(anthropic_types.ErrorResponse, error_event.data).error.type == "overloaded_error"
