"""The contract gate of a route case: one parse of a stream serves every check of it."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_anyint import sse
from pytest_anyint.calls import Call
from pytest_anyint.contracts import ContractGate, ContractIndex

SAMPLES = Path(__file__).resolve().parent / "samples"
SCHEMA = {"type": "object", "required": ["vendor"], "properties": {"vendor": {"type": "string"}}}


def _stream(text: str) -> bytes:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "acme-json-1",
             "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]}
    return f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()


def _gate() -> ContractGate:
    return ContractGate(ContractIndex.load(), "fail", "extract", SCHEMA, "schemas/invoice.json")


def _check(gate: ContractGate, body: bytes, **given: object) -> None:
    call = Call(model="acme-json-1", family="openai", method="POST", endpoint="/openai/v1/chat/completions")
    gate.check_response(call, method="POST", path="/openai/v1/chat/completions", status=200,
                        content_type="text/event-stream", body=body, cassette="c.yaml", interaction=1, **given)


def test_a_stream_is_parsed_once_for_its_contract_and_its_output_schema(monkeypatch):
    calls = []
    real = sse.parse

    def counting(text: str) -> list[sse.SSEEvent]:
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(sse, "parse", counting)
    gate = _gate()
    _check(gate, _stream('{"vendor": 7}'))  # check (no events given) parses it here, once
    assert len(calls) == 1
    (violation,) = gate.violations
    assert violation.rule == "output.schema" and "/vendor" in violation.message

    calls.clear()
    body = _stream('{"vendor": "ACME"}')
    events = real(body.decode())
    gate = _gate()
    _check(gate, body, events=events)  # the interceptor hands its parsed events along: no parse at all
    assert calls == [] and gate.violations == []


def test_the_events_handed_along_are_the_ones_checked():
    """The gate judges the events it is given (the interceptor's parse of the same body)."""
    gate = _gate()
    body = _stream('{"vendor": "ACME"}')
    _check(gate, body, events=sse.parse(_stream("not json").decode()))
    (violation,) = gate.violations
    assert violation.rule == "output.not-json"
