"""What a re-recording may change without changing the recording: the volatile parts of a cassette.

A ``rewrite`` of an unchanged service gets the same answers with a new recording time, new
timings and new per-request identifiers. Comparing cassettes with those parts left out lets the
persister keep the old file byte for byte, so re-recording an unchanged service is an empty diff.
What counts as volatile is listed here (and in docs/recording.md); everything else is content.
"""

from __future__ import annotations

import json
from typing import Any

#: Metadata written at every save.
METADATA_KEYS = ("recorded_at", "plugin_version")
#: Per-interaction keys of a response holding measurements.
RESPONSE_KEYS = ("timing",)
#: Response headers that differ per request by design (ids, clocks, counters of rate limits).
HEADERS = frozenset(
    ("date", "age", "x-request-id", "request-id", "x-amzn-requestid", "cf-ray", "openai-processing-ms",
     "x-envoy-upstream-service-time", "server-timing", "x-cloud-trace-context")
)
HEADER_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")
#: Top-level fields of a JSON answer (or a streamed event's JSON) that identify the request.
BODY_KEYS = ("id", "created", "responseId", "system_fingerprint")


def stable_view(document: Any) -> Any:
    """A cassette document (as loaded from YAML) with its volatile parts left out."""
    if not isinstance(document, dict):
        return document
    view = dict(document)
    metadata = view.get("metadata")
    if isinstance(metadata, dict):
        view["metadata"] = {k: v for k, v in metadata.items() if k not in METADATA_KEYS}
    interactions = view.get("interactions")
    if isinstance(interactions, list):
        view["interactions"] = [_interaction(i) for i in interactions]
    return view


def _interaction(interaction: Any) -> Any:
    if not isinstance(interaction, dict) or not isinstance(interaction.get("response"), dict):
        return interaction
    response = {k: v for k, v in interaction["response"].items() if k not in RESPONSE_KEYS}
    headers = response.get("headers")
    if isinstance(headers, dict):
        response["headers"] = {
            name: value for name, value in headers.items()
            if not (isinstance(name, str) and _volatile_header(name.lower()))
        }
    body = response.get("body")
    if isinstance(body, dict) and len(body) == 1:
        (form, value), = body.items()
        if form == "json":
            response["body"] = {"json": _without_ids(value)}
        elif form == "sse" and isinstance(value, list):
            response["body"] = {"sse": [_event(e) for e in value]}
    return {**interaction, "response": response}


def _volatile_header(name: str) -> bool:
    return name in HEADERS or name.startswith(HEADER_PREFIXES)


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: v for k, v in value.items() if k not in BODY_KEYS}
        message = out.get("message")
        if isinstance(message, dict) and "id" in message:  # Anthropic's message_start event
            out["message"] = {k: v for k, v in message.items() if k != "id"}
        return out
    return value


def _event(raw: Any) -> Any:
    """One raw SSE event with the ids in its JSON ``data:`` lines left out."""
    if not isinstance(raw, str) or "data:" not in raw:
        return raw
    lines = []
    for line in raw.split("\n"):
        if line.startswith("data:"):
            try:
                data = json.loads(line[5:])
            except ValueError:
                lines.append(line)
                continue
            lines.append("data:" + json.dumps(_without_ids(data), sort_keys=True))
        else:
            lines.append(line)
    return "\n".join(lines)
