"""Answer faults as a user runs them: an app per family that falls back on a bad answer, proven.

Each test builds a small user project (``project`` fixture, tests/conftest.py) whose app asks its
route's chain for an invoice as JSON through the family's official SDK, plain and streamed, and
falls back when an answer is cut off or breaks the JSON it needs. Recorded once against the
emulator, then replayed with the network blocked at the socket: the injected answers are met in
both runs, and none of them is ever written into a cassette.
"""

from __future__ import annotations

# Imported once here, so the in-process runs below do not import them again (see tests/conftest.py).
import anthropic  # noqa: F401
import httpcore  # noqa: F401
import httpcore2  # noqa: F401
import openai  # noqa: F401
from google import genai  # noqa: F401

from pytest_anyint.cassettes import read_cassette

from .helpers import SOCKET_GUARD, attempts

CONFIG = """
version: 1
policy:
  fallback_on: [429, 500, 502, 503, 504, 529, timeout, connect, reset, malformed-json, truncated-stream,
                stream-error, empty-body, invalid-output, truncated-answer, empty-answer]
  never_fallback_on: [400, 401, 403, 404, refusal]
routes:
  extract:
    family: openai
    primary: gpt-5-nano
    fallbacks: [qwen3-coder-plus]
    output_schema: invoice.schema.json
  chat:
    family: anthropic
    primary: claude-opus-4-1
    fallbacks: [claude-3-5-haiku-latest]
    output_schema: invoice.schema.json
  summarize:
    family: gemini
    primary: gemini-2.0-flash
    fallbacks: [gemini-2.5-flash-lite]
    output_schema: invoice.schema.json
"""

SCHEMA = """{"type": "object", "required": ["vendor", "total"],
 "properties": {"vendor": {"type": "string"}, "total": {"type": "integer"}}}"""

APP = '''
"""Invoices as JSON from any of three families; a bad answer moves on to the next model."""
import json
import logging

log = logging.getLogger("invoices")
PROMPT = "Answer in JSON.\\nvendor: ACME Corp\\ntotal: 42"


class BadAnswer(Exception):
    """An answer the app cannot use, where another model may do better."""


class Refused(Exception):
    """The model refused: asking another one would only hide it."""


def ask_openai(client, model, stream):
    messages = [{"role": "user", "content": PROMPT}]
    if not stream:
        choice = client.chat.completions.create(model=model, messages=messages).choices[0]
        return choice.message.content, choice.finish_reason, choice.message.refusal
    text, refusal, finish = "", "", None
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            refusal += choice.delta.refusal or ""
            finish = choice.finish_reason or finish
    return text, finish, refusal or None


def ask_anthropic(client, model, stream):
    kwargs = dict(model=model, max_tokens=256, messages=[{"role": "user", "content": PROMPT}])
    if stream:
        with client.messages.stream(**kwargs) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(**kwargs)
    text = "".join(block.text for block in message.content if block.type == "text")
    return text, message.stop_reason, "refused" if message.stop_reason == "refusal" else None


def ask_gemini(client, model, stream):
    if stream:
        chunks = list(client.models.generate_content_stream(model=model, contents=PROMPT))
    else:
        chunks = [client.models.generate_content(model=model, contents=PROMPT)]
    text = "".join(chunk.text or "" for chunk in chunks)
    last = chunks[-1]
    if last.prompt_feedback is not None and last.prompt_feedback.block_reason is not None:
        return text, None, f"blocked ({last.prompt_feedback.block_reason.value})"
    finish = last.candidates[0].finish_reason.value if last.candidates and last.candidates[0].finish_reason else None
    return text, finish, "refused" if finish == "SAFETY" else None


ASK = {"openai": ask_openai, "anthropic": ask_anthropic, "gemini": ask_gemini}


def invoice(family, client, model, stream):
    text, finish, refusal = ASK[family](client, model, stream)
    if refusal:
        raise Refused(f"{model} refused: {refusal}")
    if finish in ("length", "max_tokens", "MAX_TOKENS"):
        raise BadAnswer(f"{model} was cut off ({finish})")
    try:
        data = json.loads(text or "")
    except ValueError:
        raise BadAnswer(f"{model} answered no JSON: {text[:30]!r}") from None
    if not isinstance(data, dict) or not {"vendor", "total"} <= set(data):
        raise BadAnswer(f"{model} answered JSON without vendor and total")
    return data


def extract(family, client, chain, stream, *, fall_back=True):
    for model, fallback in zip(chain, [*chain[1:], None]):
        try:
            return invoice(family, client, model, stream)
        except BadAnswer as exc:
            if fallback is None or not fall_back:
                raise
            log.warning("%s: %s, falling back to %s", model, exc, fallback)
'''

