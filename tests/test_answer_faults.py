"""Answer faults: 200 answers that are bad as answers, as each official SDK meets them.

Each kind must reach the app the way the real service's answer would (the SDK's own fields say
length, refusal, max tokens, safety), be valid against the family's contract (so only the app's
handling is on trial), and be refused with one clear line where it cannot be built. The SDK tests
drive the engine the way the plugin does for a route case (``AnyIntSession.open_case``), through
the real httpx / httpx2 clients of the official SDKs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import jsonschema
import openai
import pydantic
import pytest
from google import genai
from google.genai import types as genai_types

from pytest_anyint.calls import Call, CallTrail
from pytest_anyint.config import DEFAULT_FALLBACK_ON, DEFAULT_NEVER_FALLBACK_ON, ConfigError, load_config
from pytest_anyint.contracts import ContractIndex
from pytest_anyint.faults import FaultPlan, check_policy
from pytest_anyint.faults.answers import INVALID_OUTPUT_VARIANTS, answer_body, answer_wire, example_instance
from pytest_anyint.kinds import ANSWER_KINDS, FAULT_KINDS
from pytest_anyint.run.cases import RouteCase, cases_for
from pytest_anyint.run.context import InterceptError
from pytest_anyint.run.session import AnyIntSession, SessionOptions
from pytest_anyint.run.verdict import CaseOutcome

from .helpers import HELLO, running

CONFIG = """
version: 1
routes:
  extract:
    family: openai
    primary: gpt-5-mini
    fallbacks: [deepseek-v3.2-exp]
    output_schema: invoice.schema.json
  chat:
    family: anthropic
    primary: claude-sonnet-4-6
    fallbacks: [claude-haiku-4-5]
  summarize:
    family: gemini
    primary: gemini-2.5-flash
    fallbacks: [gemini-2.5-pro]
  picture:
    family: media
    primary: wan2.5-t2i-preview
  chosen:
    family: openai
    primary: gpt-5-mini
    fallbacks: [deepseek-v3.2-exp]
    policy:
      fallback_on: [429, 500, 502, 503, 504, 529, timeout, connect, reset, malformed-json, truncated-stream,
                    stream-error, empty-body, invalid-output, truncated-answer]
      never_fallback_on: [400, 401, 403, 404, refusal]
