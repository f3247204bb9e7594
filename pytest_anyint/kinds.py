"""Fault kinds: the facts ``config`` (validating ``anyint.yaml``), ``faults`` (injecting them) and the
emulator (answering them) share. There is one list of kinds, and it is this one.

A ground module: the standard library only, so loading the config never imports the fault engine.
"""

from __future__ import annotations

#: Named fault kinds besides HTTP statuses, in the order ``faults="policy"`` lists them.
FAULT_KINDS: tuple[str, ...] = (
    "timeout",
    "connect",
    "reset",
    "malformed-json",
    "truncated-stream",
    "stream-error",
    "empty-body",
)
#: Answer faults: a 200 whose answer is bad as an answer, in the family's own shapes. A policy may
#: list them in fallback_on or never_fallback_on, or in neither; the default policy lists none.
ANSWER_KINDS: tuple[str, ...] = (
    "truncated-answer",
    "refusal",
    "content-filter",
    "invalid-output",
    "empty-answer",
    "broken-tool-call",
)
#: The families whose answers the answer faults imitate (media and music have task flows instead).
ANSWER_FAMILIES: tuple[str, ...] = ("openai", "anthropic", "gemini")


#: Kinds that never produce a response: the transport raises.
TRANSPORT_KINDS: tuple[str, ...] = ("timeout", "connect", "reset")
#: Kinds that answer 200 with a broken body.
BODY_KINDS: tuple[str, ...] = ("malformed-json", "truncated-stream", "stream-error", "empty-body")
#: Kinds that break a stream at a chosen point (``after_events=N``).
STREAM_KINDS: tuple[str, ...] = ("truncated-stream", "stream-error")
#: Answer faults of the media and music task flows: a poll answers 200 with a failed task. Not in
#: FAULT_KINDS: the default policy lists none of them, so existing configs keep their meaning.
TASK_KINDS: tuple[str, ...] = ("task-failed",)
#: Every kind the policy lists and ``faults=`` accept (``inject()`` also takes the task kinds).
ALL_KINDS: tuple[str, ...] = FAULT_KINDS + ANSWER_KINDS


def listed() -> str:
    """The accepted kinds as a message lists them: the transport and body kinds, then the answer faults."""
    return f"{', '.join(FAULT_KINDS)}; answer faults: {', '.join(ANSWER_KINDS)}"

#: Default of the policy key ``max_attempts_per_model``: one call plus the SDKs' two default retries.
DEFAULT_MAX_ATTEMPTS = 3
