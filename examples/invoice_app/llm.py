"""One request to one model, whatever its family: the only module that knows each SDK's call shape.

Every function checks the answer before handing it back: an empty answer, one cut off at the
token limit, or a stream that stops before its end raises :class:`MalformedAnswer`, which the
fallback chain treats as a temporary failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .clients import Clients
from .fallback import Link, MalformedAnswer

#: ``{"role": "user" | "assistant", "content": "..."}``: the app's own message shape.
Message = Mapping[str, str]
OnText = Callable[[str], None]


@dataclass(frozen=True)
class Reply:
    """The assistant's text and the model the app asked for."""

    text: str
    model: str


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _checked(link: Link, text: str | None, cut_off: bool) -> Reply:
    if cut_off:
        raise MalformedAnswer(f"{link.model} stopped at the token limit; the answer is cut off")
    if not text or not text.strip():
        raise MalformedAnswer(f"{link.model} returned an empty answer")
    return Reply(text, link.model)


def _system_parts(system: str | Sequence[str]) -> list[str]:
    return [system] if isinstance(system, str) else list(system)


# --------------------------------------------------------------------------- request shapes


def _openai_request(link: Link, system: str | Sequence[str], messages: Sequence[Message], json_output: bool) -> dict[str, Any]:
    chat = [{"role": "system", "content": "\n\n".join(_system_parts(system))}, *(dict(m) for m in messages)]
    request: dict[str, Any] = {"model": link.model, "messages": chat}
    if json_output:
        request["response_format"] = {"type": "json_object"}
    return request


def _anthropic_request(link: Link, system: str | Sequence[str], messages: Sequence[Message], max_tokens: int) -> dict[str, Any]:
    blocks = [{"type": "text", "text": part} for part in _system_parts(system)]
    return {"model": link.model, "max_tokens": max_tokens, "system": blocks, "messages": [dict(m) for m in messages]}


def _gemini_request(
    link: Link, system: str | Sequence[str], messages: Sequence[Message], json_output: bool, max_tokens: int
) -> dict[str, Any]:
    from google.genai import types

    contents = [
        types.Content(role="model" if m["role"] == "assistant" else "user", parts=[types.Part(text=m["content"])])
        for m in messages
    ]
    config = types.GenerateContentConfig(
        system_instruction="\n\n".join(_system_parts(system)),
        max_output_tokens=max_tokens,
        response_mime_type="application/json" if json_output else None,
    )
    return {"model": link.model, "contents": contents, "config": config}


def _gemini_cut_off(response: Any) -> bool:
    candidates = getattr(response, "candidates", None) or []
    reason = getattr(candidates[0], "finish_reason", None) if candidates else None
    return str(getattr(reason, "value", reason)) == "MAX_TOKENS"


def _unsupported(link: Link) -> ValueError:
    return ValueError(f"{link.model}: family {link.family!r} has no chat SDK in this app (openai, anthropic, gemini)")


# --------------------------------------------------------------------------- one answer


def complete(
    clients: Clients,
    link: Link,
    *,
    system: str | Sequence[str],
    messages: Sequence[Message],
    json_output: bool = False,
    max_tokens: int = 1024,
) -> Reply:
    """One non-streamed answer from ``link.model``."""
    if link.family == "openai":
        response = clients.openai.chat.completions.create(**_openai_request(link, system, messages, json_output))
        if not response.choices:
            raise MalformedAnswer(f"{link.model} returned no choices")
        choice = response.choices[0]
        return _checked(link, choice.message.content, choice.finish_reason == "length")
    if link.family == "anthropic":
        message = clients.anthropic.messages.create(**_anthropic_request(link, system, messages, max_tokens))
        text = "".join(block.text for block in message.content if block.type == "text")
        return _checked(link, text, message.stop_reason == "max_tokens")
    if link.family == "gemini":
        response = clients.genai.models.generate_content(**_gemini_request(link, system, messages, json_output, max_tokens))
        return _checked(link, response.text, _gemini_cut_off(response))
    raise _unsupported(link)