"""

SCHEMA = {
    "type": "object",
    "required": ["vendor", "total", "lines"],
    "properties": {
        "vendor": {"type": "string", "minLength": 2},
        "total": {"type": "integer", "minimum": 1},
        "currency": {"enum": ["EUR", "USD"]},
        "lines": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/line"}},
    },
    "$defs": {"line": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}},
    "additionalProperties": False,
}

ENDPOINT = {
    ("openai", False): "/openai/v1/chat/completions",
    ("openai", True): "/openai/v1/chat/completions",
    ("anthropic", False): "/anthropic/v1/messages",
    ("anthropic", True): "/anthropic/v1/messages",
    ("gemini", False): "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
    ("gemini", True): "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent",
}
PRIMARY = {"openai": ("extract", "gpt-5-mini"), "anthropic": ("chat", "claude-sonnet-4-6"), "gemini": ("summarize", "gemini-2.5-flash")}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("answers")
    (path / "anyint.yaml").write_text(textwrap.dedent(CONFIG))
    (path / "invoice.schema.json").write_text(json.dumps(SCHEMA))
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


@pytest.fixture(scope="module")
def index() -> ContractIndex:
    return ContractIndex.load()


# --------------------------------------------------------------------------- the shapes: valid against the family contract

FORMS = [("openai", False, True), ("openai", True, True), ("anthropic", False, True), ("anthropic", True, True),
         ("gemini", False, True), ("gemini", True, True), ("gemini", True, False)]


def _validate(index: ContractIndex, family: str, stream: bool, sse: bool, kind: str, **options: Any) -> list[Any]:
    path = ENDPOINT[(family, stream)]
    headers, chunks = answer_wire(kind, family, "acme-model-7", endpoint=path, stream=stream, sse=sse, **options)
    return index.validate(method="POST", path=path, status=200, content_type=dict(headers)["content-type"], body=b"".join(chunks))


@pytest.mark.parametrize("kind", ANSWER_KINDS)
@pytest.mark.parametrize(("family", "stream", "sse"), FORMS, ids=lambda v: str(v))
def test_every_answer_fault_is_valid_against_its_family_contract(index, family, stream, sse, kind):
    assert _validate(index, family, stream, sse, kind) == []


@pytest.mark.parametrize("variant", INVALID_OUTPUT_VARIANTS)
@pytest.mark.parametrize(("family", "stream", "sse"), FORMS, ids=lambda v: str(v))
def test_every_invalid_output_variant_is_valid_against_its_family_contract(index, root, family, stream, sse, variant):
    assert _validate(index, family, stream, sse, "invalid-output", variant=variant, output_schema=root / "invoice.schema.json") == []


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("kind", ANSWER_KINDS)
def test_every_answer_fault_on_the_responses_api_is_valid_against_its_contract(index, kind, stream):
    path = "/openai/v1/responses"
    headers, chunks = answer_wire(kind, "openai", "acme-model-7", endpoint=path, stream=stream)
    assert index.validate(method="POST", path=path, status=200, content_type=dict(headers)["content-type"],
                          body=b"".join(chunks)) == []


def test_the_contract_check_above_would_catch_a_broken_answer(index):
    """A control: the same check refuses the answer once a required field is gone."""
    body = answer_body("truncated-answer", "openai", "acme-model-7")
    del body["choices"][0]["finish_reason"]
    found = index.validate(method="POST", path=ENDPOINT[("openai", False)], status=200,
                           content_type="application/json", body=json.dumps(body).encode())
    assert found and "finish_reason" in found[0].message


# --------------------------------------------------------------------------- what each SDK reads


def _ask(clients: dict[str, Any], family: str, stream: bool, **extra: Any) -> Any:
    """The answer as the app holds it: the SDK's object, or the SDK's accumulated stream."""
    if family == "openai":
        client = clients["openai"]
        if not stream:
            return client.chat.completions.create(model="gpt-5-mini", messages=HELLO, **extra)
        # The raw chunks, assembled as an app does (the SDK's stream helper raises on a "length" finish).
        return list(client.chat.completions.create(model="gpt-5-mini", messages=HELLO, stream=True, **extra))
    if family == "anthropic":
        client = clients["anthropic"]
        if not stream:
            return client.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=HELLO, **extra)
        with client.messages.stream(model="claude-sonnet-4-6", max_tokens=64, messages=HELLO, **extra) as events:
            return events.get_final_message()
    client = clients["gemini"]
    if not stream:
        return client.models.generate_content(model="gemini-2.5-flash", contents="hello", **extra)
    return list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hello", **extra))


def _openai_fields(answer: Any) -> tuple[Any, ...]:
    if isinstance(answer, list):
        deltas = [c.choices[0] for c in answer if c.choices]
        text = "".join(d.delta.content or "" for d in deltas) or None
        return deltas[-1].finish_reason, text, "".join(d.delta.refusal or "" for d in deltas) or None
    choice = answer.choices[0]
    return choice.finish_reason, choice.message.content or None, choice.message.refusal


def _anthropic_fields(answer: Any) -> tuple[Any, ...]:
    return answer.stop_reason, "".join(b.text for b in answer.content if b.type == "text") or None, [b.type for b in answer.content]


def _gemini_fields(answer: Any) -> tuple[Any, ...]:
    chunks = answer if isinstance(answer, list) else [answer]
    last = chunks[-1]
    finish = last.candidates[0].finish_reason if last.candidates else None
    block = last.prompt_feedback.block_reason if last.prompt_feedback else None
    return finish, "".join(c.text or "" for c in chunks) or None, block


TRUNCATED = "The invoice from ACME Corp lists three items: the first is a service fee of"
REFUSAL = "I'm sorry, but I can't help with that request."
PROSE = "Sure! The vendor is ACME Corp and the total comes to 42 euros."
F = genai_types.FinishReason
B = genai_types.BlockedReason

#: (family, kind) -> the fields an app reads, as the real service's answer sets them.
EXPECTED: dict[tuple[str, str], tuple[Any, ...]] = {
    ("openai", "truncated-answer"): ("length", TRUNCATED, None),
    ("openai", "refusal"): ("stop", None, REFUSAL),
    ("openai", "content-filter"): ("content_filter", None, None),
    ("openai", "invalid-output"): ("stop", PROSE, None),
    ("openai", "empty-answer"): ("stop", None, None),
    ("openai", "broken-tool-call"): ("tool_calls", None, None),
    ("anthropic", "truncated-answer"): ("max_tokens", TRUNCATED, ["text"]),
    ("anthropic", "refusal"): ("refusal", None, []),
    ("anthropic", "content-filter"): ("refusal", TRUNCATED.split(" a service")[0], ["text"]),
    ("anthropic", "invalid-output"): ("end_turn", PROSE, ["text"]),
    ("anthropic", "empty-answer"): ("end_turn", None, []),
    ("anthropic", "broken-tool-call"): ("max_tokens", None, ["tool_use"]),
    ("gemini", "truncated-answer"): (F.MAX_TOKENS, TRUNCATED, None),
    ("gemini", "refusal"): (F.SAFETY, None, None),
    ("gemini", "content-filter"): (None, None, B.SAFETY),
    ("gemini", "invalid-output"): (F.STOP, PROSE, None),
    ("gemini", "empty-answer"): (F.STOP, None, None),
    ("gemini", "broken-tool-call"): (F.MALFORMED_FUNCTION_CALL, None, None),
}
READ = {"openai": _openai_fields, "anthropic": _anthropic_fields, "gemini": _gemini_fields}


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize(("family", "kind"), list(EXPECTED), ids=lambda v: str(v))
def test_each_sdk_reads_the_answer_fault_as_the_service_would_send_it(engine, clients, family, kind, stream):
    label, model = PRIMARY[family]
    with running(engine, label) as (plan, trail):
        plan.inject(model, kind=kind)
        answer = _ask(clients, family, stream)
    assert READ[family](answer) == EXPECTED[(family, kind)]
    assert [(c.source, c.fault, c.status, c.stream) for c in trail] == [("fault", kind, 200, stream)]


#: kind -> (status, incomplete reason, output_text, what the first output item holds) on the Responses API.
RESPONSES: dict[str, tuple[Any, ...]] = {
    "truncated-answer": ("incomplete", "max_output_tokens", TRUNCATED, "output_text"),
    "refusal": ("completed", None, "", "refusal"),
    "content-filter": ("incomplete", "content_filter", "", None),
    "invalid-output": ("completed", None, PROSE, "output_text"),
    "empty-answer": ("completed", None, "", "output_text"),
    "broken-tool-call": ("completed", None, "", "function_call"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("kind", ANSWER_KINDS)
def test_the_responses_api_reads_each_answer_fault_in_its_own_terms(engine, clients, kind, stream):
    with running(engine, "extract") as (plan, trail):
        plan.inject("gpt-5-mini", kind=kind)
        if stream:
            # The SDK's stream helper wants response.completed; a cut-off answer ends in response.incomplete.
            events = list(clients["openai"].responses.create(model="gpt-5-mini", input="hello", stream=True))
            assert events[-1].type == ("response.completed" if RESPONSES[kind][0] == "completed" else "response.incomplete")
            response = events[-1].response
        else:
            response = clients["openai"].responses.create(model="gpt-5-mini", input="hello")
    first = response.output[0] if response.output else None
    held = None if first is None else first.type if first.type == "function_call" else first.content[0].type
    reason = response.incomplete_details.reason if response.incomplete_details else None
    assert (response.status, reason, response.output_text, held) == RESPONSES[kind]
    if kind == "refusal":
        assert first.content[0].refusal == REFUSAL
    if kind == "broken-tool-call":
        with pytest.raises(json.JSONDecodeError):
            json.loads(first.arguments)
    assert [(c.source, c.fault, c.status) for c in trail] == [("fault", kind, 200)]


def test_openai_structured_outputs_raise_the_sdk_s_own_errors(engine, clients):
    """parse() is the SDK reading finish_reason and refusal: the app's except clauses meet the real thing."""

    class Invoice(pydantic.BaseModel):
        vendor: str
        total: int

    with running(engine, "extract") as (plan, _):
        plan.inject("gpt-5-mini", kind="truncated-answer", times=1)
        plan.inject("gpt-5-mini", kind="content-filter", times=1)
        plan.inject("gpt-5-mini", kind="refusal", times=1)
        client = clients["openai"]
        refused = client.chat.completions.parse(model="gpt-5-mini", messages=HELLO, response_format=Invoice)
        with pytest.raises(openai.ContentFilterFinishReasonError):
            client.chat.completions.parse(model="gpt-5-mini", messages=HELLO, response_format=Invoice)
        with pytest.raises(openai.LengthFinishReasonError):
            client.chat.completions.parse(model="gpt-5-mini", messages=HELLO, response_format=Invoice)
    assert (refused.choices[0].message.parsed, refused.choices[0].message.refusal) == (None, REFUSAL)


