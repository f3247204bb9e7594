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
#: Kinds that never produce a response: the transport raises.
TRANSPORT_KINDS: tuple[str, ...] = ("timeout", "connect", "reset")
#: Kinds that answer 200 with a broken body.
BODY_KINDS: tuple[str, ...] = ("malformed-json", "truncated-stream", "stream-error", "empty-body")
#: Kinds that break a stream at a chosen point (``after_events=N``).
STREAM_KINDS: tuple[str, ...] = ("truncated-stream", "stream-error")

#: Default of the policy key ``max_attempts_per_model``: one call plus the SDKs' two default retries.
DEFAULT_MAX_ATTEMPTS = 3