async def acomplete(
    clients: Clients,
    link: Link,
    *,
    system: str | Sequence[str],
    messages: Sequence[Message],
    json_output: bool = False,
    max_tokens: int = 1024,
) -> Reply:
    """The async :func:`complete`."""
    if link.family == "openai":
        response = await clients.async_openai.chat.completions.create(**_openai_request(link, system, messages, json_output))
        if not response.choices:
            raise MalformedAnswer(f"{link.model} returned no choices")
        choice = response.choices[0]
        return _checked(link, choice.message.content, choice.finish_reason == "length")
    if link.family == "anthropic":
        message = await clients.async_anthropic.messages.create(**_anthropic_request(link, system, messages, max_tokens))
        text = "".join(block.text for block in message.content if block.type == "text")
        return _checked(link, text, message.stop_reason == "max_tokens")
    if link.family == "gemini":
        response = await clients.genai.aio.models.generate_content(
            **_gemini_request(link, system, messages, json_output, max_tokens)
        )
        return _checked(link, response.text, _gemini_cut_off(response))
    raise _unsupported(link)


# --------------------------------------------------------------------------- streamed answers


class _Assembler:
    """Collects a stream's text, hands each piece on, and knows whether the stream really ended."""

    def __init__(self, link: Link, on_text: OnText | None) -> None:
        self.link = link
        self.on_text = on_text
        self.parts: list[str] = []
        self.finished = False
        self.cut_off = False

    def text(self, piece: str | None) -> None:
        if piece:
            self.parts.append(piece)
            if self.on_text is not None:
                self.on_text(piece)

    def openai_chunk(self, chunk: Any) -> None:
        for choice in chunk.choices or []:
            self.text(choice.delta.content)
            if choice.finish_reason is not None:
                self.finished = True
                self.cut_off = choice.finish_reason == "length"

    def anthropic_event(self, event: Any) -> None:
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            self.text(event.delta.text)
        elif event.type == "message_delta":
            self.cut_off = event.delta.stop_reason == "max_tokens"
        elif event.type == "message_stop":
            self.finished = True

    def gemini_chunk(self, chunk: Any) -> None:
        self.text(chunk.text)
        candidates = chunk.candidates or []
        if candidates and candidates[0].finish_reason is not None:
            self.finished = True
            self.cut_off = _gemini_cut_off(chunk)

    def reply(self) -> Reply:
        if not self.finished:
            raise MalformedAnswer(f"{self.link.model}: the stream ended before the answer was complete")
        return _checked(self.link, "".join(self.parts), self.cut_off)


def stream(
    clients: Clients,
    link: Link,
    *,
    system: str | Sequence[str],
    messages: Sequence[Message],
    json_output: bool = False,
    max_tokens: int = 1024,
    on_text: OnText | None = None,
) -> Reply:
    """A streamed answer: ``on_text`` gets each piece as it arrives; returns the whole answer."""
    out = _Assembler(link, on_text)
    if link.family == "openai":
        request = _openai_request(link, system, messages, json_output)
        for chunk in clients.openai.chat.completions.create(**request, stream=True, stream_options={"include_usage": True}):
            out.openai_chunk(chunk)
    elif link.family == "anthropic":
        with clients.anthropic.messages.stream(**_anthropic_request(link, system, messages, max_tokens)) as events:
            for event in events:
                out.anthropic_event(event)
    elif link.family == "gemini":
        for chunk in clients.genai.models.generate_content_stream(**_gemini_request(link, system, messages, json_output, max_tokens)):
            out.gemini_chunk(chunk)
    else:
        raise _unsupported(link)
    return out.reply()


async def astream(
    clients: Clients,
    link: Link,
    *,
    system: str | Sequence[str],
    messages: Sequence[Message],
    json_output: bool = False,
    max_tokens: int = 1024,
    on_text: OnText | None = None,
) -> Reply:
    """The async :func:`stream`."""
    out = _Assembler(link, on_text)
    if link.family == "openai":
        request = _openai_request(link, system, messages, json_output)
        chunks = await clients.async_openai.chat.completions.create(**request, stream=True, stream_options={"include_usage": True})
        async for chunk in chunks:
            out.openai_chunk(chunk)
    elif link.family == "anthropic":
        async with clients.async_anthropic.messages.stream(**_anthropic_request(link, system, messages, max_tokens)) as events:
            async for event in events:
                out.anthropic_event(event)
    elif link.family == "gemini":
        request = _gemini_request(link, system, messages, json_output, max_tokens)
        async for chunk in await clients.genai.aio.models.generate_content_stream(**request):
            out.gemini_chunk(chunk)
    else:
        raise _unsupported(link)
    return out.reply()