TOOLS = {
    "openai": {"tools": [{"type": "function", "function": {"name": "find_invoice", "parameters": {"type": "object"}}}]},
    "anthropic": {"tools": [{"name": "find_invoice", "input_schema": {"type": "object"}}]},
    "gemini": {"config": genai_types.GenerateContentConfig(
        tools=[genai_types.Tool(function_declarations=[genai_types.FunctionDeclaration(name="find_invoice")])],
        automatic_function_calling=genai_types.AutomaticFunctionCallingConfig(disable=True))},
}


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("family", ["openai", "anthropic", "gemini"])
def test_a_broken_tool_call_names_the_offered_tool_and_its_arguments_are_not_json(engine, clients, family, stream):
    label, model = PRIMARY[family]
    with running(engine, label) as (plan, trail):
        plan.inject(model, kind="broken-tool-call")
        if family == "anthropic" and stream:
            # The raw events are what an app that assembles the arguments itself reads.
            events = list(clients["anthropic"].messages.create(
                model=model, max_tokens=64, messages=HELLO, stream=True, **TOOLS[family]))
        else:
            answer = _ask(clients, family, stream, **TOOLS[family])
    if family == "openai" and stream:
        calls = [t for c in answer if c.choices for t in c.choices[0].delta.tool_calls or []]
        assert (answer[-1].choices[0].finish_reason, calls[0].function.name) == ("tool_calls", "find_invoice")
        with pytest.raises(json.JSONDecodeError):
            json.loads("".join(t.function.arguments or "" for t in calls))
    elif family == "openai":
        call = answer.choices[0].message.tool_calls[0]
        assert (answer.choices[0].finish_reason, call.function.name) == ("tool_calls", "find_invoice")
        with pytest.raises(json.JSONDecodeError):
            json.loads(call.function.arguments)
    elif family == "anthropic" and stream:
        assert events[1].content_block.name == "find_invoice"
        arguments = "".join(e.delta.partial_json for e in events if e.type == "content_block_delta")
        with pytest.raises(json.JSONDecodeError):
            json.loads(arguments)
        assert [e.delta.stop_reason for e in events if e.type == "message_delta"] == ["max_tokens"]
    elif family == "anthropic":
        # A body's tool_use input is always an object: the cut call keeps the arguments completed so far.
        block = answer.content[0]
        assert (answer.stop_reason, block.name, block.input) == ("max_tokens", "find_invoice", {"query": "ACME invoice"})
    else:
        last = answer[-1] if stream else answer
        # Gemini checks the call itself: the finish says so, and no function call reaches the app.
        assert (last.candidates[0].finish_reason, last.function_calls) == (F.MALFORMED_FUNCTION_CALL, None)