CONFTEST = SOCKET_GUARD + '''
import anthropic
import openai
import pytest
from google import genai

FAMILY = {"extract": "openai", "chat": "anthropic", "summarize": "gemini"}


@pytest.fixture
def family(anyint_route):
    return FAMILY[anyint_route.label]


@pytest.fixture
def client(anyint_gateway, family):
    if family == "openai":
        return openai.OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0)
    if family == "anthropic":
        return anthropic.Anthropic(**anyint_gateway.sdk_kwargs("anthropic"), max_retries=0)
    return genai.Client(**anyint_gateway.sdk_kwargs("gemini"))


@pytest.fixture
def chain(anyint_route):
    return [m.model for m in anyint_route.chain]
'''

POLICY_TEST = '''
import pytest
from invoices import Refused, extract

ANSWER_FAULTS = ["invalid-output", "truncated-answer", "empty-answer", "refusal"]


@pytest.mark.route("extract", faults=ANSWER_FAULTS)
@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_openai(family, client, chain, stream, anyint_scenario, anyint_calls):
    check(family, client, chain, stream, anyint_scenario, anyint_calls)


@pytest.mark.route("chat", faults=ANSWER_FAULTS)
@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_anthropic(family, client, chain, stream, anyint_scenario, anyint_calls):
    check(family, client, chain, stream, anyint_scenario, anyint_calls)


@pytest.mark.route("summarize", faults=ANSWER_FAULTS)
@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_gemini(family, client, chain, stream, anyint_scenario, anyint_calls):
    check(family, client, chain, stream, anyint_scenario, anyint_calls)


def check(family, client, chain, stream, scenario, calls):
    if scenario.expect_fallback:
        assert extract(family, client, chain, stream) == {"vendor": "ACME Corp", "total": 42}
        calls.assert_fallback(to_model=chain[1])
    else:
        with pytest.raises(Refused):
            extract(family, client, chain, stream)
        calls.assert_no_fallback()


@pytest.mark.route("extract", models="primary")
@pytest.mark.parametrize("variant", ["prose", "fenced-json", "missing-key"])
def test_each_variant_of_invalid_output(family, client, chain, variant, anyint_faults, anyint_calls):
    anyint_faults.inject(chain[0], kind="invalid-output", variant=variant, times=1)
    assert extract(family, client, chain[:1] * 2, False) == {"vendor": "ACME Corp", "total": 42}
    assert [(c.model, c.fault) for c in anyint_calls] == [(chain[0], "invalid-output"), (chain[0], None)]
'''


def _project(project):
    project.config(CONFIG)
    (project.root / "invoice.schema.json").write_text(SCHEMA)
    project.tests(invoices=APP, conftest=CONFTEST)
    return project


FAMILIES = {"extract": "openai", "chat": "anthropic", "summarize": "gemini"}
KINDS = ["invalid-output", "truncated-answer", "empty-answer", "refusal"]
#: What only an injected answer says (its id, its texts, its finish): none of it may reach a cassette.
INJECTED_TEXTS = ["anyint-answer-fault", "anyint_fault", "I'm sorry", "Sure! The vendor", "The invoice from ACME", "MAX_TOKENS",
                  "stop_reason: max_tokens", '"length"']


def test_an_app_that_falls_back_on_bad_answers_passes_recorded_then_replayed_offline(project):
    app = _project(project)
    app.tests(test_policy=POLICY_TEST)
    cases = 3 * 2 * len(KINDS) + 3
    app.record("-q").assert_outcomes(passed=cases)
    for label, family in FAMILIES.items():
        for kind in KINDS:
            for stream in ("body", "stream"):
                path = app.cassette(f"test_policy/test_{family}/{label}/fault-{kind}__{stream}.yaml")
                interactions = read_cassette(path)["interactions"]
                if kind == "refusal":
                    assert interactions == [], path  # the primary only ever met the injected refusal
                else:
                    assert len(interactions) == 1, path  # the fallback's answer, nothing of the primary's
                text = path.read_text()
                assert not [t for t in INJECTED_TEXTS if t in text], path
    replayed = app.replay("-q")
    replayed.assert_outcomes(passed=cases)
    assert attempts(app) == []


