"""Lazy imports: what an installed but unused pytest-anyint costs a plain suite (< 50 ms).

A plain suite (no route marker, no ``--anyint-*`` option) of 300 tests is collected and run with
the plugin and without it, side by side (interleaved rounds, best of each), cold as on CI's fresh
clone: a fresh copy of the suite per run (no ``__pycache__`` of the tests), pytest's cache off:

- ``pytest --co -q``: collection only, the cost of the plugin being installed;
- ``pytest -q``: a full run, which also pays the plugin's hooks per test (its case fixture is taken
  off tests without a route marker at collection).

Also shows what importing the plugin module costs and which modules it brings in (pytest imports
``-p`` plugins with importlib, which ``python -X importtime`` does not see, so this is measured
directly): nothing but the plugin itself. Usage: ``python benchmarks/bench_startup.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    COLD_ARGS,
    TIMING_CONFTEST,
    BenchError,
    base_env,
    conclude,
    fresh_copy,
    machine,
    run_benchmark,
    table,
    workdir,
)

TARGET_MS = 50.0
TESTS = 300

SUITE = '''
import json

import pytest


@pytest.mark.parametrize("n", range({per}))
def test_plain_{m}(n):
    assert json.loads(json.dumps({{"n": n}}))["n"] == n
'''


IMPORT_PROBE = """
import json, sys, time
import pytest
before = set(sys.modules)
started = time.perf_counter()
import pytest_anyint.plugin
print(json.dumps([(time.perf_counter() - started) * 1000, sorted(set(sys.modules) - before)]))
"""


def run(cmd: list[str], suite: Path, env: dict[str, str]) -> tuple[float, str]:
    """One cold run: in a fresh copy of ``suite``, removed afterwards."""
    cwd = fresh_copy(suite)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    shutil.rmtree(cwd.parent, ignore_errors=True)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-2000:]}")
    return wall, proc.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    base = workdir("startup") / "suite"
    base.mkdir()
    (base / "pytest.ini").write_text("[pytest]\n")
    (base / "conftest.py").write_text(TIMING_CONFTEST)
    for module in range(3):
        (base / f"test_plain_{module}.py").write_text(SUITE.format(per=TESTS // 3, m=module))
    env = base_env()
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", *COLD_ARGS]
    setups = {
        "collect, without plugin": [*pytest_cmd, "--co"],
        "collect, with pytest-anyint": [*pytest_cmd, "--co", "-p", "pytest_anyint.plugin"],
        "run, without plugin": pytest_cmd,
        "run, with pytest-anyint": [*pytest_cmd, "-p", "pytest_anyint.plugin"],
    }
    results: dict[str, list[float]] = {name: [] for name in setups}
    durations: dict[str, list[float]] = {name: [] for name in setups}
    timing = base.parent / "timing.json"
    for cmd in setups.values():
        run(cmd, base, env)
    for _ in range(args.rounds):
        for name, cmd in setups.items():
            results[name].append(run(cmd, base, {**env, "BENCH_TIMING": str(timing)})[0])
            if not name.startswith("collect"):
                data = json.loads(timing.read_text())
                durations[name].append(statistics.median(list(data["durations"].values())[1:]))
    best = {name: min(times) * 1000 for name, times in results.items()}
    per_test_us = {name: min(values) * 1e6 for name, values in durations.items() if values}
    probe = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], cwd=base, env=env, capture_output=True, text=True, check=True
    )
    import_ms, extra = json.loads(probe.stdout)
    rows = []
    for name in setups:
        other = name.replace("with pytest-anyint", "without plugin")
        rows.append([name, f"{best[name]:.0f}", "" if other == name else f"{best[name] - best[other]:+.0f}"])
    print(f"\nstartup: a plain suite of {TESTS} tests (no route marker), cold (a fresh copy per run, "
          f"-p no:cacheprovider); {args.rounds} interleaved rounds, best of each")
    print(machine() + "\n")
    print(table(["setup", "wall ms", "plugin adds ms"], rows))
    print(f"\nimporting pytest_anyint.plugin (after pytest): {import_ms:.1f} ms; modules it adds: {', '.join(extra)}")
    added = best["collect, with pytest-anyint"] - best["collect, without plugin"]
    run_added = (best["run, with pytest-anyint"] - best["run, without plugin"]) / TESTS * 1000
    checks_per_test = per_test_us["run, with pytest-anyint"] - per_test_us["run, without plugin"]
    checks = [(f"an unused plugin adds < {TARGET_MS:g} ms to pytest --co ({added:+.0f} ms)", added < TARGET_MS)]
    print(f"\na full run: the plugin's hooks add {checks_per_test:+.1f} us to a test's own time "
          f"(median test; {run_added:+.0f} us per test in wall time, noise included)\n")
    return conclude(checks, {"benchmark": "startup", "wall_ms": best, "plugin_import_ms": import_ms, "imports": extra,
                      "per_test_us": per_test_us})


if __name__ == "__main__":
    run_benchmark(main)