async def _ask_async(gateway: Any, family: str) -> Any:
    """The last thing an async app reads of a streamed answer: the finish, as its SDK reports it."""
    if family == "openai":
        async with openai.AsyncOpenAI(**gateway.sdk_kwargs("openai"), max_retries=0) as client:
            stream = await client.chat.completions.create(model="gpt-5-mini", messages=HELLO, stream=True)
            return [c.choices[0].finish_reason async for c in stream if c.choices][-1]
    if family == "anthropic":
        async with anthropic.AsyncAnthropic(**gateway.sdk_kwargs("anthropic"), max_retries=0) as client:
            async with client.messages.stream(model="claude-sonnet-4-6", max_tokens=8, messages=HELLO) as events:
                return (await events.get_final_message()).stop_reason
    gem = genai.Client(**gateway.sdk_kwargs("gemini"))
    chunks = [c async for c in await gem.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")]
    return chunks[-1].candidates[0].finish_reason


@pytest.mark.parametrize(("family", "finish"), [("openai", "length"), ("anthropic", "max_tokens"), ("gemini", F.MAX_TOKENS)])
def test_the_async_clients_read_the_same_stream(engine, family, finish):
    with running(engine, PRIMARY[family][0]) as (plan, _):
        plan.inject(kind="truncated-answer")
        assert asyncio.run(_ask_async(engine.gateway(), family)) == finish


# --------------------------------------------------------------------------- invalid-output and the route's output_schema


@pytest.mark.parametrize("family", ["openai", "anthropic", "gemini"])
@pytest.mark.parametrize("variant", INVALID_OUTPUT_VARIANTS)
def test_each_invalid_output_variant_breaks_the_route_s_output_schema(index, root, family, variant):
    schema_path = root / "invoice.schema.json"
    body = answer_body("invalid-output", family, "acme-model-7", variant=variant, output_schema=schema_path)
    violation = index.check_output(family=family, model="acme-model-7", body=json.dumps(body).encode(),
                                   content_type="application/json", schema=SCHEMA, schema_path="invoice.schema.json")
    assert violation is not None
    expected = {"prose": "is not JSON", "fenced-json": "fenced in ```json", "missing-key": "at /vendor: required key is missing"}
    assert expected[variant] in violation.message, violation.message


def test_fenced_json_fences_a_valid_answer_and_missing_key_leaves_out_one_required_key(root):
    schema_path = root / "invoice.schema.json"
    fenced = answer_body("invalid-output", "openai", "m", variant="fenced-json", output_schema=schema_path)
    text = fenced["choices"][0]["message"]["content"]
    assert text.startswith("```json\n") and text.endswith("\n```")
    jsonschema.validate(json.loads(text[len("```json\n"):-len("\n```")]), SCHEMA)  # only the fence is wrong
    short = json.loads(answer_body("invalid-output", "openai", "m", variant="missing-key", output_schema=schema_path)
                       ["choices"][0]["message"]["content"])
    assert "vendor" not in short
    jsonschema.validate({**short, "vendor": "ACME Corp"}, SCHEMA)  # only the key is missing
    assert jsonschema.Draft202012Validator(SCHEMA).is_valid(example_instance(SCHEMA))


def test_the_variant_reaches_the_app_through_inject(engine, clients):
    with running(engine, "extract") as (plan, _):
        fault = plan.inject("gpt-5-mini", kind="invalid-output", variant="Fenced-JSON")
        answer = clients["openai"].chat.completions.create(model="gpt-5-mini", messages=HELLO)
    assert (str(fault), fault.used) == ("invalid-output (fenced-json) on gpt-5-mini, every call", 1)
    assert answer.choices[0].message.content.startswith("```json\n{")


# --------------------------------------------------------------------------- refused with one line


@pytest.mark.parametrize(
    ("label", "arguments", "message"),
    [
        ("extract", {"kind": "refusal", "variant": "prose"},
         "variant= picks the broken output of kind='invalid-output' (prose, fenced-json, missing-key); kind='refusal' takes none"),
        ("extract", {"kind": "invalid-output", "variant": "yaml"},
         "unknown variant 'yaml' of kind='invalid-output'; expected one of prose, fenced-json, missing-key"),
        ("chat", {"kind": "invalid-output", "variant": "missing-key"},
         "variant='missing-key' leaves out a required key of the route's output_schema, and route 'chat' has no "
         "output_schema; use variant='prose' or 'fenced-json'"),
        ("extract", {"kind": "refusal", "retry_after": 1},
         "retry_after=, should_retry= and envelope= shape an HTTP error answer; they go with status=, not kind='refusal'"),
        ("picture", {"model": "wan2.5-t2i-preview", "kind": "empty-answer"},
         "kind='empty-answer' is an answer fault of the chat families (openai, anthropic, gemini); wan2.5-t2i-preview "
         "is on the media family, whose task flows have no such answer"),
        ("extract", {"kind": "refused"},
         "unknown fault kind 'refused'; expected one of timeout, connect, reset, malformed-json, truncated-stream, "
         "stream-error, empty-body; answer faults: truncated-answer, refusal, content-filter, invalid-output, "
         "empty-answer, broken-tool-call; task polls: task-failed"),
    ],
)
def test_inject_refuses_what_it_cannot_build(engine, label, arguments, message):
    with running(engine, label) as (plan, _):
        with pytest.raises(ValueError) as info:
            plan.inject(**arguments)
    assert str(info.value) == message


@contextmanager
def case(engine: AnyIntSession, label: str) -> Iterator[tuple[FaultPlan, list[CaseOutcome]]]:
    """One route case on the primary; after the block, the list holds what closing the case said."""
    route = engine.config.route(label)
    running_case = RouteCase(label, route.primary.model, 0, None)
    plan = FaultPlan(engine, running_case)
    cassette = engine.cassette_path(running_case, module_path="test_answer_faults", test_name="sdk", other_params=None)
    context = engine.open_case(running_case, nodeid=f"test_answer_faults.py::{label}", cassette_path=cassette, faults=plan)
    outcome: list[CaseOutcome] = []
    try:
        yield plan, outcome
    finally:
        outcome.append(engine.close_case(context, passed=None))


def test_an_answer_fault_met_on_an_endpoint_without_an_answer_fails_the_test_with_one_line(engine, clients):
    with case(engine, "extract") as (plan, outcome):
        plan.inject("gpt-5-mini", kind="refusal")
        with pytest.raises(InterceptError):  # the app meets the refusal; the test fails with the same line
            clients["openai"].embeddings.create(model="gpt-5-mini", input="hello")
    assert outcome[0].problems == [
        "test_answer_faults.py::extract: answer fault 'refusal' met /openai/v1/embeddings, which carries no model "
        "answer it can imitate; answer faults answer POST /openai/v1/chat/completions and /openai/v1/responses: "
        "inject it on the model the app asks for its answer"
    ]


# --------------------------------------------------------------------------- anyint.yaml and the policy


def test_answer_faults_may_be_in_either_list_or_neither_and_the_defaults_list_none(root):
    routes = load_config(root / "anyint.yaml", environ={}).routes
    assert not set(ANSWER_KINDS) & {*DEFAULT_FALLBACK_ON, *DEFAULT_NEVER_FALLBACK_ON}
    assert routes["extract"].policy.faults == (*DEFAULT_FALLBACK_ON, *DEFAULT_NEVER_FALLBACK_ON)
    assert routes["chosen"].policy.faults[-7:] == ("invalid-output", "truncated-answer", 400, 401, 403, 404, "refusal")
    assert set(FAULT_KINDS) <= set(routes["chosen"].policy.faults)


def test_an_unknown_kind_in_a_policy_list_is_one_line_naming_the_answer_faults(tmp_path):
    (tmp_path / "anyint.yaml").write_text(textwrap.dedent("""
        version: 1
        routes:
          extract:
            family: openai
            primary: gpt-5-mini
            policy:
              never_fallback_on: [400, refused]
    """))
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "anyint.yaml", environ={})
    assert str(info.value) == (
        f"{tmp_path / 'anyint.yaml'}: routes.extract.policy.never_fallback_on[1]: 'refused' is neither an HTTP status "
        "(100-599) nor a fault kind (timeout, connect, reset, malformed-json, truncated-stream, stream-error, "
        "empty-body; answer faults: truncated-answer, refusal, content-filter, invalid-output, empty-answer, "
        "broken-tool-call)"
    )