NO_FALLBACK_TEST = '''
import pytest
from invoices import BadAnswer, extract


@pytest.mark.route("extract", faults=["invalid-output"])
def test_gives_up_on_bad_json(family, client, chain):
    with pytest.raises(BadAnswer):
        extract(family, client, chain, True, fall_back=False)
'''

MASKING_TEST = '''
import logging

import pytest
from invoices import Refused, invoice


@pytest.mark.route("chat", faults=["refusal"])
def test_asks_another_model_after_a_refusal(family, client, chain):
    try:
        return invoice(family, client, chain[0], False)
    except Refused:
        logging.getLogger("invoices").warning("%s refused, asking %s", chain[0], chain[1])
        assert invoice(family, client, chain[1], False)


@pytest.mark.route("summarize", faults=["truncated-answer"])
def test_falls_back_quietly(family, client, chain):
    from invoices import BadAnswer
    try:
        return invoice(family, client, chain[0], True)
    except BadAnswer:
        assert invoice(family, client, chain[1], True)
'''


def test_an_app_that_mishandles_bad_answers_fails_with_the_policy_line(project):
    app = _project(project)
    app.tests(test_no_fallback=NO_FALLBACK_TEST, test_masking=MASKING_TEST)
    result = app.record("-q")
    result.assert_outcomes(failed=3)
    output = result.stdout.str()
    for line in (
        "route 'extract', fault invalid-output: primary gpt-5-nano answered output that breaks the route's "
        "output_schema, the app never tried qwen3-coder-plus (policy: fallback_on includes invalid-output)",
        "route 'chat', fault refusal: the app fell back on refusal from claude-opus-4-1 to claude-3-5-haiku-latest: "
        "the policy says this fault must surface, not be masked (policy: never_fallback_on includes refusal)",
        "route 'summarize', fault truncated-answer: the app fell back from gemini-2.0-flash to gemini-2.5-flash-lite "
        "but no log record of the test names gemini-2.0-flash, gemini-2.5-flash-lite (policy: require_fallback_log)",
    ):
        assert line in output, output


def _worked_example() -> dict[str, str]:
    """The files of docs/faults.md's worked example per family, as the page shows them."""
    import re
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "faults.md").read_text()
    section = page.split("### A worked example per family", 1)[1].split("\n## ", 1)[0]
    files: dict[str, str] = {}
    for block in re.finditer(r"```(\w+)\n(.*?)```", section, re.S):
        language, body = block.groups()
        first, _, rest = body.partition("\n")
        if first.startswith("# file: "):
            files[first[len("# file: "):]] = rest
        elif language == "json":  # JSON has no comments: the sentence before the block names the file
            named = re.findall(r"`([\w.-]+\.json)`", section[: block.start()].rstrip().rsplit("\n\n", 1)[-1])
            files[named[-1] if named else "(a JSON block the page names no file for)"] = body
        elif language == "python":  # the variant test: it goes with the others
            files["test_invoices.py"] += "\n\n" + body
    return files


def test_the_worked_example_of_the_docs_passes_recorded_then_replayed(project):
    files = _worked_example()
    # Every file the example needs is on the page (its anyint.yaml names invoice.schema.json).
    assert sorted(files) == ["anyint.yaml", "invoice.schema.json", "invoices.py", "test_invoices.py"]
    project.config(files["anyint.yaml"])
    (project.root / "invoice.schema.json").write_text(files["invoice.schema.json"])
    project.tests(invoices=files["invoices.py"], test_invoices=files["test_invoices.py"], conftest=SOCKET_GUARD)
    project.record("-q").assert_outcomes(passed=3 * 4 + 3)
    project.replay("-q").assert_outcomes(passed=3 * 4 + 3)
    assert attempts(project) == []
