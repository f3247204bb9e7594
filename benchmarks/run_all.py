"""Run every benchmark of §13 in turn and print a summary: a verdict and the key figures of each.

Usage: ``python benchmarks/run_all.py [--quick] [NAME ...]`` (``--quick``: one round each, for a
smoke run; figures not to quote). Each benchmark's full table is printed as it finishes; the
summary then quotes the replay ratios, cold and warm, against cassetter and pytest-recording at
each suite size, and the xdist ratio. The exit status is 1 when any target is missed, 2 when a
benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

BENCHMARKS = [
    ("replay", "bench_replay.py", ["--rounds", "5"], ["--rounds", "1"]),
    ("streams", "bench_streams.py", ["--rounds", "5"], ["--rounds", "2"]),
    ("check", "bench_check.py", ["--rounds", "3"], ["--rounds", "1"]),
    ("xdist", "bench_xdist.py", ["--rounds", "3"], ["--rounds", "1"]),
    ("drift", "bench_drift.py", ["--rounds", "3"], ["--rounds", "1"]),
    ("startup", "bench_startup.py", ["--rounds", "10"], ["--rounds", "3"]),
]


def run(script: str, args: list[str]) -> tuple[int, dict[str, Any]]:
    """Run one benchmark, its output passed through; its exit status and its JSON summary line."""
    proc = subprocess.Popen([sys.executable, str(HERE / script), *args], stdout=subprocess.PIPE, text=True)
    summary: dict[str, Any] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.startswith("{"):
            try:
                summary = json.loads(line)
            except ValueError:
                pass
    return proc.wait(), summary


def figures(name: str, data: dict[str, Any]) -> list[str]:
    """The lines the summary quotes for one benchmark (empty when it printed no summary)."""
    if not data:
        return []
    if name == "replay":
        lines = ["whole process over the floor, ms per test (competitor's overhead / the plugin's cold one):"]
        for size, figs in data["sizes"].items():
            over = figs["over_floor_ms_per_test"]
            cold, warm = over["pytest-anyint, cold"], over["pytest-anyint, warm"]
            others = ", ".join(f"{tool} {over[tool]:+.2f} ({over[tool] / cold:.2f}x)" if cold > 0 else
                               f"{tool} {over[tool]:+.2f}" for tool in ("cassetter", "pytest-recording") if tool in over)
            lines.append(f"  {size:>5} tests: cold {cold:+.2f}, warm {warm:+.2f}; {others}")
        cpu = {size: figs.get("cpu_over_floor_ms_per_test") for size, figs in data["sizes"].items()}
        if all(cpu.values()):
            lines.append("the same in CPU time: " + "; ".join(
                f"{size} tests: cold {c['pytest-anyint, cold']:+.2f}, warm {c['pytest-anyint, warm']:+.2f}"
                + "".join(f", {tool} {c[tool]:+.2f}" for tool in ("cassetter", "pytest-recording") if tool in c)
                for size, c in cpu.items()))
        return lines
    if name == "xdist":
        return [f"-n 2 speed-up ({data.get('mode', '')}), plugin / floor: " + ", ".join(
            f"{work} {data['speedup'][f'pytest-anyint, {work}']:.2f}x / {data['speedup'][f'floor, {work}']:.2f}x = "
            f"{ratio:.2f}" for work, ratio in data.get("ratio", {}).items())]
    if name == "streams":
        return ["ms per stream: " + ", ".join(f"{k} {v:.1f}" for k, v in data["ms_per_test"].items())]
    if name in ("check", "drift"):
        return ["wall s: " + ", ".join(f"{k} {v:.2f}" for k, v in data["wall_s"].items()) + "; peak MB: " +
                ", ".join(f"{k} {v:.0f}" for k, v in data["peak_mb"].items())]
    if name == "startup":
        return ["wall ms: " + ", ".join(f"{k} {v:.0f}" for k, v in data["wall_ms"].items())]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round each (a smoke run, not figures to quote)")
    parser.add_argument("only", nargs="*", help="names of the benchmarks to run (default: all)")
    args = parser.parse_args(argv)
    verdicts = []
    worst = 0
    started_all = time.perf_counter()
    for name, script, full, quick in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        print(f"\n=== {name} " + "=" * (70 - len(name)), flush=True)
        started = time.perf_counter()
        code, data = run(script, quick if args.quick else full)
        took = time.perf_counter() - started
        verdict = {0: "all targets met", 1: "a target missed"}.get(code, f"could not run ({code})")
        verdicts.append((name, verdict, took, figures(name, data)))
        worst = max(worst, code if code in (0, 1) else 2)
    print("\n=== summary " + "=" * 63)
    print(f"python benchmarks/run_all.py{' --quick' if args.quick else ''}{''.join(' ' + n for n in args.only)}"
          f" ({time.perf_counter() - started_all:.0f} s)")
    for name, verdict, took, lines in verdicts:
        print(f"  {name:8s} {verdict:18s} ({took:.0f} s)")
        for line in lines:
            print(f"           {line}")
    return worst


if __name__ == "__main__":
    sys.exit(main())
