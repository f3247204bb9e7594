"""Contract drift: response shapes compared between an old and a new recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def compare_on_rewrite(old_path: Path, new_cassette: Any, *, nodeid: str, model: str, mode: str) -> tuple[list[str], list[str], list[Any]]:
    """Compare the cassette being replaced with the new recording: (problems, notes, findings)."""
    return [], [], []
