"""The emulator over a real socket, driven by plain httpx and by the official SDKs."""

from __future__ import annotations

import http.client as http_client
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from pytest_anyint import sse
from pytest_anyint.emulator.server import DEFAULT_MODELS, Emulator
from pytest_anyint.families import FAMILIES

INVOICE = "Extract this invoice.\nVendor name: Acme GmbH\nInvoice number: INV-42\nTotal: 120.50\nItems: 3"
INVOICE_FIELDS = {"vendor_name": "Acme GmbH", "invoice_number": "INV-42", "total": 120.5, "items": 3}
HELLO = [{"role": "user", "content": "Say hello to the emulator please"}]


@pytest.fixture(scope="module")
def server():
    with Emulator(quirks={"qwen3-max": "fenced-json", "deepseek-v3.2-exp": "prose", "gpt-5": "slow"}) as emulator:
        yield emulator


@pytest.fixture
def emu(server):
    server.reset()
    yield server
    server.reset()


def sdk(family: str, emulator: Emulator, **extra):
    return {**FAMILIES[family].sdk_kwargs(emulator.url, emulator.api_key), **extra}


def auth(family: str, emulator: Emulator) -> dict[str, str]:
    return FAMILIES[family].auth_headers(emulator.api_key)


@pytest.fixture
def http(emu):
    with httpx.Client(base_url=emu.url, timeout=5) as client:
        yield client


@pytest.fixture
def oai(emu):
    return openai.OpenAI(**sdk("openai", emu, max_retries=0))


@pytest.fixture
def claude(emu):
    return anthropic.Anthropic(**sdk("anthropic", emu, max_retries=0))


@pytest.fixture
def gem(emu):
    return genai.Client(**sdk("gemini", emu))


# --------------------------------------------------------------------------- routes, plain httpx


def test_models_routes_list_configured_models(emu, http):
    listing = http.get("/openai/v1/models", headers=auth("openai", emu)).json()
    assert listing["object"] == "list"
    assert [m["id"] for m in listing["data"]] == list(DEFAULT_MODELS)
    assert all(m["object"] == "model" and isinstance(m["created"], int) and m["owned_by"] for m in listing["data"])
    assert {"id": "claude-sonnet-4-6", "display_name": "Claude Sonnet 4.6"}.items() <= listing["data"][4].items()

    page = http.get("/anthropic/v1/models", headers=auth("anthropic", emu)).json()
    ids = [m["id"] for m in page["data"]]
    assert ids == ["claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-6"]
    assert all(m["type"] == "model" and m["created_at"].endswith("Z") for m in page["data"])
    assert (page["has_more"], page["first_id"], page["last_id"]) == (False, ids[0], ids[-1])


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/gemini/v1/models/gemini-2.5-flash:generateContent"),
        ("GET", "/openai/v1/chat/completions"),
    ],
)
def test_unpublished_routes_are_404_in_the_gateway_envelope(emu, http, method, path):
    response = http.request(method, path, headers=auth("openai", emu), json={"model": "gpt-5-mini"})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


def test_chat_completion_shape_is_deterministic(emu, http):
    request = {"model": "gpt-5-mini", "messages": HELLO}
    first = http.post("/openai/v1/chat/completions", headers=auth("openai", emu), json=request)
    second = http.post("/openai/v1/chat/completions", headers=auth("openai", emu), json=request)
    assert first.headers["content-type"] == "application/json"
    assert int(first.headers["content-length"]) == len(first.content)
    body = first.json()
    assert first.content == second.content  # ids and created included: re-recording is stable
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": "gpt-5-mini: Say hello to the emulator please",
        "refusal": None,
        "annotations": [],
    }
    assert (choice["finish_reason"], choice["logprobs"]) == ("stop", None)
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0

    other = http.post(
        "/openai/v1/chat/completions", headers=auth("openai", emu), json={**request, "messages": [{"role": "user", "content": "x"}]}
    ).json()
    assert other["id"] != body["id"]


