"""The official SDKs (httpx2) and plain httpx, sync and async, streaming and not, recorded against the
emulator over a real socket and replayed offline — in one process and under pytest-xdist."""

from __future__ import annotations

SDK_TESTS = '''
import anthropic
import httpx
import openai
import pytest
from google import genai

PROMPT = [{"role": "user", "content": "vendor: ACME"}]


@pytest.fixture(scope="module")
def oai(anyint_gateway):
    return openai.OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0)


@pytest.fixture(scope="module")
def aoai(anyint_gateway):
    return openai.AsyncOpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0)


@pytest.fixture(scope="module")
def claude(anyint_gateway):
    return anthropic.Anthropic(**anyint_gateway.sdk_kwargs("anthropic"), max_retries=0)


@pytest.fixture(scope="module")
def aclaude(anyint_gateway):
    return anthropic.AsyncAnthropic(**anyint_gateway.sdk_kwargs("anthropic"), max_retries=0)


@pytest.fixture(scope="module")
def gemini(anyint_gateway):
    return genai.Client(**anyint_gateway.sdk_kwargs("gemini"))


@pytest.mark.route("extract")
def test_openai_sync(oai, anyint_route, anyint_calls):
    answer = oai.chat.completions.create(model=anyint_route.model, messages=PROMPT)
    assert answer.model == anyint_route.model
    chunks = list(oai.chat.completions.create(model=anyint_route.model, messages=PROMPT, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer.choices[0].message.content
    assert [(c.model, c.stream, c.status) for c in anyint_calls] == [
        (anyint_route.model, False, 200), (anyint_route.model, True, 200)
    ]
    assert anyint_calls[0].input_tokens > 0 and anyint_calls[0].output_tokens > 0


@pytest.mark.asyncio
@pytest.mark.route("extract", models="primary")
async def test_openai_asyncio(aoai, anyint_route, anyint_calls):
    stream = await aoai.chat.completions.create(model=anyint_route.model, messages=PROMPT, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert anyint_route.model in text
    assert anyint_calls[0].stream


@pytest.mark.route("chat")
def test_anthropic_sync(claude, anyint_route, anyint_calls):
    message = claude.messages.create(model=anyint_route.model, max_tokens=64, messages=PROMPT)
    assert message.content[0].text
    with claude.messages.stream(model=anyint_route.model, max_tokens=64, messages=PROMPT) as stream:
        streamed = "".join(stream.text_stream)
    assert streamed == message.content[0].text
    counted = claude.messages.count_tokens(model=anyint_route.model, messages=PROMPT)
    assert counted.input_tokens > 0
    assert [c.endpoint for c in anyint_calls] == [
        "/anthropic/v1/messages", "/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens"
    ]


@pytest.mark.anyio
@pytest.mark.route("chat", models="fallbacks")
async def test_anthropic_anyio(aclaude, anyint_route):
    message = await aclaude.messages.create(model=anyint_route.model, max_tokens=64, messages=PROMPT)
    assert message.model == anyint_route.model


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.route("summarize")
def test_gemini_sync_and_stream(gemini, anyint_route, anyint_calls):
    answer = gemini.models.generate_content(model=anyint_route.model, contents="vendor: ACME")
    streamed = "".join(c.text or "" for c in gemini.models.generate_content_stream(model=anyint_route.model, contents="vendor: ACME"))
    assert streamed == answer.text
    assert [c.model for c in anyint_calls] == [anyint_route.model, anyint_route.model]
    assert anyint_calls[1].endpoint.endswith(":streamGenerateContent")


@pytest.mark.asyncio
@pytest.mark.route("summarize", models="primary")
async def test_gemini_async(gemini, anyint_route):
    answer = await gemini.aio.models.generate_content(model=anyint_route.model, contents="vendor: ACME")
    assert answer.text


@pytest.mark.route("extract", models="primary")
def test_plain_httpx(anyint_route):
    with anyint_route.client() as client:
        reply = client.post("/chat/completions", json={"model": anyint_route.model, "messages": PROMPT})
    assert reply.status_code == 200 and reply.json()["model"] == anyint_route.model


@pytest.mark.asyncio
@pytest.mark.route("extract", models="primary")
async def test_plain_httpx_async(anyint_route):
    async with anyint_route.async_client() as client:
        reply = await client.post("/chat/completions", json={"model": anyint_route.model, "messages": PROMPT})
    assert reply.json()["choices"][0]["message"]["content"]
'''

EXPECTED = dict(passed=11)


def test_record_then_replay_with_every_sdk(project):
    project.tests(test_sdks=SDK_TESTS)
    project.record().assert_outcomes(**EXPECTED)
    cassettes = project.cassettes()
    assert len(cassettes) == 11
    assert "test_sdks/test_gemini_sync_and_stream/summarize/gemini-2.5-pro.yaml" in cassettes
    for name in cassettes:
        text = project.cassette(name).read_text()
        assert "emulator-key" not in text  # the key the emulator accepted never lands in a cassette
    stream = project.cassette("test_sdks/test_anthropic_sync/chat/claude-sonnet-4-6.yaml").read_text()
    assert "sse:" in stream and "event: message_stop" in stream
    project.replay().assert_outcomes(**EXPECTED)


def test_xdist_records_and_replays(project):
    project.tests(test_sdks=SDK_TESTS)
    project.pytester.runpytest_subprocess(
        "-n", "2", "--anyint-record=once", "--anyint-emulator"
    ).assert_outcomes(**EXPECTED)
    assert len(project.cassettes()) == 11
    project.pytester.runpytest_subprocess("-n", "2").assert_outcomes(**EXPECTED)
