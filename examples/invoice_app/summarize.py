"""Summaries (workload ``summarize``): a short digest of a customer's email thread for the inbox.

Latency matters most (the inbox waits for it), so the primary is the fast model and the fallback
the same family's stronger, slower one. Streamed variants show the summary as it is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import llm, routes
from .clients import Clients
from .fallback import Answered, Link, arun_chain, run_chain

WORKLOAD = "summarize"
MAX_TOKENS = 1024


def instructions(max_words: int) -> str:
    return (
        f"Summarize the customer's message for a busy support agent in at most {max_words} words: "
        "what they want, by when, and any amounts or invoice numbers. Plain sentences, no lists."
    )


def _chain(chain: Iterable[Any] | None) -> Iterable[Any]:
    return routes.chain(WORKLOAD) if chain is None else chain


def summarize(text: str, *, clients: Clients, chain: Iterable[Any] | None = None, max_words: int = 60) -> Answered[llm.Reply]:
    system = instructions(max_words)
    return run_chain(
        WORKLOAD,
        _chain(chain),
        lambda link: llm.complete(clients, link, system=system, messages=[llm.user(text)], max_tokens=MAX_TOKENS),
    )


async def summarize_async(
    text: str, *, clients: Clients, chain: Iterable[Any] | None = None, max_words: int = 60
) -> Answered[llm.Reply]:
    system = instructions(max_words)

    async def ask(link: Link) -> llm.Reply:
        return await llm.acomplete(clients, link, system=system, messages=[llm.user(text)], max_tokens=MAX_TOKENS)

    return await arun_chain(WORKLOAD, _chain(chain), ask)


def stream_summary(
    text: str,
    *,
    clients: Clients,
    chain: Iterable[Any] | None = None,
    max_words: int = 60,
    on_text: llm.OnText | None = None,
    on_restart: Callable[[str], None] | None = None,
) -> Answered[llm.Reply]:
    """Stream the summary to ``on_text``; ``on_restart(model)`` when a broken stream is replaced."""
    system = instructions(max_words)
    return run_chain(
        WORKLOAD,
        _chain(chain),
        lambda link: llm.stream(clients, link, system=system, messages=[llm.user(text)], max_tokens=MAX_TOKENS, on_text=on_text),
        on_fallback=(lambda failed, fallback: on_restart(fallback.model)) if on_restart else None,
    )


async def astream_summary(
    text: str,
    *,
    clients: Clients,
    chain: Iterable[Any] | None = None,
    max_words: int = 60,
    on_text: llm.OnText | None = None,
    on_restart: Callable[[str], None] | None = None,
) -> Answered[llm.Reply]:
    """The async :func:`stream_summary`."""
    system = instructions(max_words)

    async def ask(link: Link) -> llm.Reply:
        return await llm.astream(
            clients, link, system=system, messages=[llm.user(text)], max_tokens=MAX_TOKENS, on_text=on_text
        )

    return await arun_chain(
        WORKLOAD,
        _chain(chain),
        ask,
        on_fallback=(lambda failed, fallback: on_restart(fallback.model)) if on_restart else None,
    )
