"""How the report shows money, durations and changes: one place, for the builder and every renderer.

Plain functions of the standard library, so the renderers (``text``, ``html``) never import the
builder and the builder imports them without a circle.
"""

from __future__ import annotations

import math


def money(value: float | None) -> str:
    """USD with enough decimals to show per-call costs of fractions of a cent."""
    if value is None:
        return "n/a"
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    decimals = max(2, -math.floor(math.log10(abs(value))) + 2)  # three significant digits
    text = f"{value:.{decimals}f}".rstrip("0")
    return "$" + (text + "0" * (2 - len(text.split(".")[1])) if len(text.split(".")[1]) < 2 else text)


def seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def percent_text(change: float | str | None) -> str:
    """A relative change as ``+25%`` or ``-3%``; ``new`` where the old value was 0; ``n/a`` when unknown."""
    if change is None:
        return "n/a"
    if change == "new" or (isinstance(change, float) and math.isinf(change)):
        return "new"
    return f"{float(change):+.0%}"


def share_text(fraction: float) -> str:
    """A tolerance such as 0.2 as ``20%`` (one decimal when it has one: ``12.5%``)."""
    return f"{fraction:.0%}" if round(fraction * 100) == fraction * 100 else f"{fraction:.1%}"