def _trail(*calls: tuple[str, str | int]) -> CallTrail:
    trail = CallTrail()
    for model, what in calls:
        fault = what if isinstance(what, str) else None
        trail.append(Call(model, "openai", "POST", "/openai/v1/chat/completions", status=200 if fault else what,
                          fault=fault, source="fault" if fault else "cassette"))
    return trail


def _log(message: str) -> logging.LogRecord:
    return logging.LogRecord("app", logging.WARNING, __file__, 1, message, (), None)


def test_the_policy_check_applies_to_answer_faults(root):
    routes = load_config(root / "anyint.yaml", environ={}).routes
    chosen, extract = routes["chosen"], routes["extract"]
    fell_back = _trail(("gpt-5-mini", "invalid-output"), ("deepseek-v3.2-exp", 200))
    stayed = _trail(("gpt-5-mini", "invalid-output"))
    logged = [_log("gpt-5-mini broke the schema, falling back to deepseek-v3.2-exp")]
    # In fallback_on: the fallback is required, and logged.
    assert check_policy(chosen, "invalid-output", fell_back, logged) == []
    assert check_policy(chosen, "invalid-output", stayed, []) == [
        "route 'chosen', fault invalid-output: primary gpt-5-mini answered output that breaks the route's "
        "output_schema, the app never tried deepseek-v3.2-exp (policy: fallback_on includes invalid-output)"
    ]
    assert check_policy(chosen, "invalid-output", fell_back, [])[0].startswith(
        "route 'chosen', fault invalid-output: the app fell back from gpt-5-mini to deepseek-v3.2-exp but no log "
        "record of the test names gpt-5-mini, deepseek-v3.2-exp (policy: require_fallback_log)"
    )
    # In never_fallback_on: the refusal must surface.
    assert check_policy(chosen, "refusal", _trail(("gpt-5-mini", "refusal"), ("deepseek-v3.2-exp", 200)), logged) == [
        "route 'chosen', fault refusal: the app fell back on refusal from gpt-5-mini to deepseek-v3.2-exp: the "
        "policy says this fault must surface, not be masked (policy: never_fallback_on includes refusal)"
    ]
    # In neither list: the app chooses; a fallback it makes must still be logged.
    assert check_policy(extract, "invalid-output", fell_back, logged) == []
    assert check_policy(extract, "invalid-output", stayed, []) == []
    assert check_policy(extract, "invalid-output", fell_back, []) == [
        "route 'extract', fault invalid-output: the app fell back from gpt-5-mini to deepseek-v3.2-exp but no log "
        "record of the test names gpt-5-mini, deepseek-v3.2-exp (policy: require_fallback_log); a fallback must "
        'be visible, e.g. log.warning("%s failed (%s), falling back to %s", primary, error, fallback)'
    ]


