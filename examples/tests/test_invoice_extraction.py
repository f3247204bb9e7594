"""Invoice extraction, proven on every model of the ``extract`` route, and its fallback policy.

Each ``@pytest.mark.route("extract")`` test runs once per model (gpt-5-mini, deepseek-v3.2-exp,
gemini-2.5-flash); the chain passed to the app is just that case's model, so a model that
answers prose or the wrong shape fails its own case. The plugin also holds every answer to
``contracts/app/invoice.schema.json`` (``output_schema`` in anyint.yaml).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import anyio
import pytest
from invoice_app import (
    ChainExhausted,
    classify,
    extract_batch,
    extract_invoice,
    extract_invoice_async,
    extract_invoice_streaming,
)


def assert_is_the_invoice(invoice) -> None:
    assert invoice.invoice_number == "INV-2025-0142"
    assert invoice.vendor == "Nordlicht Office Supplies GmbH"
    assert invoice.issue_date == date(2025, 3, 4)
    assert invoice.due_date == date(2025, 4, 3)
    assert invoice.currency == "EUR"
    assert (invoice.subtotal, invoice.tax, invoice.total) == (Decimal("1000"), Decimal("190"), Decimal("1190"))


@pytest.mark.route("extract")
def test_extracts_the_invoice_fields(clients, anyint_route, anyint_calls, invoice_text):
    answered = extract_invoice(invoice_text, clients=clients, chain=[anyint_route])

    assert_is_the_invoice(answered.value)
    assert answered.model == anyint_route.model and not answered.fell_back
    assert anyint_calls.models() == [anyint_route.model]


@pytest.mark.route("extract")
def test_extracts_over_a_stream(clients, anyint_route, anyint_calls, invoice_text):
    progress: list[str] = []
    answered = extract_invoice_streaming(invoice_text, clients=clients, chain=[anyint_route], on_progress=progress.append)

    assert_is_the_invoice(answered.value)
    assert len(progress) > 1, "the answer should arrive in several pieces"
    assert [call.stream for call in anyint_calls] == [True]


@pytest.mark.route("extract")
@pytest.mark.asyncio
async def test_extracts_with_the_async_clients(clients, anyint_route, invoice_text):
    answered = await extract_invoice_async(invoice_text, clients=clients, chain=[anyint_route])

    assert_is_the_invoice(answered.value)


@pytest.mark.route("extract")
@pytest.mark.anyio
async def test_extracts_a_batch_concurrently(clients, anyint_route, anyint_calls, invoice_text, second_invoice_text):
    with anyio.fail_after(30):
        first, second = await extract_batch([invoice_text, second_invoice_text], clients=clients, chain=[anyint_route])

    assert_is_the_invoice(first.value)
    assert (second.value.invoice_number, second.value.total, second.value.due_date) == ("HB-7781", Decimal("342.50"), None)
    assert len(anyint_calls) == 2


@pytest.mark.route("extract", models="primary")
def test_a_rate_limit_without_retry_moves_to_the_fallback_at_once(
    clients, anyint_route, anyint_calls, anyint_faults, invoice_text
):
    """x-should-retry: false tells the SDK not to retry; the app's chain takes over at once."""
    primary, fallback = anyint_route.model, anyint_route.chain[1].model
    anyint_faults.inject(primary, status=429, should_retry=False)

    answered = extract_invoice(invoice_text, clients=clients, chain=anyint_route.chain)

    assert answered.model == fallback
    assert [(call.model, call.status) for call in anyint_calls] == [(primary, 429), (fallback, 200)]


# --------------------------------------------------------------------------- fallback policy


@pytest.mark.route("extract", faults="policy")
def test_falls_back_only_on_temporary_failures(clients, anyint_route, anyint_calls, anyint_scenario, invoice_text):
    """The primary fails with every fault of the policy in turn, for the whole test."""
    if anyint_scenario.expect_fallback:
        answered = extract_invoice(invoice_text, clients=clients, chain=anyint_route.chain)

        assert_is_the_invoice(answered.value)
        assert answered.fell_back and answered.model == anyint_route.chain[1].model
        anyint_calls.assert_fallback(from_model=anyint_route.model, to_model=anyint_route.chain[1].model)
    else:
        with pytest.raises(Exception) as raised:
            extract_invoice(invoice_text, clients=clients, chain=anyint_route.chain)

        failure = classify(raised.value)
        assert not isinstance(raised.value, ChainExhausted)
        assert failure is not None and not failure.temporary and failure.status == anyint_scenario.fault
        anyint_calls.assert_no_fallback()
