"""How the report shows money and durations: one place, for the builder and every renderer.

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