def test_answers_do_not_depend_on_the_emulator_instance(emu):
    request = {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": HELLO}
    with Emulator(api_key="other-key") as another:
        a = httpx.post(f"{emu.url}/anthropic/v1/messages", headers=auth("anthropic", emu), json=request)
        b = httpx.post(f"{another.url}/anthropic/v1/messages", headers=auth("anthropic", another), json=request)
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()


def test_openai_stream_framing(emu, http):
    request = {"model": "gpt-5-mini", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
    response = http.post("/openai/v1/chat/completions", headers=auth("openai", emu), json=request)
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    events = sse.parse(response.text)
    assert all(e.event is None for e in events)  # data-only SSE
    assert events[-1].is_done and response.text.endswith("data: [DONE]\n\n")
    chunks = [e.json() for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]][-1] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    assert FAMILIES["openai"].stream_text(chunks) == "gpt-5-mini: Say hello to the emulator please"
    assert len({c["id"] for c in chunks}) == 1

    plain = http.post("/openai/v1/chat/completions", headers=auth("openai", emu), json={**request, "stream_options": None})
    assert all("usage" not in e.json() for e in sse.parse(plain.text) if not e.is_done)


def test_anthropic_messages_stream_and_count_tokens(emu, http):
    request = {"model": "claude-sonnet-4-6", "max_tokens": 64, "system": "Be brief.", "messages": HELLO}
    message = http.post("/anthropic/v1/messages", headers=auth("anthropic", emu), json=request).json()
    assert message["id"].startswith("msg_")
    assert (message["type"], message["role"], message["model"]) == ("message", "assistant", "claude-sonnet-4-6")
    assert message["content"] == [{"type": "text", "text": "claude-sonnet-4-6: Say hello to the emulator please"}]
    assert (message["stop_reason"], message["stop_sequence"]) == ("end_turn", None)
    assert set(message["usage"]) == {"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "service_tier"}

    counted = http.post("/anthropic/v1/messages/count_tokens", headers=auth("anthropic", emu), json=request).json()
    assert counted == {"input_tokens": message["usage"]["input_tokens"]}

    stream = http.post("/anthropic/v1/messages", headers=auth("anthropic", emu), json={**request, "stream": True})
    events = sse.parse(stream.text)
    names = [e.event for e in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"}
    assert all(e.json()["type"] == e.event for e in events)
    parsed = [e.json() for e in events]
    assert FAMILIES["anthropic"].stream_text(parsed) == message["content"][0]["text"]
    assert parsed[-2]["usage"]["output_tokens"] == message["usage"]["output_tokens"]  # cumulative


def test_anthropic_requires_max_tokens_in_the_routes_one_envelope(emu, http):
    response = http.post("/anthropic/v1/messages", headers=auth("anthropic", emu), json={"model": "claude-haiku-4-5", "messages": HELLO})
    assert response.status_code == 400
    body = response.json()  # the gateway envelope, as every emulator error on /anthropic/*, with Anthropic's type
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["code"] == "invalid_request"
    assert "max_tokens" in body["error"]["message"]


def test_gemini_generate_and_both_stream_framings(emu, http):
    base = "/gemini/v1beta/models/gemini-2.5-flash"
    request = {"contents": [{"role": "user", "parts": [{"text": "Tell me about Canberra and its lake"}]}]}
    body = http.post(f"{base}:generateContent", headers=auth("gemini", emu), json=request).json()
    candidate = body["candidates"][0]
    assert candidate["content"]["role"] == "model" and candidate["finishReason"] == "STOP" and candidate["index"] == 0
    assert body["modelVersion"] == "gemini-2.5-flash" and body["responseId"]
    usage = body["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]

    streamed = http.post(f"{base}:streamGenerateContent", params={"alt": "sse"}, headers=auth("gemini", emu), json=request)
    assert streamed.headers["content-type"] == "text/event-stream"
    assert "\r\n\r\n" in streamed.text and "\n\n" not in streamed.text.replace("\r\n\r\n", "")
    chunks = [e.json() for e in sse.parse(streamed.text)]
    assert len(chunks) > 1
    assert [("finishReason" in c["candidates"][0]) for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert FAMILIES["gemini"].stream_text(chunks) == FAMILIES["gemini"].text(body)

    array = http.post(f"{base}:streamGenerateContent", headers=auth("gemini", emu), json=request)
    assert array.headers["content-type"] == "application/json"
    assert array.json() == chunks


def test_video_task_flow(emu, http):
    created = http.post(
        "/dashscope/v1/services/aigc/video-generation/video-synthesis",
        headers=auth("media", emu),
        json={"model": "wan2.5-t2v-preview", "input": {"prompt": "a cat surfing"}},
    ).json()
    assert created["output"]["task_status"] == "PENDING" and created["request_id"]
    task = f"/dashscope/v1/tasks/{created['output']['task_id']}"
    first = http.get(task, headers=auth("media", emu)).json()["output"]
    second = http.get(task, headers=auth("media", emu)).json()["output"]
    assert first["task_status"] == "RUNNING" and "video_url" not in first
    assert second["task_status"] == "SUCCEEDED" and second["video_url"].startswith("https://")
    assert http.get("/dashscope/v1/tasks/no-such-task", headers=auth("media", emu)).status_code == 404


@pytest.mark.asyncio
async def test_music_task_flow_async(emu):
    async with httpx.AsyncClient(base_url=emu.url, headers=auth("music", emu)) as client:
        created = (await client.post("/suno/generate", json={"model": "V5", "prompt": "a song", "customMode": False, "instrumental": True, "callBackUrl": "https://example.com/cb"})).json()
        assert (created["code"], created["msg"]) == (200, "success")
        task_id = created["data"]["taskId"]
        first = (await client.get("/suno/query/task", params={"taskId": task_id})).json()["data"]
        second = (await client.get("/suno/query/task", params={"taskId": task_id})).json()["data"]
    assert first["status"] == "PENDING"
    assert second["status"] == "SUCCESS"
    songs = second["response"]["sunoData"]
    assert songs and all({"id", "audioUrl", "title", "tags", "duration"} <= set(s) for s in songs)


@pytest.mark.asyncio
async def test_async_httpx_chat_and_gemini(emu):
    async with httpx.AsyncClient(base_url=emu.url) as client:
        chat = await client.post("/openai/v1/chat/completions", headers=auth("openai", emu), json={"model": "gpt-5-mini", "messages": HELLO})
        gem = await client.post(
            "/gemini/v1beta/models/gemini-3-flash-preview:generateContent",
            headers=auth("gemini", emu),
            json={"contents": [{"parts": [{"text": "hi"}]}]},
        )
    assert FAMILIES["openai"].text(chat.json()).startswith("gpt-5-mini:")
    assert FAMILIES["gemini"].text(gem.json()) == "gemini-3-flash-preview: hi"


def test_streams_are_sent_one_http_chunk_per_event(emu):
    """Each SSE event is its own chunk, flushed, so a client sees the stream incrementally."""
    body = json.dumps({"model": "gpt-5-mini", "messages": HELLO, "stream": True}).encode()
    host, port = emu.url.removeprefix("http://").split(":")
    head = f"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {emu.api_key}\r\n"
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head.encode() + body)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    payload = raw.split(b"\r\n\r\n", 1)[1]
    pieces = []
    while True:
        size_line, payload = payload.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            break
        pieces.append(payload[:size])
        payload = payload[size + 2 :]
    assert len(pieces) > 3
    assert all(p.startswith(b"data: ") and p.endswith(b"\n\n") and p.count(b"data: ") == 1 for p in pieces)
    assert pieces[-1] == b"data: [DONE]\n\n"


def test_slow_quirk_delays_the_answer(emu, http):
    started = time.perf_counter()
    slow = http.post("/openai/v1/chat/completions", headers=auth("openai", emu), json={"model": "gpt-5", "messages": HELLO})
    assert slow.status_code == 200 and time.perf_counter() - started >= 0.2


def test_keep_alive_reuses_one_connection(emu):
    conn = http_client.HTTPConnection("127.0.0.1", int(emu.url.rsplit(":", 1)[1]), timeout=5)
    try:
        answers = []
        for _ in range(2):
            conn.request("GET", "/openai/v1/models", headers=auth("openai", emu))
            answers.append(conn.getresponse())
            answers[-1].read()
            sock = conn.sock
        assert [a.status for a in answers] == [200, 200]
        assert sock is not None and sock is conn.sock  # the second request used the same socket
    finally:
        conn.close()


# --------------------------------------------------------------------------- auth and models


@pytest.mark.parametrize(
    "family, method, path",
    [
        ("openai", "GET", "/openai/v1/models"),
        ("openai", "POST", "/openai/v1/chat/completions"),
        ("anthropic", "POST", "/anthropic/v1/messages"),
        ("gemini", "POST", "/gemini/v1beta/models/gemini-2.5-flash:generateContent"),
        ("media", "POST", "/dashscope/v1/services/aigc/video-generation/video-synthesis"),
        ("music", "POST", "/suno/generate"),
    ],
)
def test_wrong_or_missing_key_is_401_without_echoing_it(emu, http, family, method, path):
    wrong = FAMILIES[family].auth_headers("sk-wrong-key-123")
    for headers in (wrong, {}):
        response = http.request(method, path, headers=headers, json={"model": "gpt-5-mini"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert "sk-wrong-key-123" not in response.text and emu.api_key not in response.text
    assert all("sk-wrong-key-123" not in repr(r) for r in emu.requests)  # the log is redacted


def test_header_family_matters(emu, http):
    bearer = {"Authorization": f"Bearer {emu.api_key}"}
    request = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": HELLO}
    assert http.post("/anthropic/v1/messages", headers=bearer, json=request).status_code == 401
    no_version = {"x-api-key": emu.api_key}
    assert http.post("/anthropic/v1/messages", headers=no_version, json=request).status_code == 401
    assert http.get("/openai/v1/models", headers=auth("anthropic", emu)).status_code == 401
    assert http.post("/anthropic/v1/messages", headers=auth("anthropic", emu), json=request).status_code == 200


def test_unknown_model_is_404_model_not_found(emu, http):
    response = http.post("/openai/v1/chat/completions", headers=auth("openai", emu), json={"model": "gpt-9", "messages": HELLO})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    gem = http.post("/gemini/v1beta/models/gemini-9:generateContent", headers=auth("gemini", emu), json={"contents": []})
    assert gem.status_code == 404


def test_request_log_records_what_arrived(emu, oai):
    oai.chat.completions.create(model="gpt-5-mini", messages=HELLO)
    (seen,) = emu.requests
    assert (seen.method, seen.path, seen.model) == ("POST", "/openai/v1/chat/completions", "gpt-5-mini")
    assert seen.json["messages"] == HELLO
    assert seen.headers["authorization"] == "Bearer [redacted]"
    assert emu.api_key not in repr(seen)


def test_sdk_wrong_key_raises_authentication_errors(emu):
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(**sdk("openai", emu, api_key="bad", max_retries=0)).chat.completions.create(model="gpt-5-mini", messages=HELLO)
    bad = {**sdk("anthropic", emu, max_retries=0), "api_key": "bad", "default_headers": FAMILIES["anthropic"].auth_headers("bad")}
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(**bad).messages.create(model="claude-haiku-4-5", max_tokens=8, messages=HELLO)
    # Bearer with anthropic-version is accepted (the SDK's plain form, an assumed one): with a wrong key it is a 401.
    bearer_only = anthropic.Anthropic(base_url=FAMILIES["anthropic"].base_url(emu.url), api_key=None, auth_token="bad", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bearer_only.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=HELLO)
    with pytest.raises(genai_errors.ClientError) as info:
        bad_gemini = genai.Client(**FAMILIES["gemini"].sdk_kwargs(emu.url, "bad"))
        bad_gemini.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert info.value.code == 401


# --------------------------------------------------------------------------- official SDKs


def test_openai_sdk_create_and_stream(oai):
    completion = oai.chat.completions.create(model="gpt-5-mini", messages=HELLO)
    assert completion.choices[0].message.content == "gpt-5-mini: Say hello to the emulator please"
    assert completion.usage.total_tokens > 0
    chunks = list(oai.chat.completions.create(model="gpt-5-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == completion.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == completion.usage.completion_tokens


@pytest.mark.asyncio
async def test_async_openai_sdk(emu):
    client = openai.AsyncOpenAI(**sdk("openai", emu, max_retries=0))
    completion = await client.chat.completions.create(model="deepseek-v3.2-exp", messages=HELLO)
    stream = await client.chat.completions.create(model="deepseek-v3.2-exp", messages=HELLO, stream=True)
    pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(pieces) == completion.choices[0].message.content == "deepseek-v3.2-exp: Say hello to the emulator please"
    await client.close()


def test_anthropic_sdk_create_stream_and_count(claude):
    message = claude.messages.create(model="claude-opus-4-6", max_tokens=64, messages=HELLO)
    assert message.content[0].text == "claude-opus-4-6: Say hello to the emulator please"
    assert message.stop_reason == "end_turn"
    with claude.messages.stream(model="claude-opus-4-6", max_tokens=64, messages=HELLO) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == message.content[0].text
    assert final.usage.output_tokens == message.usage.output_tokens and final.stop_reason == "end_turn"
    counted = claude.messages.count_tokens(model="claude-opus-4-6", messages=HELLO)
    assert counted.input_tokens == message.usage.input_tokens


@pytest.mark.asyncio
async def test_async_anthropic_sdk_stream_true(emu):
    client = anthropic.AsyncAnthropic(**sdk("anthropic", emu, max_retries=0))
    stream = await client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=HELLO, stream=True)
    types = [event.type async for event in stream]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    counted = await client.messages.count_tokens(model="claude-haiku-4-5", messages=HELLO)
    assert counted.input_tokens > 0
    await client.close()


def test_genai_sdk_generate_and_stream(gem):
    response = gem.models.generate_content(model="gemini-2.5-pro", contents="Say hello to the emulator please")
    assert response.text == "gemini-2.5-pro: Say hello to the emulator please"
    assert response.usage_metadata.total_token_count > 0
    pieces = [chunk.text for chunk in gem.models.generate_content_stream(model="gemini-2.5-pro", contents="Say hello to the emulator please")]
    assert len(pieces) > 1 and "".join(pieces) == response.text


@pytest.mark.asyncio
async def test_genai_sdk_async(emu):
    client = genai.Client(**sdk("gemini", emu))
    response = await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hello async")
    assert response.text == "gemini-2.5-flash: hello async"
    stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hello async")
    assert "".join([chunk.text async for chunk in stream]) == response.text


# --------------------------------------------------------------------------- JSON mode and quirks


def test_json_mode_extracts_key_value_lines(oai, claude, gem):
    by_format = oai.chat.completions.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": INVOICE}], response_format={"type": "json_object"}
    )
    assert json.loads(by_format.choices[0].message.content) == INVOICE_FIELDS
    by_system = claude.messages.create(
        model="claude-haiku-4-5", max_tokens=256, system="Answer in JSON only.", messages=[{"role": "user", "content": INVOICE}]
    )
    assert json.loads(by_system.content[0].text) == INVOICE_FIELDS
    by_mime = gem.models.generate_content(
        model="gemini-2.5-flash", contents=INVOICE, config=genai_types.GenerateContentConfig(response_mime_type="application/json")
    )
    assert json.loads(by_mime.text) == INVOICE_FIELDS
    by_word = oai.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": "Return JSON.\n" + INVOICE}])
    assert json.loads(by_word.choices[0].message.content) == INVOICE_FIELDS
    plain = oai.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": INVOICE}])
    assert plain.choices[0].message.content.startswith("gpt-5-mini: Extract this invoice.")


def test_fenced_json_and_prose_quirks(oai):
    messages = [{"role": "user", "content": INVOICE}]
    fenced = oai.chat.completions.create(model="qwen3-max", messages=messages, response_format={"type": "json_object"})
    text = fenced.choices[0].message.content
    assert text.startswith("```json\n") and text.endswith("\n```")
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert json.loads(text.removeprefix("```json\n").removesuffix("\n```")) == INVOICE_FIELDS
    prose = oai.chat.completions.create(model="deepseek-v3.2-exp", messages=messages, response_format={"type": "json_object"})
    with pytest.raises(json.JSONDecodeError):
        json.loads(prose.choices[0].message.content)
    assert "Acme GmbH" in prose.choices[0].message.content


def test_unknown_quirk_is_rejected():
    with pytest.raises(ValueError, match="quirk"):
        Emulator(quirks={"gpt-5": "sarcastic"})


# --------------------------------------------------------------------------- faults


def test_status_fault_gateway_envelope_reaches_openai_as_rate_limit(emu, oai, http):
    emu.fail("gpt-5-mini", status=429, times=1, retry_after=2)
    with pytest.raises(openai.RateLimitError) as info:
        oai.chat.completions.create(model="gpt-5-mini", messages=HELLO)
    assert info.value.body["type"] == "rate_limit_error" and info.value.body["code"] == "rate_limit_exceeded"
    assert info.value.response.headers["retry-after"] == "2"
    assert oai.chat.completions.create(model="gpt-5-mini", messages=HELLO).choices[0].message.content  # times=1 used up


def test_fault_targets_only_its_model_and_counts_down(emu, http):
    emu.fail("gpt-5-mini", status=503, times=2)
    post = lambda model: http.post("/openai/v1/chat/completions", headers=auth("openai", emu), json={"model": model, "messages": HELLO}).status_code  # noqa: E731
    assert post("deepseek-v3.2-exp") == 200
    assert [post("gpt-5-mini") for _ in range(3)] == [503, 503, 200]
    emu.fail(status=500)  # any model, every request
    assert [post("gpt-5-mini"), post("deepseek-v3.2-exp"), post("gpt-5-mini")] == [500, 500, 500]


def test_native_envelopes_reach_sdks_as_their_types(emu, claude, gem):
    emu.fail("claude-sonnet-4-6", status=529, envelope="native", times=1)
    with pytest.raises(anthropic.OverloadedError) as info:
        claude.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HELLO)
    assert info.value.status_code == 529 and info.value.body["error"]["type"] == "overloaded_error"

    emu.fail("gemini-2.5-flash", status=503, envelope="native", times=1)
    with pytest.raises(genai_errors.ServerError) as gem_info:
        gem.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert gem_info.value.code == 503 and gem_info.value.status == "UNAVAILABLE"

    emu.fail("gemini-2.5-flash", status=429, envelope="native", times=1)
    with pytest.raises(genai_errors.ClientError) as quota:
        gem.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert quota.value.status == "RESOURCE_EXHAUSTED"


def test_body_faults(emu, http, oai):
    url, headers = "/openai/v1/chat/completions", auth("openai", emu)
    whole = http.post(url, headers=headers, json={"model": "gpt-5-mini", "messages": HELLO}).content
    emu.fail(kind="malformed-json", times=1)
    broken = http.post(url, headers=headers, json={"model": "gpt-5-mini", "messages": HELLO})
    # the first half of the answer it would have sent: the bytes an injected malformed-json fault sends
    assert (broken.status_code, broken.headers["content-type"]) == (200, "application/json")
    assert broken.content == whole[: len(whole) // 2]
    emu.fail(kind="empty-body", times=1)
    empty = http.post(url, headers=headers, json={"model": "gpt-5-mini", "messages": HELLO})
    assert (empty.status_code, empty.content, empty.headers["content-type"]) == (200, b"", "application/json")
    emu.fail(kind="malformed-json", times=1)
    with pytest.raises(json.JSONDecodeError):
        oai.chat.completions.create(model="gpt-5-mini", messages=HELLO)


def test_reset_and_timeout_faults(emu, oai, http):
    emu.fail("gpt-5-mini", kind="reset", times=1)
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(model="gpt-5-mini", messages=HELLO)
    emu.fail("gpt-5-mini", kind="timeout", times=1)
    with pytest.raises(httpx.ReadTimeout):
        http.post("/openai/v1/chat/completions", headers=auth("openai", emu), json={"model": "gpt-5-mini", "messages": HELLO}, timeout=0.3)
    assert oai.chat.completions.create(model="gpt-5-mini", messages=HELLO).choices  # the server still serves


def test_truncated_streams_break_mid_body(emu, oai, claude, gem):
    emu.fail(kind="truncated-stream", times=3)
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in oai.chat.completions.create(model="gpt-5-mini", messages=HELLO, stream=True):
            received.append(chunk)
    assert 1 <= len(received) <= 2  # the first chunk or two arrived, then the connection dropped
    with pytest.raises(Exception) as info:
        list(claude.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=HELLO, stream=True))
    assert "incomplete chunked read" in str(info.value) or isinstance(info.value, anthropic.APIConnectionError)
    with pytest.raises(Exception) as info:
        list(gem.models.generate_content_stream(model="gemini-2.5-flash", contents="one two three four five six seven"))
    assert "incomplete chunked read" in str(info.value)


def test_truncated_stream_raw_has_no_terminator(emu):
    emu.fail(kind="truncated-stream", times=1)
    request = {"model": "gpt-5-mini", "messages": HELLO, "stream": True}
    received = b""
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("POST", f"{emu.url}/openai/v1/chat/completions", headers=auth("openai", emu), json=request) as response:
            for piece in response.iter_bytes():
                received += piece
    assert received.startswith(b"data: {") and b"[DONE]" not in received


def test_stream_error_events_per_family(emu, oai, claude, gem):
    emu.fail(kind="stream-error", times=3)
    with pytest.raises(openai.APIError) as oai_info:
        list(oai.chat.completions.create(model="gpt-5-mini", messages=HELLO, stream=True))
    assert "overloaded" in oai_info.value.message
    with pytest.raises(anthropic.APIStatusError) as claude_info:
        list(claude.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=HELLO, stream=True))
    assert claude_info.value.body["error"]["type"] == "overloaded_error"
    with pytest.raises(genai_errors.ServerError):
        list(gem.models.generate_content_stream(model="gemini-2.5-flash", contents="hi there"))


def test_stream_error_raw_anthropic_framing(emu, http):
    emu.fail(kind="stream-error", times=1)
    request = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": HELLO, "stream": True}
    events = sse.parse(http.post("/anthropic/v1/messages", headers=auth("anthropic", emu), json=request).text)
    # the opening events and the answer's first content event, then the family's own error event
    assert [e.event for e in events] == ["message_start", "content_block_start", "ping", "content_block_delta", "error"]
    assert events[3].json()["delta"]["text"] == "claude-haiku-4-5: Say hello"


def test_fail_validates_its_arguments(emu):
    with pytest.raises(ValueError):
        emu.fail(status=500, kind="reset")
    with pytest.raises(ValueError):
        emu.fail(kind="bogus")
    with pytest.raises(ValueError):
        emu.fail("no-such-model", status=500)


# --------------------------------------------------------------------------- drift


def _chat(http, emu):
    return http.post("/openai/v1/chat/completions", headers=auth("openai", emu), json={"model": "gpt-5-mini", "messages": HELLO}).json()


def _claude(http, emu):
    return http.post(
        "/anthropic/v1/messages", headers=auth("anthropic", emu), json={"model": "claude-haiku-4-5", "max_tokens": 8, "messages": HELLO}
    ).json()


def _gemini(http, emu):
    return http.post(
        "/gemini/v1beta/models/gemini-2.5-flash:generateContent", headers=auth("gemini", emu), json={"contents": [{"parts": [{"text": "hi"}]}]}
    ).json()


def test_additive_drift_adds_keys_only_for_its_family(emu, http):
    before = _chat(http, emu)
    emu.drift("additive", family="openai")
    after = _chat(http, emu)
    assert after["anyint_new_field"] == "x"
    assert set(after["usage"]) - set(before["usage"]) == {"anyint_new_detail"}
    assert {k: v for k, v in after.items() if k not in ("anyint_new_field", "usage")} == {k: v for k, v in before.items() if k != "usage"}
    assert "anyint_new_field" not in _claude(http, emu)
    emu.reset()
    assert _chat(http, emu) == before


def test_breaking_drift_removes_and_retypes_core_keys(emu, http):
    emu.drift("breaking")
    chat, claude, gemini = _chat(http, emu), _claude(http, emu), _gemini(http, emu)
    assert "finish_reason" not in chat["choices"][0] and isinstance(chat["created"], str)
    assert "stop_reason" not in claude and isinstance(claude["usage"]["input_tokens"], str)
    assert "content" not in gemini["candidates"][0] and isinstance(gemini["usageMetadata"]["totalTokenCount"], str)


def test_breaking_drift_reaches_streams(emu, http):
    emu.drift("breaking", family="anthropic")
    request = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": HELLO, "stream": True}
    events = [e.json() for e in sse.parse(http.post("/anthropic/v1/messages", headers=auth("anthropic", emu), json=request).text)]
    delta = next(e for e in events if e["type"] == "message_delta")
    assert "stop_reason" not in delta["delta"]
    assert isinstance(events[0]["message"]["usage"]["input_tokens"], str)


def test_wording_drift_changes_text_not_shape(emu, http):
    before = _chat(http, emu)
    emu.drift("wording")
    after = _chat(http, emu)
    assert FAMILIES["openai"].text(after) != FAMILIES["openai"].text(before)
    after["choices"][0]["message"]["content"] = before["choices"][0]["message"]["content"]
    assert {k: v for k, v in after.items() if k != "usage"} == {k: v for k, v in before.items() if k != "usage"}
    json_mode = http.post(
        "/openai/v1/chat/completions",
        headers=auth("openai", emu),
        json={"model": "gpt-5-mini", "messages": [{"role": "user", "content": INVOICE}], "response_format": {"type": "json_object"}},
    ).json()
    assert json.loads(FAMILIES["openai"].text(json_mode)) == INVOICE_FIELDS  # same data, other wording


def test_drift_validates_its_arguments(emu):
    with pytest.raises(ValueError):
        emu.drift("sideways")
    with pytest.raises(ValueError):
        emu.drift("additive", family="cohere")


# --------------------------------------------------------------------------- lifecycle and CLI entry


def test_stop_frees_the_port_and_releases_held_requests():
    emulator = Emulator().start()
    url = emulator.url
    emulator.fail(kind="timeout")
    with httpx.Client(timeout=5) as client:
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                client.post(f"{url}/openai/v1/chat/completions", headers=auth("openai", emulator), json={"model": "gpt-5", "messages": HELLO})
            except BaseException as exc:  # noqa: BLE001 - we only record it
                outcome.append(exc)

        worker = threading.Thread(target=call)
        worker.start()
        worker.join(0.2)
        emulator.stop()
        worker.join(3)
        assert not worker.is_alive() and isinstance(outcome[0], httpx.TransportError)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/openai/v1/models", timeout=1)
    with pytest.raises(RuntimeError):
        _ = emulator.url


def test_serve_prints_one_line_and_exits_cleanly_on_ctrl_c():
    code = "from pytest_anyint.emulator import serve; serve('127.0.0.1', 0, 'cli-key', ['gpt-5-mini'])"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("AnyInt emulator listening on http://127.0.0.1:") and "cli-key" not in line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        listing = httpx.get(f"{url}/openai/v1/models", headers={"Authorization": "Bearer cli-key"}, timeout=5).json()
        assert [m["id"] for m in listing["data"]] == ["gpt-5-mini"]
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "Traceback" not in err
    assert out == ""  # nothing logged per request
