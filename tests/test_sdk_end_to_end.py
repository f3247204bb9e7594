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


# --------------------------------------------------------------------------- clients built the plain way

#: Each official SDK built as most apps build it: ``api_key=`` and ``base_url=`` only (plus
#: ``api_version="v1beta"`` for google-genai), so each sends its own default auth headers — Bearer
#: with a newer anthropic-version for Anthropic, ``x-goog-api-key`` for google-genai.
#: They run on model IDs of the project's own, which the emulator serves because the config lists them.
OWN_MODELS_CONFIG = """
version: 1
routes:
  extract:
    family: openai
    primary: acme-mini
    fallbacks: [acme-mini-fallback]
  chat:
    family: anthropic
    primary: acme-claude
    fallbacks: [acme-claude-small]
  summarize:
    family: gemini
    primary: gemini-2.0-flash
    fallbacks: [acme-gemini-pro]
"""
PLAIN_TESTS = '''
import anthropic
import openai
import pytest
from google import genai
from google.genai import errors, types

PROMPT = [{"role": "user", "content": "vendor: ACME"}]


def plain_openai(route, cls=openai.OpenAI):
    return cls(api_key=route.api_key, base_url=route.base_url, max_retries=0)


def plain_anthropic(route, cls=anthropic.Anthropic):
    return cls(api_key=route.api_key, base_url=route.base_url, max_retries=0)


def plain_genai(route):
    return genai.Client(api_key=route.api_key, http_options=types.HttpOptions(base_url=route.base_url, api_version="v1beta"))


@pytest.mark.route("extract")
def test_openai(anyint_route, anyint_calls):
    client = plain_openai(anyint_route)
    answer = client.chat.completions.create(model=anyint_route.model, messages=PROMPT)
    chunks = list(client.chat.completions.create(model=anyint_route.model, messages=PROMPT, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer.choices[0].message.content
    assert [(c.stream, c.status) for c in anyint_calls] == [(False, 200), (True, 200)]


@pytest.mark.asyncio
@pytest.mark.route("extract", models="primary")
async def test_openai_async(anyint_route):
    client = plain_openai(anyint_route, openai.AsyncOpenAI)
    answer = await client.chat.completions.create(model=anyint_route.model, messages=PROMPT)
    stream = await client.chat.completions.create(model=anyint_route.model, messages=PROMPT, stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == answer.choices[0].message.content


@pytest.mark.route("chat")
def test_anthropic(anyint_route, anyint_calls):
    client = plain_anthropic(anyint_route)
    message = client.messages.create(model=anyint_route.model, max_tokens=64, messages=PROMPT)
    with client.messages.stream(model=anyint_route.model, max_tokens=64, messages=PROMPT) as stream:
        assert "".join(stream.text_stream) == message.content[0].text
    assert client.messages.count_tokens(model=anyint_route.model, messages=PROMPT).input_tokens > 0
    assert [c.status for c in anyint_calls] == [200, 200, 200]


@pytest.mark.asyncio
@pytest.mark.route("chat", models="primary")
async def test_anthropic_async(anyint_route):
    client = plain_anthropic(anyint_route, anthropic.AsyncAnthropic)
    message = await client.messages.create(model=anyint_route.model, max_tokens=64, messages=PROMPT)
    async with client.messages.stream(model=anyint_route.model, max_tokens=64, messages=PROMPT) as stream:
        assert "".join([text async for text in stream.text_stream]) == message.content[0].text


@pytest.mark.route("summarize")
def test_gemini(anyint_route, anyint_calls):
    client = plain_genai(anyint_route)
    answer = client.models.generate_content(model=anyint_route.model, contents="vendor: ACME")
    streamed = "".join(c.text or "" for c in client.models.generate_content_stream(model=anyint_route.model, contents="vendor: ACME"))
    assert streamed == answer.text
    assert [(c.stream, c.status) for c in anyint_calls] == [(False, 200), (True, 200)]


@pytest.mark.asyncio
@pytest.mark.route("summarize", models="primary")
async def test_gemini_async(anyint_route):
    client = plain_genai(anyint_route)
    answer = await client.aio.models.generate_content(model=anyint_route.model, contents="vendor: ACME")
    stream = await client.aio.models.generate_content_stream(model=anyint_route.model, contents="vendor: ACME")
    assert "".join([c.text or "" async for c in stream]) == answer.text


@pytest.mark.route("extract", models="primary")
def test_openai_sees_the_fault(anyint_route, anyint_faults):
    anyint_faults.inject(anyint_route.model, status=503, times=1)
    client = plain_openai(anyint_route)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=anyint_route.model, messages=PROMPT)
    assert client.chat.completions.create(model=anyint_route.model, messages=PROMPT).choices


@pytest.mark.route("chat", models="primary")
def test_anthropic_sees_the_fault(anyint_route, anyint_faults):
    anyint_faults.inject(anyint_route.model, status=529, times=1, envelope="native")
    client = plain_anthropic(anyint_route)
    with pytest.raises(anthropic.APIStatusError) as raised:
        client.messages.create(model=anyint_route.model, max_tokens=64, messages=PROMPT)
    assert raised.value.status_code == 529
    assert client.messages.create(model=anyint_route.model, max_tokens=64, messages=PROMPT).content


@pytest.mark.route("summarize", models="primary")
def test_gemini_sees_the_fault(anyint_route, anyint_faults):
    anyint_faults.inject(anyint_route.model, status=503, times=1, envelope="native")
    client = plain_genai(anyint_route)
    with pytest.raises(errors.ServerError) as raised:
        client.models.generate_content(model=anyint_route.model, contents="vendor: ACME")
    assert raised.value.code == 503
    assert client.models.generate_content(model=anyint_route.model, contents="vendor: ACME").text
'''

