"""Streams cut at an exact point: ``after_events=N`` on ``truncated-stream`` and ``stream-error``.

The stream's opening events and N content events arrive, then the break: the connection drops
mid-event, or the family's own error event comes. So "the primary died after its first
sentence" is testable: the app has shown that sentence when the official SDK raises. Injected
faults cut a canned answer; the emulator's ``fail()`` cuts the answer it would have sent.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors

from pytest_anyint.emulator import Emulator
from pytest_anyint.families import FAMILIES
from pytest_anyint.faults.plan import FaultPlan
from pytest_anyint.run.session import AnyIntSession, SessionOptions

from .helpers import FAULTS_CONFIG, LABEL_OF, anthropic_stream_cut, running

#: What each official SDK raises when the stream breaks (after the text it delivered).
RAISES: dict[tuple[str, str], type[BaseException]] = {
    ("openai", "truncated-stream"): openai.APIConnectionError,
    ("openai", "stream-error"): openai.APIError,
    ("anthropic", "truncated-stream"): anthropic_stream_cut(),
    ("anthropic", "stream-error"): anthropic.APIStatusError,
    ("gemini", "truncated-stream"): httpx2.RemoteProtocolError,
    ("gemini", "stream-error"): genai_errors.ServerError,
}
MODEL = {"openai": "gpt-5-mini", "anthropic": "claude-sonnet-4-6", "gemini": "gemini-2.5-flash"}
#: The canned answer's content events, in order: what an injected cut delivers first.
SENTENCES = ["The first sentence arrives.", " The second one too.", " Then more of the answer"]
PROMPT = "one two three four five six seven eight nine ten eleven"


def stream_text(client: Any, family: str, model: str, received: list[str]) -> None:
    """Read a streamed answer through the family's official SDK, keeping each piece of text as it comes."""
    messages = [{"role": "user", "content": PROMPT}]
    if family == "openai":
        for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    elif family == "anthropic":
        for event in client.messages.create(model=model, max_tokens=64, messages=messages, stream=True):
            if event.type == "content_block_delta":
                received.append(event.delta.text)
    else:
        for chunk in client.models.generate_content_stream(model=model, contents=PROMPT):
            if chunk.text:
                received.append(chunk.text)


def sdk_clients(kwargs_of: Any) -> dict[str, Any]:
    return {
        "openai": openai.OpenAI(**kwargs_of("openai"), max_retries=0),
        "anthropic": anthropic.Anthropic(**kwargs_of("anthropic"), max_retries=0),
        "gemini": genai.Client(**kwargs_of("gemini")),
    }


CASES = [(f, k, n) for f in MODEL for k in ("truncated-stream", "stream-error") for n in (0, 1, 2)]
IDS = [f"{f}-{k}-after-{n}" for f, k, n in CASES]


# --------------------------------------------------------------------------- injected


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnyIntSession]:
    root = tmp_path_factory.mktemp("cuts")
    (root / "anyint.yaml").write_text(textwrap.dedent(FAULTS_CONFIG))
    session = AnyIntSession(SessionOptions(rootdir=root, contracts_mode="off"), environ={})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def clients(engine: AnyIntSession) -> dict[str, Any]:
    return sdk_clients(engine.gateway().sdk_kwargs)


@pytest.mark.parametrize("family, kind, after", CASES, ids=IDS)
def test_an_injected_cut_delivers_the_opening_and_n_content_events_then_the_sdks_error(engine, clients, family, kind, after):
    received: list[str] = []
    with running(engine, LABEL_OF[family]) as (plan, trail):
        plan.inject(kind=kind, after_events=after)
        with pytest.raises(RAISES[(family, kind)]) as info:
            stream_text(clients[family], family, MODEL[family], received)
    assert type(info.value) is RAISES[(family, kind)]
    assert received == SENTENCES[:after]  # exactly N pieces of text reached the app, then the error
    assert [(c.source, c.fault, c.stream) for c in trail] == [("fault", kind, True)]


def test_the_default_is_one_content_event(engine, clients):
    received: list[str] = []
    with running(engine, "extract") as (plan, _):
        plan.inject(kind="truncated-stream")
        with pytest.raises(openai.APIConnectionError):
            stream_text(clients["openai"], "openai", "gpt-5-mini", received)
    assert received == SENTENCES[:1]


def test_after_events_is_checked():
    plan = FaultPlan()
    with pytest.raises(ValueError, match=r"after_events= says where a stream breaks; it goes with kind= truncated-stream or stream-error, not status=503"):
        plan.inject(status=503, after_events=1)
    with pytest.raises(ValueError, match=r"not kind='timeout'"):
        plan.inject(kind="timeout", after_events=1)
    for bad in (-1, True, 1.5, "2"):
        with pytest.raises(ValueError, match=r"after_events= must be a number of content events >= 0"):
            plan.inject(kind="stream-error", after_events=bad)  # type: ignore[arg-type]
    assert str(plan.inject(kind="stream-error", after_events=3)) == "stream-error after 3 event(s) on any model, every call"


