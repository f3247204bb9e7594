"""Invoice extraction (workload ``extract``): invoice text in, a validated ``Invoice`` out.

The model is asked for one JSON object; the answer is parsed, checked against
``contracts/app/invoice.schema.json`` (the same schema the tests hold every model to) and for
amounts that add up. An answer that fails any of this is a :class:`MalformedAnswer`: the chain
tries the next model instead of storing garbage.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import llm, routes
from .clients import Clients
from .fallback import Answered, Link, MalformedAnswer, arun_chain, run_chain

WORKLOAD = "extract"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "contracts" / "app" / "invoice.schema.json"

SYSTEM = (
    "You extract data from invoices. Answer with one JSON object and nothing else: no prose, no code "
    "fences. Keys: invoice_number, vendor, customer (strings); issue_date, due_date (YYYY-MM-DD); "
    "currency (ISO 4217 code); subtotal, tax, total (numbers). Leave out keys the invoice does not show."
)
MAX_TOKENS = 2048


@dataclass(frozen=True)
class Invoice:
    """The fields the bookkeeping system needs."""

    invoice_number: str
    vendor: str
    issue_date: date
    currency: str
    total: Decimal
    customer: str | None = None
    due_date: date | None = None
    subtotal: Decimal | None = None
    tax: Decimal | None = None

    @classmethod
    def from_answer(cls, text: str, model: str = "the model") -> Invoice:
        """Parse and validate a model's answer; MalformedAnswer says what is wrong with it."""
        import jsonschema

        try:
            data = json.loads(text)
        except ValueError:
            raise MalformedAnswer(f"{model} did not answer with JSON: {text[:60]!r}") from None
        problem = jsonschema.exceptions.best_match(_validator().iter_errors(data))
        if problem is not None:
            where = "/".join(map(str, problem.absolute_path)) or "the answer"
            raise MalformedAnswer(f"{model}: {where}: {problem.message}")
        amount = lambda key: Decimal(str(data[key])) if key in data else None  # noqa: E731
        invoice = cls(
            invoice_number=data["invoice_number"],
            vendor=data["vendor"],
            issue_date=date.fromisoformat(data["issue_date"]),
            currency=data["currency"],
            total=amount("total"),  # type: ignore[arg-type]
            customer=data.get("customer"),
            due_date=date.fromisoformat(data["due_date"]) if "due_date" in data else None,
            subtotal=amount("subtotal"),
            tax=amount("tax"),
        )
        if invoice.subtotal is not None and invoice.tax is not None:
            if abs(invoice.subtotal + invoice.tax - invoice.total) > Decimal("0.01"):
                raise MalformedAnswer(
                    f"{model}: subtotal {invoice.subtotal} + tax {invoice.tax} does not add up to total {invoice.total}"
                )
        return invoice


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _chain(chain: Iterable[Any] | None) -> Iterable[Any]:
    return routes.chain(WORKLOAD) if chain is None else chain


def extract_invoice(text: str, *, clients: Clients, chain: Iterable[Any] | None = None) -> Answered[Invoice]:
    """Extract one invoice, falling back along the ``extract`` chain when a model fails."""

    def ask(link: Link) -> Invoice:
        reply = llm.complete(
            clients, link, system=SYSTEM, messages=[llm.user(text)], json_output=True, max_tokens=MAX_TOKENS
        )
        return Invoice.from_answer(reply.text, link.model)

    return run_chain(WORKLOAD, _chain(chain), ask)


def extract_invoice_streaming(
    text: str, *, clients: Clients, chain: Iterable[Any] | None = None, on_progress: llm.OnText | None = None
) -> Answered[Invoice]:
    """Extract a long invoice over a stream (``on_progress`` sees the JSON as it grows): long
    generations stay inside proxies' idle timeouts and the UI can show progress."""

    def ask(link: Link) -> Invoice:
        reply = llm.stream(
            clients, link, system=SYSTEM, messages=[llm.user(text)], json_output=True,
            max_tokens=MAX_TOKENS, on_text=on_progress,
        )
        return Invoice.from_answer(reply.text, link.model)

    return run_chain(WORKLOAD, _chain(chain), ask)


async def extract_invoice_async(text: str, *, clients: Clients, chain: Iterable[Any] | None = None) -> Answered[Invoice]:
    """The async :func:`extract_invoice`."""

    async def ask(link: Link) -> Invoice:
        reply = await llm.acomplete(
            clients, link, system=SYSTEM, messages=[llm.user(text)], json_output=True, max_tokens=MAX_TOKENS
        )
        return Invoice.from_answer(reply.text, link.model)

    return await arun_chain(WORKLOAD, _chain(chain), ask)


async def extract_batch(
    texts: Sequence[str], *, clients: Clients, chain: Iterable[Any] | None = None, concurrency: int = 4
) -> list[Answered[Invoice]]:
    """Extract many invoices concurrently (at most ``concurrency`` requests in flight), in order."""
    links = tuple(_chain(chain))
    limit = asyncio.Semaphore(concurrency)

    async def one(text: str) -> Answered[Invoice]:
        async with limit:
            return await extract_invoice_async(text, clients=clients, chain=links)

    return list(await asyncio.gather(*(one(text) for text in texts)))