def test_an_answer_fault_on_a_route_without_answers_fails_collection_with_one_line(root):
    config = load_config(root / "anyint.yaml", environ={})
    assert [c.fault for c in cases_for(config, "chat", faults=["refusal", "invalid-output"])] == ["refusal", "invalid-output"]
    with pytest.raises(ConfigError) as info:
        cases_for(config, "picture", faults=[503, "empty-answer"])
    assert str(info.value) == (
        "route 'picture': faults=: 'empty-answer' is an answer fault of the chat families (openai, anthropic, "
        "gemini); the route's family media has task flows, not answers"
    )


def test_the_scenario_says_when_the_policy_leaves_an_answer_fault_to_the_app(engine):
    expected = {("chosen", "invalid-output"): True, ("chosen", "refusal"): False, ("extract", "refusal"): None,
                ("extract", "timeout"): True, ("extract", 404): False}
    found = {}
    for label, fault in expected:
        scenario = engine.scenario(RouteCase(label, engine.config.route(label).primary.model, 0, fault))
        assert scenario is not None
        found[(label, fault)] = scenario.expect_fallback
    assert found == expected


def test_a_policy_shared_with_a_media_route_runs_its_answer_faults_on_the_chat_routes_only(tmp_path):
    (tmp_path / "anyint.yaml").write_text(textwrap.dedent("""
        version: 1
        policy:
          fallback_on: [503, timeout, connect, reset, malformed-json, truncated-stream, stream-error, empty-body,
                        invalid-output]
          never_fallback_on: [401, refusal]
        routes:
          extract: {family: openai, primary: gpt-5-mini, fallbacks: [deepseek-v3.2-exp]}
          picture: {family: media, primary: wan2.5-t2i-preview}
    """))
    config = load_config(tmp_path / "anyint.yaml", environ={})
    assert [c.fault for c in cases_for(config, "extract", faults="policy")][-4:] == ["empty-body", "invalid-output", 401, "refusal"]
    assert [c.fault for c in cases_for(config, "picture", faults="policy")][-3:] == ["stream-error", "empty-body", 401]


def test_the_emulator_points_answer_faults_to_inject():
    from pytest_anyint.emulator import Emulator

    emulator = Emulator()  # not started: fail() only checks and stores the switch
    with pytest.raises(ValueError) as info:
        emulator.fail("gpt-5-mini", kind="refusal")
    assert str(info.value) == (
        "kind='refusal' is an answer fault: inject it with anyint_faults.inject(..., kind='refusal'); fail() answers "
        "the transport and body kinds (timeout, connect, reset, malformed-json, truncated-stream, stream-error, empty-body)"
    )
