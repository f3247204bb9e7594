"""The billing support assistant on every model of the ``chat`` route, and its fallback policy.

The system prompt carries today's date; ``match_ignore: [system[1].text]`` in anyint.yaml lets
the cassettes recorded on one day replay on any other.
"""

from __future__ import annotations

import datetime as dt

import anyio
import pytest
from invoice_app import ChainExhausted, classify
from invoice_app.support import count_tokens, reply, reply_async, stream_reply

QUESTION = {"role": "user", "content": "Invoice INV-2025-0142 arrived twice. Do I have to pay it twice?"}


@pytest.mark.route("chat")
def test_answers_a_customer_question(clients, anyint_route, anyint_calls):
    answered = reply([QUESTION], clients=clients, chain=[anyint_route])

    assert answered.value.text.strip()
    assert answered.model == anyint_route.model and not answered.fell_back
    assert anyint_calls.models() == [anyint_route.model]


@pytest.mark.route("chat")
def test_a_second_turn_sends_the_whole_conversation(clients, anyint_route, anyint_calls):
    first = reply([QUESTION], clients=clients, chain=[anyint_route]).value
    follow_up = {"role": "user", "content": "Thanks. When is it due?"}
    second = reply([QUESTION, {"role": "assistant", "content": first.text}, follow_up], clients=clients, chain=[anyint_route])

    assert second.value.text.strip()
    assert [call.status for call in anyint_calls] == [200, 200]


@pytest.mark.route("chat")
def test_streams_the_answer_as_it_is_written(clients, anyint_route, anyint_calls):
    pieces: list[str] = []
    answered = stream_reply([QUESTION], clients=clients, chain=[anyint_route], on_text=pieces.append)

    assert len(pieces) > 1 and "".join(pieces) == answered.value.text
    assert [call.stream for call in anyint_calls] == [True]


@pytest.mark.route("chat")
@pytest.mark.asyncio
async def test_answers_with_the_async_client(clients, anyint_route):
    answered = await reply_async([QUESTION], clients=clients, chain=[anyint_route])

    assert answered.value.text.strip() and answered.model == anyint_route.model


@pytest.mark.route("chat")
@pytest.mark.anyio
async def test_answers_two_customers_at_once(clients, anyint_route, anyint_calls):
    other = {"role": "user", "content": "Can I get the credit note for the damaged desk frame by email?"}
    answers: dict[str, str] = {}

    async def answer(name: str, question: dict[str, str]) -> None:
        answers[name] = (await reply_async([question], clients=clients, chain=[anyint_route])).value.text

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(answer, "mara", QUESTION)
            group.start_soon(answer, "jon", other)

    assert set(answers) == {"mara", "jon"} and all(text.strip() for text in answers.values())
    assert len(anyint_calls) == 2


@pytest.mark.route("chat")
def test_counts_tokens_with_plain_httpx(anyint_route, anyint_calls):
    """The count_tokens route through a plain httpx client: anyint_route.client() carries the
    Anthropic base URL and the auth headers the gateway wants (x-api-key, anthropic-version)."""
    with anyint_route.client(timeout=30) as http:
        tokens = count_tokens(http, anyint_route.model, [QUESTION], today=dt.date(2025, 3, 20))

    assert tokens > 0
    assert [call.endpoint for call in anyint_calls] == ["/anthropic/v1/messages/count_tokens"]


@pytest.mark.route("chat", models="primary")
def test_one_overload_is_absorbed_by_the_sdk_retry(clients, anyint_route, anyint_calls, anyint_faults):
    """A single 529 is what the SDK's own retry is for: the app must not switch models for it."""
    anyint_faults.inject(anyint_route.model, status=529, envelope="native", times=1)

    answered = reply([QUESTION], clients=clients, chain=anyint_route.chain)

    assert answered.model == anyint_route.model and not answered.fell_back
    assert [call.status for call in anyint_calls] == [529, 200]
    anyint_calls.assert_no_fallback()


# --------------------------------------------------------------------------- fallback policy


@pytest.mark.route("chat", faults="policy")
def test_streaming_falls_back_only_on_temporary_failures(clients, anyint_route, anyint_calls, anyint_scenario):
    screen: list[str] = []  # what the customer sees
    restarts: list[str] = []

    def restart(model: str) -> None:
        screen.clear()
        restarts.append(model)

    def run():
        return stream_reply([QUESTION], clients=clients, chain=anyint_route.chain, on_text=screen.append, on_restart=restart)

    if anyint_scenario.expect_fallback:
        answered = run()

        fallback = anyint_route.chain[1].model
        assert answered.fell_back and answered.model == fallback
        assert "".join(screen) == answered.value.text, "a broken stream's partial text must be cleared"
        assert restarts in ([], [fallback])
        anyint_calls.assert_fallback(from_model=anyint_route.model, to_model=fallback)
    else:
        with pytest.raises(Exception) as raised:
            run()

        failure = classify(raised.value)
        assert not isinstance(raised.value, ChainExhausted)
        assert failure is not None and failure.status == anyint_scenario.fault
        assert screen == []
        anyint_calls.assert_no_fallback()
