"""Run every benchmark of §13 in turn and print a one-line verdict for each.

Usage: ``python benchmarks/run_all.py [--quick]`` (``--quick``: fewer rounds, for a smoke run).
Each benchmark's full table is printed as it finishes; the exit status is 1 when any target is
missed, 2 when a benchmark could not run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHMARKS = [
    ("replay", "bench_replay.py", ["--rounds", "7"], ["--rounds", "2"]),
    ("streams", "bench_streams.py", ["--rounds", "5"], ["--rounds", "2"]),
    ("check", "bench_check.py", ["--rounds", "3"], ["--rounds", "1"]),
    ("xdist", "bench_xdist.py", ["--rounds", "3"], ["--rounds", "1"]),
    ("drift", "bench_drift.py", ["--rounds", "3"], ["--rounds", "1"]),
    ("startup", "bench_startup.py", ["--rounds", "10"], ["--rounds", "3"]),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run, not figures to quote)")
    parser.add_argument("only", nargs="*", help="names of the benchmarks to run (default: all)")
    args = parser.parse_args(argv)
    verdicts = []
    worst = 0
    for name, script, full, quick in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        print(f"\n=== {name} " + "=" * (70 - len(name)), flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / script), *(quick if args.quick else full)])
        took = time.perf_counter() - started
        verdicts.append((name, {0: "all targets met", 1: "a target missed"}.get(code, f"could not run ({code})"), took))
        worst = max(worst, code if code in (0, 1) else 2)
    print("\n=== summary " + "=" * 63)
    for name, verdict, took in verdicts:
        print(f"  {name:8s} {verdict:18s} ({took:.0f} s)")
    return worst


if __name__ == "__main__":
    sys.exit(main())
