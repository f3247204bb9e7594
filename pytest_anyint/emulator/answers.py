"""The emulator's answers per family: chat completions, Anthropic messages, Gemini, the Models API.

Answers are deterministic: ids and timestamps come from a hash of the request, the text from the
prompt (an echo, or its ``key: value`` lines as JSON when JSON is asked for), so re-recording
against the emulator gives stable cassettes. Streams are built as event objects and framed by the
family table (:class:`~pytest_anyint.families.StreamForm`), the same framing faults cut from.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from .replies import Reply, Routed, created, digest, error_reply, json_reply, stream_reply, words
from .switches import Switches

DISPLAY_NAMES = {
    "gpt-5-mini": "GPT-5 mini",
    "gpt-5": "GPT-5",
    "deepseek-v3.2-exp": "DeepSeek V3.2 Exp",
    "qwen3-max": "Qwen3 Max",
    "claude-sonnet-4-6": "Claude Sonnet 4.6",
    "claude-haiku-4-5": "Claude Haiku 4.5",
    "claude-opus-4-6": "Claude Opus 4.6",
    "gemini-2.5-flash": "Gemini 2.5 Flash",
    "gemini-2.5-pro": "Gemini 2.5 Pro",
    "gemini-3-flash-preview": "Gemini 3 Flash Preview",
    "wan2.5-t2v-preview": "Wan 2.5 Text-to-Video Preview",
    "V5": "Suno V5",
}


# --------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class Prompt:
    system: str
    last_user: str
    everything: str
    wants_json: bool  # the request itself asks for JSON (response_format / responseMimeType)


def _text_of(content: Any) -> str:
    """Text of an OpenAI/Anthropic message content or a Gemini parts list."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = content.get("parts", [content])
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _openai_prompt(body: dict[str, Any]) -> Prompt:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    system = "\n".join(_text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    users = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    fmt = body.get("response_format")
    wants = isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")
    return Prompt(system, users[-1] if users else "", "\n".join(_text_of(m.get("content")) for m in messages), wants)


def _anthropic_prompt(body: dict[str, Any]) -> Prompt:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    system = _text_of(body.get("system"))
    users = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    everything = "\n".join([system] + [_text_of(m.get("content")) for m in messages])
    return Prompt(system, users[-1] if users else "", everything, False)


def _gemini_prompt(body: dict[str, Any]) -> Prompt:
    contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
    system = _text_of(body.get("systemInstruction") or body.get("system_instruction"))
    users = [_text_of(c) for c in contents if c.get("role", "user") == "user"]
    config = body.get("generationConfig") or body.get("generation_config") or {}
    mime = config.get("responseMimeType") or config.get("response_mime_type") if isinstance(config, dict) else None
    everything = "\n".join([system] + [_text_of(c) for c in contents])
    return Prompt(system, users[-1] if users else "", everything, mime == "application/json")


_JSON_WORD = re.compile(r"\bjson\b", re.IGNORECASE)
_FIELD_LINE = re.compile(r"^\s*(?:[-*]\s+)?([A-Za-z][A-Za-z0-9 _-]{0,48}?)\s*:\s*(\S.*?)\s*$")
_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?\d*\.\d+$")


def extract_fields(text: str) -> dict[str, Any]:
    """The ``key: value`` lines of a prompt as a JSON object (how the emulator does "extraction")."""
    fields: dict[str, Any] = {}
    for line in text.splitlines():
        match = _FIELD_LINE.match(line)
        if not match or _JSON_WORD.search(match.group(1)):
            continue
        key = "_".join(match.group(1).lower().split())
        value: Any = match.group(2)
        if _INT.match(value):
            value = int(value)
        elif _FLOAT.match(value):
            value = float(value)
        fields[key] = value
    return fields


def _echo(text: str, limit: int = 8) -> str:
    parts = text.split()
    if not parts:
        return "(empty prompt)"
    return " ".join(parts[:limit]) + (" ..." if len(parts) > limit else "")


def pieces(text: str, per: int = 3) -> list[str]:
    """Split an answer into stream deltas of a few words; joining them gives the text back."""
    tokens = re.findall(r"\s*\S+", text)
    if not tokens:
        return [text]
    out = ["".join(tokens[i : i + per]) for i in range(0, len(tokens), per)]
    out[-1] += text[len("".join(tokens)) :]
    return out


def answer_for(switches: Switches, model: str, family: str, prompt: Prompt) -> str:
    """The assistant's text: a set answer, an echo, or the prompt's ``key: value`` lines as JSON."""
    chosen = switches.take_answer(model)
    if chosen is not None:
        return chosen
    if model in switches.route_answers:
        return switches.route_answers[model]
    quirks = switches.quirks_of(model)
    wording = switches.has_drift("wording", family)
    json_mode = prompt.wants_json or bool(_JSON_WORD.search(prompt.system) or _JSON_WORD.search(prompt.last_user))
    fields = extract_fields(prompt.last_user)
    if not json_mode:
        return f"{model} says: {_echo(prompt.last_user)}" if wording else f"{model}: {_echo(prompt.last_user)}"
    if "prose" in quirks:
        facts = ", ".join(f"{k.replace('_', ' ')} is {v}" for k, v in fields.items())
        return f"{model}: Sure! Here is what I found: {facts or _echo(prompt.last_user)}."
    obj = fields or {"answer": _echo(prompt.last_user)}
    text = json.dumps(obj, indent=2 if wording else None, ensure_ascii=False)
    if "fenced-json" in quirks:
        text = f"```json\n{text}\n```"
    return text


# --------------------------------------------------------------------------- the Models API


def openai_models(switches: Switches, model_families: dict[str, str]) -> Reply:
    data = [
        {
            "id": m,
            "object": "model",
            "created": created(digest("model", m)),
            "owned_by": "anyint",
            "display_name": DISPLAY_NAMES.get(m, m),
        }
        for m in switches.models
    ]
    return json_reply(200, {"object": "list", "data": data})


def anthropic_models(switches: Switches, model_families: dict[str, str]) -> Reply:
    claude = [m for m in switches.models if model_families.get(m) == "anthropic"]
    data = [
        {
            "type": "model",
            "id": m,
            "display_name": DISPLAY_NAMES.get(m, m),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created(digest("model", m)))),
            "lifecycle": "active",
        }
        for m in claude
    ]
    return json_reply(
        200, {"data": data, "has_more": False, "first_id": claude[0] if claude else None, "last_id": claude[-1] if claude else None}
    )


