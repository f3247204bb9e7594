"""Cassette age (``--anyint-max-age=30d``): replayed answers that are too old to trust.

A cassette is the gateway's answer on the day it was recorded; after a while it proves less and
less about today's gateway. The age comes from the cassette's own ``metadata.recorded_at`` (never
from file times, which a git checkout resets).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any

from ..text import parse_utc_stamp as parse_recorded_at
from ..text import utc_stamp

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


def parse_max_age(text: str) -> _dt.timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s`` (a bare number means days); ValueError otherwise."""
    match = _AGE.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise ValueError(
            f"--anyint-max-age: {text!r} is not an age; use a positive number with d, h, m, s or w, e.g. 30d"
        )
    return _dt.timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])


def _ago(delta: _dt.timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 2 * 86400:
        return f"{int(seconds // 86400)} days"
    if seconds >= 2 * 3600:
        return f"{int(seconds // 3600)} hours"
    return f"{int(seconds // 60)} minutes"


def stale_message(
    metadata: Mapping[str, Any] | None,
    *,
    cassette: str,
    max_age: str,
    nodeid: str,
    now: _dt.datetime | None = None,
) -> str | None:
    """One line when a cassette is older than ``max_age`` (or has no readable ``recorded_at``), else None."""
    limit = parse_max_age(max_age)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    raw = (metadata or {}).get("recorded_at")
    recorded = parse_recorded_at(raw)
    # With the age limit: an unchanged re-recording keeps its file unless it is older than the limit.
    rerecord = f'pytest --anyint-record=rewrite --anyint-max-age={max_age} "{nodeid}"'
    if recorded is None:
        what = "has no metadata.recorded_at" if raw is None else f"has an unreadable metadata.recorded_at {raw!r}"
        return f"{cassette} {what}, so its age is unknown (--anyint-max-age={max_age}); re-record it with: {rerecord}"
    age = now - recorded
    if age <= limit:
        return None
    stamp = utc_stamp(recorded)
    return (
        f"{cassette} was recorded {_ago(age)} ago ({stamp}), older than --anyint-max-age={max_age}; "
        f"re-record it with: {rerecord}"
    )
