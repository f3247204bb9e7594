"""Email digests on every model of the ``summarize`` route (google-genai), and its fallback policy."""

from __future__ import annotations

import anyio
import pytest
from invoice_app import ChainExhausted, Clients, classify
from invoice_app.summarize import astream_summary, stream_summary, summarize, summarize_async


@pytest.mark.route("summarize")
def test_summarizes_an_email(clients, anyint_route, anyint_calls, email_text):
    answered = summarize(email_text, clients=clients, chain=[anyint_route])

    assert answered.value.text.strip()
    assert answered.model == anyint_route.model and not answered.fell_back
    assert [(call.model, call.status) for call in anyint_calls] == [(anyint_route.model, 200)]


@pytest.mark.route("summarize")
def test_streams_the_summary(clients, anyint_route, anyint_calls, email_text):
    pieces: list[str] = []
    answered = stream_summary(email_text, clients=clients, chain=[anyint_route], on_text=pieces.append)

    assert len(pieces) > 1 and "".join(pieces) == answered.value.text
    assert [call.endpoint for call in anyint_calls] == [f"/gemini/v1beta/models/{anyint_route.model}:streamGenerateContent"]


@pytest.mark.route("summarize")
@pytest.mark.asyncio
async def test_summarizes_with_the_async_client(clients, anyint_route, email_text):
    answered = await summarize_async(email_text, clients=clients, chain=[anyint_route])

    assert answered.value.text.strip() and answered.model == anyint_route.model


@pytest.mark.route("summarize")
@pytest.mark.anyio
async def test_streams_with_the_async_client(clients, anyint_route, anyint_calls, email_text):
    pieces: list[str] = []
    with anyio.fail_after(30):
        answered = await astream_summary(email_text, clients=clients, chain=[anyint_route], on_text=pieces.append)

    assert "".join(pieces) == answered.value.text and answered.value.text.strip()
    assert [call.stream for call in anyint_calls] == [True]


@pytest.mark.route("summarize", models="primary")
def test_summarizes_with_a_client_built_the_plain_way(anyint_route, anyint_calls, email_text):
    """google-genai as most apps build it: ``api_key=`` and the base URL, nothing else.

    It sends its default ``x-goog-api-key`` header instead of the documented Bearer one; the
    gateway accepts it from some clients, so the plugin passes it with one warning naming the
    documented form (and fails it under ``--anyint-contracts=strict``).
    """
    plain = {"api_key": anyint_route.api_key, "http_options": {"base_url": anyint_route.base_url, "api_version": "v1beta"}}
    clients = Clients(lambda family: plain)
    try:
        answered = summarize(email_text, clients=clients, chain=[anyint_route])
    finally:
        clients.close()

    assert answered.value.text.strip() and answered.model == anyint_route.model
    assert [(call.model, call.status) for call in anyint_calls] == [(anyint_route.model, 200)]


# --------------------------------------------------------------------------- fallback policy


@pytest.mark.route("summarize", faults="policy")
@pytest.mark.asyncio
async def test_async_stream_falls_back_only_on_temporary_failures(clients, anyint_route, anyint_calls, anyint_scenario, email_text):
    screen: list[str] = []

    async def run():
        return await astream_summary(
            email_text, clients=clients, chain=anyint_route.chain, on_text=screen.append, on_restart=lambda model: screen.clear()
        )

    if anyint_scenario.expect_fallback:
        answered = await run()

        fallback = anyint_route.chain[1].model
        assert answered.fell_back and answered.model == fallback
        assert "".join(screen) == answered.value.text
        anyint_calls.assert_fallback(from_model=anyint_route.model, to_model=fallback)
    else:
        with pytest.raises(Exception) as raised:
            await run()

        failure = classify(raised.value)
        assert not isinstance(raised.value, ChainExhausted)
        assert failure is not None and failure.status == anyint_scenario.fault
        anyint_calls.assert_no_fallback()
