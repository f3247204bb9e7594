"""Fixtures for invoice_app's route-marked tests.

The SDK clients are built once per module from ``anyint_gateway`` (building one costs about
20 ms, more than a whole replayed test) and shared by every route case of the module; the plugin
answers each case's requests from that case's cassette, whichever client sends them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from invoice_app import Clients

INVOICE = """\
Nordlicht Office Supplies GmbH - Hafenstrasse 12, 20457 Hamburg

Invoice number: INV-2025-0142
Vendor: Nordlicht Office Supplies GmbH
Customer: Example Logistics AG
Issue date: 2025-03-04
Due date: 2025-04-03
Currency: EUR

- Ergonomic office chair (2 pcs) 900.00
- Standing desk frame (1 pc) 100.00

Subtotal: 1000.00
Tax: 190.00
Total: 1190.00

Thank you for your business. Please pay within 30 days.
"""

SECOND_INVOICE = """\
Invoice number: HB-7781
Vendor: Hafenblick Catering
Customer: Example Logistics AG
Issue date: 2025-02-17
Currency: EUR
Total: 342.50
"""

EMAIL = """\
Hello, this is Mara from Example Logistics. Invoice INV-2025-0142 over 1190 EUR arrived twice
by post and once by email. We will pay it once, by April 3rd, but please confirm that the second
copy is not a separate charge and send the credit note for the damaged desk frame (100 EUR) to
accounting@example-logistics.invalid before the end of the month. Thanks, Mara
"""


@pytest.fixture
def invoice_text() -> str:
    """A real-looking invoice; the amounts add up."""
    return INVOICE


@pytest.fixture
def second_invoice_text() -> str:
    return SECOND_INVOICE


@pytest.fixture
def email_text() -> str:
    """A customer's email for the summary workload."""
    return EMAIL


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def clients(anyint_gateway) -> Iterator[Clients]:
    """The app's clients, pointed at the gateway the session runs against (cassettes, emulator or
    live). One SDK retry keeps the retry path under test without slowing fault cases down."""
    shared = Clients(anyint_gateway.sdk_kwargs, max_retries=1)
    yield shared
    shared.close()
