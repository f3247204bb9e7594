"""What the plugin adds to a cold replay, in machine instructions: a measure that noise cannot move.

A profiling and review aid, not a target (``run_all.py`` does not run it; the targets are on wall
time). On a shared or virtual machine, wall and CPU times of the same cold process vary by a
quarter from run to run, more than most single changes are worth; the number of instructions a
process executes varies by well under a percent. This records the replay benchmark's suite
(``bench_replay.py``: route tests, one 1.5 KB chat completion each) once against the emulator,
then runs the floor's and the plugin's suites cold (a fresh copy, ``-p no:cacheprovider``) once
each at two sizes under valgrind's callgrind (``apt-get install valgrind``; about 30 times slower
than a plain run) with ``PYTHONHASHSEED=0``, and prints the plugin's excess over the floor: per
test (the difference between the sizes, so the one-offs cancel) and once per process.

``--against REV`` also measures the plugin as of another git revision (exported to a temporary
folder that goes first on ``PYTHONPATH``), for a side-by-side review of a change. Usage:
``python benchmarks/instructions.py [--sizes 30,300] [--against HEAD~1]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_replay  # noqa: E402
from _harness import (  # noqa: E402
    COLD_ARGS,
    BenchError,
    Setup,
    base_env,
    clean_suite,
    fresh_copy,
    machine,
    run_benchmark,
    run_pytest,
    table,
    vcrpy_python,
    workdir,
)

ROOT = Path(__file__).resolve().parent.parent


def instructions(suite: Path, python: str, args: list[str], env: dict[str, str]) -> int:
    """Instructions (callgrind's ``Ir``) of one cold run of ``suite``; BenchError unless it passed.

    A plain run goes first: it compiles what a measured run should find compiled (an exported
    revision's modules, the rewritten ``-p`` plugin), as an installed package is; the suite's own
    test modules are compiled in every run, as on a fresh clone."""
    pytest_cmd = [python, "-m", "pytest", "-q", "--no-header", *COLD_ARGS, *args]
    warm = fresh_copy(suite)
    try:
        subprocess.run(pytest_cmd, cwd=warm, env=base_env(env), capture_output=True)
    finally:
        shutil.rmtree(warm.parent, ignore_errors=True)
    cwd = fresh_copy(suite)
    out = cwd.parent / "callgrind.out"
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *pytest_cmd]
    try:
        proc = subprocess.run(cmd, cwd=cwd, env={**base_env(env), "PYTHONHASHSEED": "0"}, capture_output=True, text=True)
        summary = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M) if out.exists() else None
    finally:
        shutil.rmtree(cwd.parent, ignore_errors=True)
    if proc.returncode != 0 or summary is None:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BenchError(f"{suite.name}: the run under callgrind failed ({proc.returncode}):\n{tail}")
    return int(summary.group(1))


def export(revision: str, target: Path) -> Path:
    """The plugin's package as of ``revision``, in ``target`` (to go first on PYTHONPATH)."""
    proc = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "pytest_anyint"], capture_output=True)
    if proc.returncode != 0:
        raise BenchError(f"git archive {revision}: {proc.stderr.decode(errors='replace').strip()}")
    target.mkdir(parents=True, exist_ok=True)
    import io

    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        archive.extractall(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,300", help="two suite sizes, in tests (default 30,300)")
    parser.add_argument("--against", metavar="REV", help="also measure the plugin as of this git revision")
    args = parser.parse_args(argv)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    if shutil.which("valgrind") is None:
        raise BenchError("valgrind is not installed (Debian: apt-get install valgrind)")
    small, large = sorted(int(s) // len(bench_replay.MODELS) for s in args.sizes.split(","))[:2]
    if small == large:
        raise BenchError("--sizes needs two different sizes")

    from pytest_anyint.emulator import Emulator

    python = vcrpy_python(say)
    base = workdir("instructions")
    suites: dict[tuple[str, int], Path] = {}
    emulator = Emulator(api_key="bench-emulator-key").start()
    gateway = {"BENCH_GATEWAY_URL": emulator.url, "BENCH_API_KEY": emulator.api_key, "ANYINT_BASE_URL": emulator.url}
    try:
        import httpx

        sample = httpx.post(f"{emulator.url}/openai/v1/chat/completions",
                            json=bench_replay._payload(0, bench_replay.MODELS[0]),
                            headers={"Authorization": f"Bearer {emulator.api_key}"})
        for functions in (small, large):
            tests = functions * len(bench_replay.MODELS)
            floor = suites["floor", tests] = bench_replay.write_suite(base / f"floor-{tests}", "floor", functions)
            (floor / "floor_body.json").write_bytes(sample.content)
            anyint = suites["anyint", tests] = bench_replay.write_suite(base / f"anyint-{tests}", "anyint", functions)
            say(f"recording {tests} cassettes against the emulator ...")
            run_pytest(Setup("record", anyint, python, ["-p", "pytest_anyint.plugin", *COLD_ARGS],
                             {**gateway, "ANYINT_API_KEY": emulator.api_key}, tests),
                       "--anyint-record=once", "--no-anyint-check-models")
            clean_suite(anyint)
    finally:
        emulator.stop()

    plugins = {"pytest-anyint (this checkout)": {}}
    if args.against:
        old = export(args.against, base / "against")
        plugins[f"pytest-anyint at {args.against}"] = {"PYTHONPATH": str(old)}
    jobs = {}
    sizes = (small * len(bench_replay.MODELS), large * len(bench_replay.MODELS))
    say(f"running {len(sizes) * (1 + len(plugins))} cold processes under callgrind (a minute or more each) ...")
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # counts ignore contention
        for tests in sizes:
            jobs["floor", tests] = pool.submit(instructions, suites["floor", tests], python, [], gateway)
            for name, env in plugins.items():
                jobs[name, tests] = pool.submit(
                    instructions, suites["anyint", tests], python, ["-p", "pytest_anyint.plugin"], {**gateway, **env}
                )
        counts = {key: job.result() for key, job in jobs.items()}

    a, b = sizes
    floor_per_test = (counts["floor", b] - counts["floor", a]) / (b - a)
    rows = [["floor", f"{counts['floor', a] / 1e6:,.0f}", f"{counts['floor', b] / 1e6:,.0f}",
             f"{floor_per_test / 1e6:.2f}", "", ""]]
    for name in plugins:
        per_test = (counts[name, b] - counts[name, a]) / (b - a)
        once = counts[name, a] - counts["floor", a] - (per_test - floor_per_test) * a
        rows.append([name, f"{counts[name, a] / 1e6:,.0f}", f"{counts[name, b] / 1e6:,.0f}", f"{per_test / 1e6:.2f}",
                     f"+{(per_test - floor_per_test) / 1e6:.3f}", f"+{once / 1e6:,.0f}"])
    print(f"\ncold replay in instructions (millions; callgrind, one run each, PYTHONHASHSEED=0): {a} and {b} tests")
    print(machine())
    print(table(["setup", f"{a} tests", f"{b} tests", "per test", "per test over floor", "once over floor"], rows))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    run_benchmark(main)
