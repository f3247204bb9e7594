"""The README's demo command, run as a user runs it: it records the examples against the emulator
(real connections, so a client built once and shared across event loops is exercised) and replays
them offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_records_and_replays_green():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANYINT_", "PYTEST_XDIST", "PYTEST_CURRENT"))}
    done = subprocess.run([sys.executable, "examples/demo.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Demo passed" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
