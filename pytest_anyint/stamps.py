"""UTC time stamps as cassettes and reports write them, read back.

A ground module (the standard library only): cassettes, cassette age and drift all read
``metadata.recorded_at`` through it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any


def parse_recorded_at(value: Any) -> _dt.datetime | None:
    """The UTC time in ``metadata.recorded_at`` (ISO 8601, ``Z`` or an offset), or None."""
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    if not isinstance(value, str):
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)
