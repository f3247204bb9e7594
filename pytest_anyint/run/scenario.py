"""A fault case's scenario (the ``anyint_scenario`` fixture), in a module of its own.

A frozen dataclass builds six methods by ``exec`` at import on Python 3.11; the session loads
this module when it opens its first fault case, so a plain replay never pays for it.
``run.cases.Scenario`` still names it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    """A fault case: what the primary fails with, and whether the policy expects a fallback."""

    fault: int | str
    #: None for an answer fault in neither policy list: the app may fall back or not.
    expect_fallback: bool | None
