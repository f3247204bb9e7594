"""Run every benchmark in turn, unattended, and print a summary: a verdict and the key figures of each.

Usage: ``python benchmarks/run_all.py [--quick] [--timeout MIN] [NAME ...]`` (``--quick``: one
round each, for a smoke run; figures not to quote). Each benchmark's full table is printed as it
finishes; the summary then quotes the replay ratios, cold and warm, against cassetter and
pytest-recording at each suite size, and the xdist ratio, repeats every target's ``PASS``/``FAIL``
line, and ends on one ``RESULT:`` line. A benchmark that fails to run or outlives ``--timeout``
(default 60 minutes) is reported and the next one runs. The machine's load average is printed at
the start and the end: figures taken above a load of 1 on a 2-core machine are noise, and the
summary says so. The exit status is 1 when any target is missed, 2 when a benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
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


#: A load average above this on the machine makes wall-time figures noise (2 cores, see docs/performance.md).
QUIET_LOAD = 1.0


def run(script: str, args: list[str], timeout_s: float) -> tuple[int, dict[str, Any], list[str]]:
    """Run one benchmark, its output passed through; its exit status, its JSON summary line and its
    ``PASS``/``FAIL`` lines. A benchmark still running after ``timeout_s`` is stopped (status 2)."""
    proc = subprocess.Popen([sys.executable, str(HERE / script), *args], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    summary: dict[str, Any] = {}
    verdicts: list[str] = []
    stopped: list[bool] = []
    timer = threading.Timer(timeout_s, _stop, (proc, stopped))
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if line.startswith("{"):
                try:
                    summary = json.loads(line)
                except ValueError:
                    pass
            elif line.lstrip().startswith(("PASS  ", "FAIL  ")):
                verdicts.append(line.strip())
        code = proc.wait()
    finally:
        timer.cancel()
    if stopped:
        print(f"benchmark stopped after {timeout_s:.0f} s (run_all.py --timeout)", flush=True)
        return 2, summary, verdicts
    return code, summary, verdicts


def _stop(proc: subprocess.Popen[str], stopped: list[bool]) -> None:
    """End a benchmark that outlived its time, and the pytest processes it started (its session)."""
    stopped.append(True)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def load() -> float:
    return os.getloadavg()[0]


def _ratio(theirs: float, mine: float) -> str:
    return f"{theirs / mine:.2f}x" if mine > 0 else "-"


def figures(name: str, data: dict[str, Any]) -> list[str]:
    """The lines the summary quotes for one benchmark (empty when it printed no summary)."""
    if not data:
        return []
    if name == "replay":
        lines = ["whole process over the floor, ms per test (a peer's excess / the plugin's cold and warm ones:"
                 " above 1x, the plugin leads):"]
        for size, figs in data["sizes"].items():
            over = figs["over_floor_ms_per_test"]
            cold, warm = over["pytest-anyint, cold"], over["pytest-anyint, warm"]
            others = ", ".join(f"{tool} {over[tool]:+.2f} ({_ratio(over[tool], cold)} cold, {_ratio(over[tool], warm)} warm)"
                               for tool in ("cassetter", "pytest-recording") if tool in over)
            first = over.get("pytest-anyint, first run")
            first_text = f", first run {first:+.2f}" if first is not None else ""
            lines.append(f"  {size:>5} tests: cold {cold:+.2f}, warm {warm:+.2f}{first_text}; {others}")
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
    parser.add_argument("--timeout", type=float, default=60.0, metavar="MIN",
                        help="stop a benchmark that runs longer than this many minutes (default 60)")
    parser.add_argument("only", nargs="*", help="names of the benchmarks to run (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.only) - {name for name, *_ in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; the names are "
                     f"{', '.join(name for name, *_ in BENCHMARKS)}")
    results = []
    worst = 0
    started_all = time.perf_counter()
    load_before = load()
    print(f"run_all: started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average {load_before:.1f} "
          f"on {os.cpu_count()} CPUs", flush=True)
    for name, script, full, quick in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        print(f"\n=== {name} " + "=" * (70 - len(name)), flush=True)
        started = time.perf_counter()
        code, data, lines = run(script, quick if args.quick else full, args.timeout * 60)
        took = time.perf_counter() - started
        verdict = {0: "all targets met", 1: "a target missed"}.get(code, f"could not run ({code})")
        results.append((name, verdict, took, figures(name, data), lines, code))
        worst = max(worst, code if code in (0, 1) else 2)
    load_after = load()
    print("\n=== summary " + "=" * 63)
    print(f"python benchmarks/run_all.py{' --quick' if args.quick else ''}{''.join(' ' + n for n in args.only)}"
          f" ({time.perf_counter() - started_all:.0f} s; load average {load_before:.1f} at the start, "
          f"{load_after:.1f} at the end)")
    if args.quick or max(load_before, load_after) > QUIET_LOAD:
        why = "--quick (one round each)" if args.quick else f"the machine was busy (load above {QUIET_LOAD:g})"
        print(f"NOTE: {why}: these figures show that the benchmarks run, not where the plugin stands")
    for name, verdict, took, figs, _, _ in results:
        print(f"  {name:8s} {verdict:18s} ({took:.0f} s)")
        for line in figs:
            print(f"           {line}")
    print("\ntargets:")
    passed = failed = 0
    for name, _, _, _, lines, code in results:
        for line in lines:
            print(f"  {name:8s} {line}")
            passed += line.startswith("PASS")
            failed += line.startswith("FAIL")
        if code not in (0, 1):
            print(f"  {name:8s} FAIL  the benchmark could not run (exit {code}); see its output above")
            failed += 1
    outcome = "PASS" if worst == 0 else "FAIL"
    print(f"\nRESULT: {outcome}: {passed} target(s) met, {failed} missed or not run")
    return worst


if __name__ == "__main__":
    sys.exit(main())
