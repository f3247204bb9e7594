"""The chain's own rules, without a gateway: what is logged, and what is never treated as a fallback."""

from __future__ import annotations

import logging

import pytest
from invoice_app import ChainExhausted, Link, MalformedAnswer, run_chain

CHAIN = (Link("gpt-5-mini", "openai"), Link("deepseek-v3.2-exp", "openai"))


def test_every_fallback_is_logged_with_workload_models_status_and_reason(caplog):
    def call(link: Link) -> str:
        if link.model == "gpt-5-mini":
            raise MalformedAnswer("gpt-5-mini did not answer with JSON")
        return "ok"

    with caplog.at_level(logging.WARNING, logger="invoice_app.fallback"):
        answered = run_chain("extract", CHAIN, call)

    assert (answered.value, answered.model, answered.fell_back) == ("ok", "deepseek-v3.2-exp", True)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert (record.workload, record.primary, record.fallback_model) == ("extract", "gpt-5-mini", "deepseek-v3.2-exp")
    assert "did not answer with JSON" in record.reason


def test_a_bug_in_the_app_is_raised_not_fallen_back_from():
    calls: list[str] = []

    def call(link: Link) -> str:
        calls.append(link.model)
        raise TypeError("a programming error")

    with pytest.raises(TypeError):
        run_chain("extract", CHAIN, call)
    assert calls == ["gpt-5-mini"]


def test_when_every_model_fails_the_error_names_each_failure():
    def call(link: Link) -> str:
        raise MalformedAnswer(f"{link.model} returned an empty answer")

    with pytest.raises(ChainExhausted, match=r"extract: every model failed \(gpt-5-mini: .*; deepseek-v3.2-exp: .*\)"):
        run_chain("extract", CHAIN, call)