#: The documented form is silent; each other form the plain SDKs send warns once, in one line.
PLAIN_WARNINGS = [
    "*anyint: anthropic requests send Authorization: Bearer <key> with anthropic-version (assumed: *) and "
    "anthropic-version: 2026-10-21 (upstream: *); the gateway documents x-api-key: <key> with anthropic-version: "
    "2023-06-01, which anyint_gateway.sdk_kwargs('anthropic') sends; *fails under --anyint-contracts=strict*",
    "*anyint: gemini requests send x-goog-api-key: <key> (assumed: *); the gateway documents Authorization: Bearer <key>*",
]


def test_sdks_built_the_plain_way_record_and_replay_green(project):
    import anthropic

    project.config(OWN_MODELS_CONFIG)
    project.tests(test_plain=PLAIN_TESTS)
    recorded = project.record()
    recorded.assert_outcomes(passed=12)
    replayed = project.replay()
    replayed.assert_outcomes(passed=12)
    for result in (recorded, replayed):
        text = result.stdout.str()
        result.stdout.fnmatch_lines([PLAIN_WARNINGS[0].replace("2026-10-21", anthropic._constants.ANTHROPIC_API_VERSION)])
        result.stdout.fnmatch_lines([PLAIN_WARNINGS[1]])
        assert "anyint: openai requests send" not in text  # Bearer is the documented form there
        assert "missing the" not in text
    cassettes = project.cassettes()
    assert len(cassettes) == 12
    gemini = project.cassette("test_plain/test_gemini/summarize/gemini-2.0-flash.yaml").read_text()
    assert "x-goog-api-key:\n      - <ANYINT_API_KEY>" in gemini and "emulator-key" not in gemini
    strict = project.replay("--anyint-contracts=strict")
    strict.assert_outcomes(passed=4, failed=8)  # OpenAI's Bearer is documented; the others are assumed
    strict.stdout.fnmatch_lines(["*sends x-goog-api-key: <key>, an assumed auth form on gemini; --anyint-contracts=strict fails it*"])