# --------------------------------------------------------------------------- the emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running_emulator:
        yield running_emulator


@pytest.fixture(scope="module")
def emulated(emulator: Emulator) -> dict[str, Any]:
    return sdk_clients(lambda name: FAMILIES[name].sdk_kwargs(emulator.url, emulator.api_key))


@pytest.mark.parametrize("family, kind, after", CASES, ids=IDS)
def test_the_emulator_cuts_its_own_answer_at_the_same_point(emulator, emulated, family, kind, after):
    emulator.reset()
    whole: list[str] = []
    stream_text(emulated[family], family, MODEL[family], whole)  # the answer it sends when all is well
    assert len(whole) > 2
    emulator.fail(MODEL[family], kind=kind, after_events=after, times=1)
    received: list[str] = []
    with pytest.raises(RAISES[(family, kind)]):
        stream_text(emulated[family], family, MODEL[family], received)
    assert received == whole[:after]


# --------------------------------------------------------------------------- an app, recorded and replayed

APP = '''
import logging

log = logging.getLogger("app")


def answer(ask, chain, shown):
    """Stream from the first model; when it dies mid-answer, start over on the next one."""
    for model, fallback in zip(chain, [*chain[1:], None]):
        shown.clear()
        try:
            for piece in ask(model):
                shown.append(piece)
            return "".join(shown)
        except Exception as exc:
            if fallback is None:
                raise
            log.warning("%s died after %d pieces (%s), falling back to %s", model, len(shown), type(exc).__name__, fallback)
'''

TESTS = '''
import anthropic
import openai
import pytest
from google import genai

from app import answer

PROMPT = [{"role": "user", "content": "tell me a story"}]


@pytest.fixture(scope="module")
def clients(anyint_gateway):
    return {
        "openai": openai.OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0),
        "anthropic": anthropic.Anthropic(**anyint_gateway.sdk_kwargs("anthropic"), max_retries=0),
        "gemini": genai.Client(**anyint_gateway.sdk_kwargs("gemini")),
    }


def openai_ask(clients):
    def ask(model):
        for chunk in clients["openai"].chat.completions.create(model=model, messages=PROMPT, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content
    return ask


def anthropic_ask(clients):
    def ask(model):
        for event in clients["anthropic"].messages.create(model=model, max_tokens=64, messages=PROMPT, stream=True):
            if event.type == "content_block_delta":
                yield event.delta.text
    return ask


def gemini_ask(clients):
    def ask(model):
        for chunk in clients["gemini"].models.generate_content_stream(model=model, contents="tell me a story"):
            if chunk.text:
                yield chunk.text
    return ask


def dies_after_its_first_sentence(ask, route, faults, calls, kind):
    faults.inject(route.model, kind=kind, after_events=1)
    shown = []
    chain = [m.model for m in route.chain]
    final = answer(ask, chain, shown)
    assert final.startswith(chain[1])  # the fallback's whole answer, the primary's first sentence replaced
    assert [(c.model, c.source, c.fault) for c in calls][0] == (route.model, "fault", kind)


@pytest.mark.parametrize("kind", ["truncated-stream", "stream-error"])
@pytest.mark.route("extract", models="primary")
def test_openai(clients, anyint_route, anyint_faults, anyint_calls, kind):
    dies_after_its_first_sentence(openai_ask(clients), anyint_route, anyint_faults, anyint_calls, kind)


@pytest.mark.parametrize("kind", ["truncated-stream", "stream-error"])
@pytest.mark.route("chat", models="primary")
def test_anthropic(clients, anyint_route, anyint_faults, anyint_calls, kind):
    dies_after_its_first_sentence(anthropic_ask(clients), anyint_route, anyint_faults, anyint_calls, kind)


@pytest.mark.parametrize("kind", ["truncated-stream", "stream-error"])
@pytest.mark.route("summarize", models="primary")
def test_gemini(clients, anyint_route, anyint_faults, anyint_calls, kind):
    dies_after_its_first_sentence(gemini_ask(clients), anyint_route, anyint_faults, anyint_calls, kind)
'''


def test_an_app_that_falls_back_when_the_primary_dies_after_its_first_sentence_records_and_replays(project):
    project.config(FAULTS_CONFIG)
    project.tests(app=APP, test_cut=TESTS)
    project.record().assert_outcomes(passed=6)
    assert len(project.cassettes()) == 6
    for name in project.cassettes():  # only the fallbacks' answers: the injected cut is never recorded
        assert "The first sentence arrives" not in project.cassette(name).read_text()
    project.replay().assert_outcomes(passed=6)