# --------------------------------------------------------------------------- chat answers


def _openai_usage(prompt: Prompt, text: str) -> dict[str, Any]:
    prompt_tokens, completion_tokens = max(1, words(prompt.everything)), max(1, words(text))
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def chat_completions(switches: Switches, call: Routed) -> Reply:
    body, model = call.body, call.model or ""
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return error_reply(400, "openai", "messages is required")
    prompt = _openai_prompt(body)
    text = answer_for(switches, model, "openai", prompt)
    seed = digest(model, call.path, body)
    ident, stamp = f"chatcmpl-{seed[:24]}", created(seed)
    usage = _openai_usage(prompt, text)
    drift = switches.apply_drift
    if not call.stream:
        answer = {
            "id": ident,
            "object": "chat.completion",
            "created": stamp,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
        return json_reply(200, drift("openai", answer))
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def chunk(choices: list[dict[str, Any]], chunk_usage: Any = None) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": ident, "object": "chat.completion.chunk", "created": stamp, "model": model, "choices": choices}
        if include_usage:
            obj["usage"] = chunk_usage
        return drift("openai", obj)

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    events = [chunk(choice({"role": "assistant", "content": "", "refusal": None}))]
    events += [chunk(choice({"content": piece})) for piece in pieces(text)]
    events.append(chunk(choice({}, "stop")))
    if include_usage:
        events.append(chunk([], usage))
    assert call.form is not None
    return stream_reply(call.form, events)


def messages(switches: Switches, call: Routed) -> Reply:
    body, model = call.body, call.model or ""
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return error_reply(400, "anthropic", "messages: Field required")
    if not isinstance(body.get("max_tokens"), int):
        return error_reply(400, "anthropic", "max_tokens: Field required")
    prompt = _anthropic_prompt(body)
    text = answer_for(switches, model, "anthropic", prompt)
    ident = f"msg_{digest(model, call.path, body)[:24]}"
    input_tokens, output_tokens = max(1, words(prompt.everything)), max(1, words(text))
    usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    message = {
        "id": ident,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    if not call.stream:
        return json_reply(200, switches.apply_drift("anthropic", message))
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[Any] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
    ]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}} for p in pieces(text)]
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {k: v for k, v in usage.items() if k != "service_tier"},
        },
        {"type": "message_stop"},
    ]
    assert call.form is not None
    return stream_reply(call.form, [switches.apply_drift("anthropic", e) for e in events])


def count_tokens(switches: Switches, call: Routed) -> Reply:
    if not isinstance(call.body.get("messages"), list) or not call.body["messages"]:
        return error_reply(400, "anthropic", "messages: Field required")
    prompt = _anthropic_prompt(call.body)
    return json_reply(200, switches.apply_drift("anthropic", {"input_tokens": max(1, words(prompt.everything))}))


def gemini(switches: Switches, call: Routed) -> Reply:
    body, model = call.body, call.model or ""
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list) or not body["contents"]:
        return error_reply(400, "gemini", "contents is required")
    prompt = _gemini_prompt(body)
    text = answer_for(switches, model, "gemini", prompt)
    response_id = digest(model, call.path, body)[:22]
    prompt_tokens, output_tokens = max(1, words(prompt.everything)), max(1, words(text))
    details = [{"modality": "TEXT", "tokenCount": prompt_tokens}]

    def response(part: str, final: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": [{"text": part}], "role": "model"}}
        usage: dict[str, Any] = {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens, "promptTokensDetails": details}
        if final:
            candidate["finishReason"] = "STOP"
            usage = {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": output_tokens,
                "totalTokenCount": prompt_tokens + output_tokens,
                "promptTokensDetails": details,
            }
        candidate["index"] = 0
        obj = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": response_id}
        return switches.apply_drift("gemini", obj)

    if not call.stream:
        return json_reply(200, response(text, True))
    parts = pieces(text)
    assert call.form is not None
    return stream_reply(call.form, [response(piece, i == len(parts) - 1) for i, piece in enumerate(parts)])


__all__ = [
    "DISPLAY_NAMES",
    "Prompt",
    "anthropic_models",
    "answer_for",
    "chat_completions",
    "count_tokens",
    "extract_fields",
    "gemini",
    "messages",
    "openai_models",
    "pieces",
]
