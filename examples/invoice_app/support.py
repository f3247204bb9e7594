"""Support chat (workload ``chat``): answers customers' questions about their invoices.

Quality matters more than cost here, so the primary is the stronger model and the fallback the
same family's faster one. The system prompt carries today's date (customers ask "is my invoice
overdue?"), the one part of a request that changes from run to run: anyint.yaml tells the test
plugin to ignore it when matching recordings (``match_ignore``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import llm, routes
from .clients import Clients
from .fallback import Answered, Link, arun_chain, run_chain

WORKLOAD = "chat"
MAX_TOKENS = 512

SUPPORT_PROMPT = (
    "You are the billing support assistant of Nordlicht Office Supplies. Answer in two or three "
    "short sentences, politely and concretely. If a question needs a human (refunds above 500 EUR, "
    "legal disputes), say that a colleague will follow up by email."
)


def system_prompt(today: dt.date | None = None) -> list[str]:
    """The fixed instructions, then the date as a separate part (the volatile one, ignored in tests)."""
    today = today or dt.date.today()
    return [SUPPORT_PROMPT, f"Today's date: {today.isoformat()}."]


def _chain(chain: Iterable[Any] | None) -> Iterable[Any]:
    return routes.chain(WORKLOAD) if chain is None else chain


def reply(
    conversation: Sequence[llm.Message], *, clients: Clients, chain: Iterable[Any] | None = None, today: dt.date | None = None
) -> Answered[llm.Reply]:
    """The assistant's next turn for ``conversation`` (user and assistant messages, oldest first)."""
    system = system_prompt(today)
    return run_chain(
        WORKLOAD,
        _chain(chain),
        lambda link: llm.complete(clients, link, system=system, messages=conversation, max_tokens=MAX_TOKENS),
    )


async def reply_async(
    conversation: Sequence[llm.Message], *, clients: Clients, chain: Iterable[Any] | None = None, today: dt.date | None = None
) -> Answered[llm.Reply]:
    """The async :func:`reply`."""
    system = system_prompt(today)

    async def ask(link: Link) -> llm.Reply:
        return await llm.acomplete(clients, link, system=system, messages=conversation, max_tokens=MAX_TOKENS)

    return await arun_chain(WORKLOAD, _chain(chain), ask)


def stream_reply(
    conversation: Sequence[llm.Message],
    *,
    clients: Clients,
    chain: Iterable[Any] | None = None,
    on_text: llm.OnText | None = None,
    on_restart: Callable[[str], None] | None = None,
    today: dt.date | None = None,
) -> Answered[llm.Reply]:
    """Stream the next turn to ``on_text`` as it is written.

    When a stream breaks after some text was shown and the chain moves on, ``on_restart(model)``
    tells the UI to clear the partial answer before the fallback model's text arrives.
    """
    system = system_prompt(today)
    shown = False

    def show(piece: str) -> None:
        nonlocal shown
        shown = True
        if on_text is not None:
            on_text(piece)

    def restart(failed: Link, fallback: Link) -> None:
        nonlocal shown
        if shown and on_restart is not None:
            on_restart(fallback.model)
        shown = False

    return run_chain(
        WORKLOAD,
        _chain(chain),
        lambda link: llm.stream(clients, link, system=system, messages=conversation, max_tokens=MAX_TOKENS, on_text=show),
        on_fallback=restart,
    )


def count_tokens(http: Any, model: str, conversation: Sequence[llm.Message], today: dt.date | None = None) -> int:
    """Input tokens of the next turn, from the gateway's Anthropic ``count_tokens`` route.

    ``http`` is a plain ``httpx.Client`` with the gateway's Anthropic base URL and auth headers
    (``x-api-key`` and ``anthropic-version``); long conversations get trimmed before they are sent.
    """
    body = {
        "model": model,
        "system": [{"type": "text", "text": part} for part in system_prompt(today)],
        "messages": [dict(m) for m in conversation],
    }
    response = http.post("/v1/messages/count_tokens", json=body)
    response.raise_for_status()
    return int(response.json()["input_tokens"])
