"""The project's own test files pass when run alone, not only inside the whole suite.

A file that imports few of the plugin's modules itself once failed alone (``'PlaybackCassette'
object has no attribute 'play_response'``): pytester's in-process runs forgot modules between a
record and a replay run, and the second run mixed a fresh copy of the cassettes package with a
forgotten copy of the interceptor. The whole suite hid it, since other files had imported them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_file_that_records_then_replays_passes_alone():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "ANYINT_"))}
    target = "tests/test_verdicts.py"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", target],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
