"""Where a cold replay process spends what the floor does not: a sampling profile of whole processes.

A profiling aid, not a target (``run_all.py`` does not run it). It records the replay benchmark's
suite (``--tests`` route tests, one 1.5 KB chat completion each) once against the emulator, then
runs the plugin's suite and the floor's cold (a fresh copy, ``-p no:cacheprovider``: no parse
cache) under py-spy (``pip install py-spy``, in the ``bench`` extra), ``--runs`` times each, in
turns, in the replay benchmark's environment (``benchmarks/.venv-vcrpy``), and prints:

- each pytest stage (configure, collection, each test's setup, call, teardown and reports, the
  session's end) for the floor and the plugin, and the plugin's excess, as shares of its process;
- the plugin's own code by the hook or fixture it runs in and the innermost plugin function
  (``_anyint_case > load_yaml``), and the imports a cold process pays (``import: vcr``);
- an estimate in CPU ms of each, scaling the shares by the median CPU time (user + system) of
  unprofiled cold runs of the same suites (sampling slows a process; the proportions are what it
  measures, and CPU time moves less than wall time when the machine is busy).

Sampling, unlike cProfile, costs the same per sample whatever the code does, so many small calls
are not over-counted. py-spy samples wall time, though: on a busy machine a process waiting for a
core is sampled where it waits, which blurs the shares; run it on a quiet machine, or with more
``--runs``. Usage:
``python benchmarks/profile_cold.py [--tests N] [--runs N] [--rate HZ] [--top N] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
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

#: (a frame that marks the stage, the stage's name), the first that a sample's stack holds wins.
STAGES = (
    ("pytest_collection ", "collection (parametrize, collect hooks, imports done there)"),
    ("pytest_runtest_setup ", "test setup (fixtures: the case fixture opens the cassette)"),
    ("pytest_runtest_call ", "test call (the exchange through the transport)"),
    ("pytest_runtest_teardown ", "test teardown (the case closes)"),
    ("pytest_runtest_makereport ", "test reports (makereport)"),
    ("pytest_runtest_logreport ", "test reports (logreport)"),
    ("pytest_runtest_log", "test reports (logstart/logfinish)"),
    ("pytest_runtest_protocol ", "between the test phases (runner, capture, logging)"),
    ("pytest_sessionfinish", "session finish"),
    ("pytest_terminal_summary", "terminal summary"),
    ("gc_collect_harder", "pytest's final garbage collections (unraisable-exception cleanup)"),
    ("pytest_unconfigure", "unconfigure"),
    ("pytest_sessionstart", "session start"),
    ("pytest_configure", "configure"),
    ("pytest_cmdline_parse", "start-up: pytest's plugins and options (the -p plugin's import)"),
    ("pytest/__main__.py", "pytest's main, outside the hooks above"),
)
START = "start-up: interpreter, site, import pytest"
TRACKED_IMPORTS = ("vcr", "wrapt", "yaml", "asyncio", "unittest", "jsonschema", "referencing", "difflib", "email")


def stage_of(stack: str) -> str:
    for mark, name in STAGES:
        if mark in stack:
            return name
    return START


def _short(frame: str) -> str:
    """``func (pytest_anyint/run/session.py:12)`` -> ``func (run/session.py)``."""
    return re.sub(r" \((?:.*/)?pytest_anyint/(.*?):\d+\)", r" (\1)", frame)


def owner_of(stack: str) -> str | None:
    """What a sample is spent on, when it is the plugin's doing: the imports it triggers
    (``import: vcr``, ``import: pytest_anyint.config``), else its outermost frame (the hook or
    fixture) and innermost frame of its own code."""
    frames = stack.split(";")
    own = [frame for frame in frames if "pytest_anyint/" in frame]
    if not own:
        return None  # pytest's, the interpreter's or the suite's own doing
    for frame in frames:
        match = re.match(r"<module> \((.*?):\d+\)", frame)
        if not match:
            continue
        path = match.group(1)
        if "pytest_anyint/" in path:
            return "import: pytest_anyint." + path.split("pytest_anyint/", 1)[1][:-3].replace("/", ".")
        top = path.split("site-packages/")[-1].split("/")[0].removesuffix(".py")
        if top in TRACKED_IMPORTS:
            return f"import: {top}"
    outer, inner = _short(own[0]), _short(own[-1])
    return outer if outer == inner else f"{outer} > {inner}"


def read_samples(path: Path) -> collections.Counter[str]:
    """py-spy's raw (collapsed) output: one ``frame;frame;... count`` line per distinct stack."""
    samples: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples[stack] += int(count)
    return samples


def profile(setup: Setup, py_spy: str, rate: int, out: Path) -> collections.Counter[str]:
    """One cold run of the setup under py-spy; its samples."""
    cwd = fresh_copy(setup.suite)
    env = base_env(setup.env)
    cmd = [py_spy, "record", "-r", str(rate), "-f", "raw", "-o", str(out), "--", setup.python, "-m", "pytest", "-q",
           "--no-header", *setup.args]
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    finally:
        shutil.rmtree(cwd.parent, ignore_errors=True)
    if proc.returncode != 0 or not out.exists():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BenchError(f"{setup.name}: py-spy or pytest failed ({proc.returncode}):\n{tail}")
    return read_samples(out)


