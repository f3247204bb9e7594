"""Each tool's cold replay in machine instructions: a measure that noise cannot move.

A profiling and review aid, not a target (``run_all.py`` does not run it; the targets are on wall
time). On a shared or virtual machine, wall and CPU times of the same cold process vary by a
quarter from run to run, more than most single changes are worth; the number of instructions a
process executes varies by about a tenth of a percent. This records the replay benchmark's suites
(``bench_replay.py``: route tests, one 1.5 KB chat completion each; every tool records its own)
at two sizes, then runs each cold setup of ``bench_replay.py`` (a fresh copy, ``-p
no:cacheprovider``: the floor, this plugin, pytest-recording, cassetter and cassetter's own floor)
once per size under valgrind's callgrind (``apt-get install valgrind``; about 30 times slower than
a plain run) with ``PYTHONHASHSEED=0``, and prints each tool's excess over its floor: per test (the
difference between the sizes, so the one-offs cancel) and once per process. Instructions are not
time (a cache miss costs more than an add), but a tool that executes fewer is faster everywhere.

``--against REV`` also measures the plugin as of another git revision, for a side-by-side review of
a change; ``--skip-cassetter`` leaves cassetter out. Usage:
``python benchmarks/instructions.py [--sizes 30,300] [--against HEAD~1] [--skip-cassetter]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_replay  # noqa: E402
from _harness import (  # noqa: E402
    BenchError,
    Setup,
    base_env,
    cassetter_python,
    export_package,
    fresh_copy,
    machine,
    run_benchmark,
    table,
    vcrpy_python,
    workdir,
)


def instructions(setup: Setup) -> int:
    """Instructions (callgrind's ``Ir``) of one cold run of the setup's suite; BenchError unless it passed.

    A plain run goes first: it compiles what a measured run should find compiled (an exported
    revision's modules, the rewritten ``-p`` plugin), as an installed package is; the suite's own
    test modules are compiled in every run, as on a fresh clone."""
    pytest_cmd = [setup.python, "-m", "pytest", "-q", "--no-header", *setup.args]
    warm = fresh_copy(setup.suite)
    try:
        subprocess.run(pytest_cmd, cwd=warm, env=base_env(setup.env), capture_output=True)
    finally:
        shutil.rmtree(warm.parent, ignore_errors=True)
    cwd = fresh_copy(setup.suite)
    out = cwd.parent / "callgrind.out"
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *pytest_cmd]
    try:
        proc = subprocess.run(cmd, cwd=cwd, env={**base_env(setup.env), "PYTHONHASHSEED": "0"}, capture_output=True, text=True)
        summary = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M) if out.exists() else None
    finally:
        shutil.rmtree(cwd.parent, ignore_errors=True)
    if proc.returncode != 0 or summary is None:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BenchError(f"{setup.name}: the run under callgrind failed ({proc.returncode}):\n{tail}")
    return int(summary.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,300", help="two suite sizes, in tests (default 30,300)")
    parser.add_argument("--against", metavar="REV", help="also measure the plugin as of this git revision")
    parser.add_argument("--skip-cassetter", action="store_true", help="leave cassetter out (no venv)")
    args = parser.parse_args(argv)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    if shutil.which("valgrind") is None:
        raise BenchError("valgrind is not installed (Debian: apt-get install valgrind)")
    models = len(bench_replay.MODELS)
    sizes = sorted({int(part) // models * models for part in args.sizes.split(",") if part.strip()})
    if len(sizes) != 2 or sizes[0] < models:
        raise BenchError(f"--sizes needs two different sizes of at least {models} tests")

    from pytest_anyint.emulator import Emulator

    base = workdir("instructions")
    vcrpy = vcrpy_python(say)
    cassetter = None if args.skip_cassetter else cassetter_python(say)
    baseline = export_package(args.against, base / "baseline") if args.against else None
    options = argparse.Namespace(baseline=args.against, bare=False)
    emulator = Emulator(api_key="bench-emulator-key").start()
    gateway = {"BENCH_GATEWAY_URL": emulator.url, "BENCH_API_KEY": emulator.api_key, "ANYINT_BASE_URL": emulator.url}
    by_size: dict[int, dict[str, Setup]] = {}
    try:
        import httpx

        sample = httpx.post(f"{emulator.url}/openai/v1/chat/completions",
                            json=bench_replay._payload(0, bench_replay.MODELS[0]),
                            headers={"Authorization": f"Bearer {emulator.api_key}"})
        for size in sizes:
            say(f"{size} tests: recording with each tool against the emulator ...")
            setups = bench_replay.recorded_setups(size, base, options, vcrpy, cassetter, gateway, baseline,
                                                  emulator.api_key, sample.content)
            by_size[size] = {setup.name: setup for setup in setups if setup.fresh}  # warm ones: the wall benchmark's
    finally:
        emulator.stop()

    small, large = sizes
    names = list(by_size[small])
    say(f"running {2 * len(names)} cold processes under callgrind (a minute or more each) ...")
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # counts ignore contention
        jobs = {(name, size): pool.submit(instructions, by_size[size][name]) for size in sizes for name in names}
        counts = {key: job.result() for key, job in jobs.items()}

    def per_test(name: str) -> float:
        return (counts[name, large] - counts[name, small]) / (large - small)

    rows = []
    for name in names:
        floor = bench_replay._floor_of(name)
        row = [name, f"{counts[name, small] / 1e6:,.0f}", f"{counts[name, large] / 1e6:,.0f}",
               f"{per_test(name) / 1e6:.2f}"]
        if name != floor:
            excess = per_test(name) - per_test(floor)
            once = counts[name, small] - counts[floor, small] - excess * small
            row += [f"{excess / 1e6:+.3f}", f"{once / 1e6:+,.0f}"]
        else:
            row += ["", ""]
        rows.append(row)
    print(f"\ncold replay in instructions (millions; callgrind, one run of each, PYTHONHASHSEED=0): "
          f"{small} and {large} tests")
    print(machine())
    print(table(["setup", f"{small} tests", f"{large} tests", "per test", "per test over its floor",
                 "once over its floor"], rows))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    run_benchmark(main)