def shares(runs: list[collections.Counter[str]], key: object) -> dict[str, float]:
    """Mean over the runs of each key's share of the run's samples (``key``: stack -> name or None)."""
    total: collections.Counter[str] = collections.Counter()
    for samples in runs:
        count = sum(samples.values()) or 1
        for stack, n in samples.items():
            name = key(stack)  # type: ignore[operator]
            if name is not None:
                total[name] += n / count / len(runs)
    return dict(total)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3, help="profiled runs of each suite (default 3)")
    parser.add_argument("--rate", type=int, default=500, help="samples per second (default 500)")
    parser.add_argument("--top", type=int, default=25, help="rows of the plugin's own code (default 25)")
    parser.add_argument("--keep", metavar="DIR", help="also keep py-spy's raw output in DIR")
    args = parser.parse_args(argv)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise BenchError("py-spy is not installed: pip install -e '.[bench]' (or pip install py-spy)")
    functions = args.tests // len(bench_replay.MODELS)
    tests = functions * len(bench_replay.MODELS)

    from pytest_anyint.emulator import Emulator

    python = vcrpy_python(say)
    base = workdir("profile-cold")
    anyint_suite = bench_replay.write_suite(base / "anyint", "anyint", functions)
    floor_suite = bench_replay.write_suite(base / "floor", "floor", functions)
    emulator = Emulator(api_key="bench-emulator-key").start()
    gateway = {"BENCH_GATEWAY_URL": emulator.url, "BENCH_API_KEY": emulator.api_key, "ANYINT_BASE_URL": emulator.url}
    try:
        import httpx

        sample = httpx.post(f"{emulator.url}/openai/v1/chat/completions",
                            json=bench_replay._payload(0, bench_replay.MODELS[0]),
                            headers={"Authorization": f"Bearer {emulator.api_key}"})
        (floor_suite / "floor_body.json").write_bytes(sample.content)
        say(f"recording {tests} cassettes against the emulator ...")
        run_pytest(Setup("record", anyint_suite, python, ["-p", "pytest_anyint.plugin", *COLD_ARGS],
                         {**gateway, "ANYINT_API_KEY": emulator.api_key}, tests),
                   "--anyint-record=once", "--no-anyint-check-models")
    finally:
        emulator.stop()
    clean_suite(anyint_suite)
    setups = {
        "floor": Setup("floor, cold", floor_suite, python, [*COLD_ARGS], gateway, tests, fresh=True),
        "anyint": Setup("pytest-anyint, cold", anyint_suite, python, ["-p", "pytest_anyint.plugin", *COLD_ARGS],
                        gateway, tests, fresh=True),
    }
    raw = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="anyint-profile-"))
    raw.mkdir(parents=True, exist_ok=True)
    samples: dict[str, list[collections.Counter[str]]] = {name: [] for name in setups}
    cpus: dict[str, list[float]] = {name: [] for name in setups}
    for number in range(args.runs):
        for name, setup in setups.items():
            cpus[name].append(run_pytest(setup).cpu_s)  # unprofiled: the scale of the estimates
            samples[name].append(profile(setup, py_spy, args.rate, raw / f"{name}-{number}.txt"))
        say(f"run {number + 1}/{args.runs} done")
    if not args.keep:
        shutil.rmtree(raw, ignore_errors=True)

    # Each process's shares are scaled by its own unprofiled CPU time (the plugin's by the plugin's).
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    stage = {name: shares(runs, stage_of) for name, runs in samples.items()}
    print(f"\ncold replay, sampled: {tests} tests, {args.runs} runs of each under py-spy at {args.rate} Hz")
    print(machine())
    print(f"unprofiled cold runs (median CPU time): floor {cpu['floor']:.2f} s, pytest-anyint {cpu['anyint']:.2f} s "
          f"(+{(cpu['anyint'] - cpu['floor']) * 1000 / tests:.2f} ms per test)\n")
    names = [mark_name for _, mark_name in STAGES] + [START]
    rows = []
    for label in sorted(set(names), key=lambda n: -(stage["anyint"].get(n, 0) * cpu["anyint"])):
        floor_ms = stage["floor"].get(label, 0.0) * cpu["floor"] * 1000
        anyint_ms = stage["anyint"].get(label, 0.0) * cpu["anyint"] * 1000
        if floor_ms < 0.5 and anyint_ms < 0.5:
            continue
        rows.append([label, f"{floor_ms:.0f}", f"{anyint_ms:.0f}", f"{anyint_ms - floor_ms:+.0f}"])
    rows.append(["whole process", f"{cpu['floor'] * 1000:.0f}", f"{cpu['anyint'] * 1000:.0f}",
                 f"{(cpu['anyint'] - cpu['floor']) * 1000:+.0f}"])
    print("each stage, estimated CPU ms (its share of the sampled process x the unprofiled process's CPU time):\n")
    print(table(["stage", "floor", "pytest-anyint", "excess"], rows))

    own = shares(samples["anyint"], owner_of)
    rows = [[name, f"{share * 100:.1f}%", f"{share * cpu['anyint'] * 1000:.0f}",
             f"{share * cpu['anyint'] * 1000 / tests:.3f}"]
            for name, share in sorted(own.items(), key=lambda item: -item[1])[:args.top]]
    total_own = sum(own.values())
    rows.append(["all of the plugin's own code and the imports it triggers", f"{total_own * 100:.1f}%",
                 f"{total_own * cpu['anyint'] * 1000:.0f}", f"{total_own * cpu['anyint'] * 1000 / tests:.3f}"])
    print(f"\nthe plugin's own code (hook or fixture > innermost plugin function) and the imports it triggers, "
          f"top {args.top}:\n")
    print(table(["where", "share", "est. CPU ms", "ms per test"], rows))
    print("\nThe rest of the excess is pytest's and the interpreter's work made larger by the plugin: its "
          "fixtures (indirect parametrization), hooks, reports, and the bigger heap every full garbage "
          "collection walks.")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    run_benchmark(main)
