"""§13 replay, as CI runs it: the whole process, cold and warm, at 30, 300 and 1,200 tests.

Route-marked tests, one 1.5 KB chat completion each through a shared client. Setups, run side by
side in one run (interleaved rounds: every size and setup once per round, in a new seeded order
each round; the best round of each is shown by default, since on a shared machine noise only ever
adds):

- ``floor``: the same call through an ``httpx.MockTransport`` (the client is paid for; no plugin).
- ``pytest-anyint``: replaying its cassettes, contract validation and call trail on
  (the defaults: ``--anyint-contracts=fail``).
- ``pytest-recording``: ``@pytest.mark.vcr`` with its defaults, replaying its cassettes.
- ``cassetter``: ``@pytest.mark.vcr`` with its defaults.
- ``bare`` (``--bare``): the same tests with no HTTP call at all (for reference).

Every tool is measured **cold**, as on CI's fresh clone: each run gets a fresh copy of its suite
(no ``.pytest_cache``, so no parse cache; no ``__pycache__`` of the tests) and runs with pytest's
cache off (``-p no:cacheprovider``; the plugin keeps its parse cache in pytest's cache folder, so
that is off too; the harness fails a cold run that leaves a ``.pytest_cache`` behind). The plugin
and the floor are also measured **warm**: the same folder run after run, pytest's cache on, so
the plugin reads its cassettes, ``anyint.yaml`` and the contract index from its parse cache (a
local re-run, or CI restoring ``.pytest_cache``). And on their **first run**: a fresh copy with
pytest's cache on, as most CI jobs run (a fresh clone, no cache restored), where the plugin parses
every file and also writes its parse cache for a next run that never comes.

Each tool runs in an environment of its own holding what it and the suite need (pytest, httpx, the
tool): ``benchmarks/.venv-vcrpy`` for the two vcrpy-based tools (this plugin, editable, and
pytest-recording, with the bare and floor suites), ``benchmarks/.venv-cassetter`` for cassetter
(with a floor of its own); both are created on first use with the dev environment's versions.
Each tool records its own cassettes once, from the same emulator (pytest_anyint.emulator), which
is stopped before any replay: a setup that reached for the network would fail, not be timed.

The headline figure is the whole process (interpreter start-up, imports, collection, every test,
reports, exit) over the floor of the same environment and cache state, per test; the steady
per-test time (median start-to-start time of consecutive tests) is shown beside it, and a stage
table shows where each whole process goes. Usage:
``python benchmarks/bench_replay.py [--rounds N] [--sizes 30,300,1200] [--stat best|median]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    COLD_ARGS,
    TIMING_CONFTEST,
    BenchError,
    Run,
    Setup,
    cassetter_python,
    clean_suite,
    client_fixtures,
    conclude,
    export_package,
    machine,
    median,
    phase_table,
    run_benchmark,
    run_pytest,
    table,
    tool_version,
    vcrpy_python,
    workdir,
)

MODELS = ("gpt-5-mini", "deepseek-v3.2-exp", "qwen3-max")
FIELDS = 24  # prompt lines; the emulator answers them as JSON: a ~1.5 KB chat completion
MODULES = 4

ANYINT_YAML = """\
version: 1
gateway:
  base_url: https://gateway.api.anyint.ai
  api_key_env: ANYINT_API_KEY
routes:
  chat:
    family: openai
    primary: gpt-5-mini
    fallbacks: [deepseek-v3.2-exp, qwen3-max]
"""

HELPERS = f'''
import os
import pytest

MODELS = {list(MODELS)!r}


def payload(n, model):
    lines = "\\n".join(f"field_{{k}}: value {{n}} {{k}} lorem ipsum" for k in range({FIELDS}))
    return {{"model": model, "messages": [{{"role": "system", "content": "Answer in JSON."}},
                                         {{"role": "user", "content": lines}}]}}


def check(response):
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"].startswith("{{")
'''

CLIENTS = client_fixtures("floor_body.json", "application/json")

TESTS = {
    "anyint": '''
@pytest.mark.route("chat")
def test_chat_{n:03d}(client, anyint_route):
    check(client.post("/chat/completions", json=payload({n}, anyint_route.model)))
''',
    "vcr": '''
@pytest.mark.vcr
@pytest.mark.parametrize("model", MODELS)
def test_chat_{n:03d}(client, model):
    check(client.post("/chat/completions", json=payload({n}, model)))
''',
    "floor": '''
@pytest.mark.parametrize("model", MODELS)
def test_chat_{n:03d}(client, model):
    check(client.post("/chat/completions", json=payload({n}, model)))
''',
    "bare": '''
@pytest.mark.parametrize("model", MODELS)
def test_chat_{n:03d}(model):
    import json
    assert json.dumps(payload({n}, model))
''',
}


def write_suite(root: Path, kind: str, functions: int) -> Path:
    root.mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "conftest.py").write_text(TIMING_CONFTEST + "\nimport os\n" + CLIENTS.get(kind, ""))
    per_module = -(-functions // MODULES)
    for module in range(MODULES):
        numbers = range(module * per_module, min(functions, (module + 1) * per_module))
        if not numbers:
            continue
        source = HELPERS + "".join(TESTS[kind].format(n=n) for n in numbers)
        (root / f"test_chat_{module}.py").write_text(source)
    if kind == "anyint":
        (root / "anyint.yaml").write_text(ANYINT_YAML)
    return root


#: The targets of issue 16 (whole process over the floor, ms per test, at 300 tests).
TARGET_COLD_MS = 0.5
TARGET_WARM_MS = 0.3
TARGET_SIZE = 300
COMPETITORS = ("pytest-recording", "cassetter")
ANYINT_COLD, ANYINT_WARM = "pytest-anyint, cold", "pytest-anyint, warm"
FLOOR_COLD, FLOOR_WARM, FLOOR_CASSETTER = "floor, cold", "floor, warm", "floor (cassetter venv), cold"
#: A fresh copy with pytest's cache on: CI on a fresh clone that restores no cache (the default).
ANYINT_FIRST, FLOOR_FIRST = "pytest-anyint, first run", "floor, first run"


def _size_setups(size: int, base: Path, args: argparse.Namespace, vcrpy: str, cassetter: str | None,
                 gateway: dict[str, str], baseline: Path | None
                 ) -> tuple[list[Setup], list[tuple[Setup, list[str]]], list[tuple[Path, Path]]]:
    """The setups of one suite size, the recordings they need (setup, extra pytest args), and the
    warm folders to copy from a recorded pristine suite (source, target)."""
    functions = size // len(MODELS)
    root = base / f"n{size}"
    plugin = ["-p", "pytest_anyint.plugin"]

    def suite(kind: str, name: str) -> Path:
        return write_suite(root / name, kind, functions)

    def cold(name: str, path: Path, python: str, tool_args: Sequence[str] = (), env: dict[str, str] | None = None) -> Setup:
        return Setup(name, path, python, [*tool_args, *COLD_ARGS], env or gateway, size, fresh=True)

    anyint_suite = suite("anyint", "anyint")
    floor_suite = suite("floor", "floor")
    setups = [cold(FLOOR_COLD, floor_suite, vcrpy), cold(ANYINT_COLD, anyint_suite, vcrpy, plugin)]
    # Warm: a folder of its own, run after run, pytest's cache on (filled by the warm-up round).
    setups += [Setup(ANYINT_WARM, root / "anyint-warm", vcrpy, plugin, gateway, size),
               Setup(FLOOR_WARM, root / "floor-warm", vcrpy, [], gateway, size)]
    copies = [(anyint_suite, root / "anyint-warm"), (floor_suite, root / "floor-warm")]
    setups += [Setup(ANYINT_FIRST, anyint_suite, vcrpy, plugin, gateway, size, fresh=True, keeps_cache=True),
               Setup(FLOOR_FIRST, floor_suite, vcrpy, [], gateway, size, fresh=True, keeps_cache=True)]
    recordings: list[tuple[Setup, list[str]]] = [
        (Setup("pytest-anyint", anyint_suite, vcrpy, plugin, gateway, size),
         ["--anyint-record=once", "--no-anyint-check-models"])]
    if baseline is not None:
        rev_env = {**gateway, "PYTHONPATH": str(baseline)}
        setups += [cold(f"pytest-anyint @ {args.baseline}, cold", anyint_suite, vcrpy, plugin, rev_env),
                   Setup(f"pytest-anyint @ {args.baseline}, warm", root / "anyint-baseline-warm", vcrpy, plugin,
                         rev_env, size)]
        copies.append((anyint_suite, root / "anyint-baseline-warm"))
    recording_suite = suite("vcr", "pytest-recording")
    setups.append(cold("pytest-recording", recording_suite, vcrpy, ["-p", "pytest_recording.plugin"]))
    recordings.append((Setup("pytest-recording", recording_suite, vcrpy, ["-p", "pytest_recording.plugin"],
                             gateway, size), ["--record-mode=once"]))
    if cassetter:
        cassetter_suite = suite("vcr", "cassetter")
        setups += [cold("cassetter", cassetter_suite, cassetter, ["-p", "cassetter.pytest_plugin"]),
                   cold(FLOOR_CASSETTER, suite("floor", "floor-cassetter"), cassetter)]
        recordings.append((Setup("cassetter", cassetter_suite, cassetter, ["-p", "cassetter.pytest_plugin"],
                                 gateway, size), ["--record-mode=once"]))
    if args.bare:
        setups.append(cold("bare (no HTTP call), cold", suite("bare", "bare"), vcrpy))
    return setups, recordings, copies


def recorded_setups(size: int, base: Path, args: argparse.Namespace, vcrpy: str, cassetter: str | None,
                    gateway: dict[str, str], baseline: Path | None, emulator_key: str, floor_body: bytes) -> list[Setup]:
    """The setups of one size with every tool's cassettes recorded (the emulator running, its key
    given to this plugin only), the cold suites left pristine (what a fresh clone holds) and the
    warm folders copied from them."""
    setups, recordings, copies = _size_setups(size, base, args, vcrpy, cassetter, gateway, baseline)
    for setup in setups:
        if setup.fresh and setup.name.startswith("floor"):
            (setup.suite / "floor_body.json").write_bytes(floor_body)
    for setup, extra in recordings:
        key = {"ANYINT_API_KEY": emulator_key} if setup.name == "pytest-anyint" else {}
        run_pytest(Setup(setup.name, setup.suite, setup.python, [*setup.args, *COLD_ARGS],
                         {**setup.env, **key}, size), *extra)
    for setup in setups:
        if setup.fresh:
            clean_suite(setup.suite)
    for source, target in copies:
        shutil.copytree(source, target)
    return setups


def _floor_of(name: str) -> str:
    """The floor a setup is measured against: same environment, same cache state."""
    if name.startswith("cassetter") or name.startswith("floor (cassetter"):
        return FLOOR_CASSETTER
    if name.endswith(", first run"):
        return FLOOR_FIRST
    return FLOOR_WARM if name.endswith(", warm") else FLOOR_COLD


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds (each runs every size and setup once, in an order of its own; default 5)")
    parser.add_argument("--sizes", default="30,300,1200", help="suite sizes, multiples of 3 (default 30,300,1200)")
    parser.add_argument("--tests", type=int, help="a single suite size (same as --sizes N)")
    parser.add_argument("--stat", choices=("best", "median"), default="best",
                        help="which round of each setup to show (default: the best; noise only adds)")
    parser.add_argument("--stages-at", type=int, help="the size whose stage table is printed (default: 300, "
                        "or the largest size below it); 0 prints it for every size")
    parser.add_argument("--skip-cassetter", action="store_true", help="leave cassetter out (no venv)")
    parser.add_argument("--bare", action="store_true", help="also run the suite with no HTTP call (cold)")
    parser.add_argument("--baseline", metavar="REV", help="also run the plugin as it was at git REV (before/after)")
    args = parser.parse_args(argv)
    sizes = [args.tests] if args.tests else [int(part) for part in args.sizes.split(",") if part.strip()]
    sizes = [size // len(MODELS) * len(MODELS) for size in sizes]
    if not sizes or min(sizes) < len(MODELS):
        raise BenchError(f"--sizes: each size must be at least {len(MODELS)} tests")
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    pick = min if args.stat == "best" else median

    from pytest_anyint.emulator import Emulator

    base = workdir("replay")
    vcrpy = vcrpy_python(say)  # this plugin and pytest-recording, in an environment of their own
    cassetter = None if args.skip_cassetter else cassetter_python(say)
    baseline = export_package(args.baseline, base / "baseline") if args.baseline else None
    emulator = Emulator(api_key="bench-emulator-key").start()
    gateway = {"BENCH_GATEWAY_URL": emulator.url, "BENCH_API_KEY": emulator.api_key, "ANYINT_BASE_URL": emulator.url}
    by_size: dict[int, list[Setup]] = {}
    try:
        import httpx

        sample = httpx.post(f"{emulator.url}/openai/v1/chat/completions", json=_payload(0, MODELS[0]),
                            headers={"Authorization": f"Bearer {emulator.api_key}"})
        for size in sizes:
            say(f"{size} tests: recording with each tool against the emulator at {emulator.url} ...")
            by_size[size] = recorded_setups(size, base, args, vcrpy, cassetter, gateway, baseline,
                                            emulator.api_key, sample.content)
    finally:
        emulator.stop()  # replay is offline: a setup that reaches for the network fails
    sizes_of_files = sorted(p.stat().st_size for p in (base / f"n{sizes[0]}" / "anyint").rglob("*.yaml")
                            if "cassettes" in p.parts)
    say(f"recorded; response body {len(sample.content)} bytes; pytest-anyint cassettes "
        f"{sizes_of_files[0]}-{sizes_of_files[-1]} bytes")

    total = sum(len(s) for s in by_size.values())
    say(f"replaying: {total} setups over {len(sizes)} sizes x {args.rounds} rounds (plus a warm-up round), "
        "interleaved ...")
    results: dict[int, dict[str, list[Run]]] = {size: {s.name: [] for s in setups} for size, setups in by_size.items()}
    runs = [(size, setup) for size, setups in by_size.items() for setup in setups]
    for number in range(args.rounds + 1):  # round 0 warms the file cache and fills the warm setups' caches
        # A new order each round (seeded: the same run twice runs in the same orders). In a fixed
        # order a setup always follows the same one, and whatever that one leaves behind (dirty
        # pages of its fresh copy being written back, a hotter or cooler core) biases it in every
        # round: identical floor suites in two environments differed by 45% at 30 tests that way.
        for size, setup in random.Random(number).sample(runs, len(runs)) if number else runs:
            run = run_pytest(setup)
            if number:
                results[size][setup.name].append(run)
        if number == 0:
            for setups in by_size.values():
                for setup in setups:
                    if setup.name.startswith("pytest-anyint") and not setup.fresh and \
                            not (setup.suite / ".pytest_cache" / "d" / "anyint").is_dir():
                        raise BenchError(f"{setup.name}: the warm-up round left no parse cache in {setup.suite}")
        say(f"round {number}/{args.rounds} done" if number else "warm-up round done")

    print(f"\nreplay, whole process: {', '.join(map(str, sizes))} tests, one chat completion "
          f"({len(sample.content)} B) each through a shared client; {args.rounds} interleaved rounds, "
          f"{'best' if args.stat == 'best' else 'median'} of each")
    print(machine())
    cassetter_version = tool_version("cassetter", cassetter) if cassetter else "-"
    print(f"pytest-recording {tool_version('pytest-recording', vcrpy)}, cassetter {cassetter_version}")
    print("cold: a fresh copy of the suite per run, -p no:cacheprovider (no parse cache: CI's fresh clone); "
          "warm: pytest's cache on, the plugin's parse cache filled by an earlier run; first run: a fresh copy "
          "with pytest's cache on (CI's fresh clone restoring no cache: the parse cache is written, never read)")
    summary: dict[str, Any] = {"benchmark": "replay", "stat": args.stat, "sizes": {}}
    over_wall: dict[int, dict[str, float]] = {}
    walls: dict[int, dict[str, float]] = {}
    over_cpus: dict[int, dict[str, float]] = {}
    for size, setups in by_size.items():
        runs = results[size]
        wall = {name: pick([r.wall_s for r in rs]) for name, rs in runs.items()}
        steady = {name: pick([r.typical_s for r in rs]) * 1000 for name, rs in runs.items()}
        over = {name: (wall[name] - wall[_floor_of(name)]) / size * 1000 for name in runs}
        over_steady = {name: steady[name] - steady[_floor_of(name)] for name in runs}
        cpu = {name: pick([r.cpu_s for r in rs]) for name, rs in runs.items()}
        over_cpu = {name: (cpu[name] - cpu[_floor_of(name)]) / size * 1000 for name in runs}
        over_wall[size], walls[size], over_cpus[size] = over, wall, over_cpu
        rows = []
        for setup in setups:
            name = setup.name
            is_floor = name.startswith(("floor", "bare"))
            ratio = over[name] / over[ANYINT_COLD] if over[ANYINT_COLD] > 0 else float("nan")
            rows.append([name, f"{wall[name]:.2f}", f"{wall[name] / wall[ANYINT_COLD]:.2f}x",
                         "" if is_floor else f"{over[name]:+.2f}", "" if is_floor else f"{ratio:.2f}x",
                         f"{steady[name]:.3f}", "" if is_floor else f"{over_steady[name]:+.3f}",
                         f"{cpu[name]:.2f}", "" if is_floor else f"{over_cpu[name]:+.2f}"])
        print(f"\n{size} tests:")
        print(table(["setup", "wall s", "vs anyint cold", "over floor ms/test", "vs anyint cold", "steady ms/test",
                     "over floor", "CPU s", "over floor ms/test"], rows))
        summary["sizes"][size] = {"wall_s": wall, "over_floor_ms_per_test": over, "steady_ms_per_test": steady,
                                  "cpu_s": cpu, "cpu_over_floor_ms_per_test": over_cpu,
                                  "median_wall_s": {n: median([r.wall_s for r in rs]) for n, rs in runs.items()}}
    print("\nwall: the whole process (start-up, imports, collection, every test, reports, exit); 'over floor':\n"
          "that minus the floor of the same environment and cache state, per test (cold against the cold\n"
          "floor, warm against the warm floor, cassetter against the floor of its venv); 'vs anyint cold':\n"
          "the ratio to pytest-anyint cold (above 1: slower). steady: the median start-to-start time of\n"
          "consecutive tests, the one-off costs left out. CPU: the process's own CPU time (user + system),\n"
          "which other work on a busy machine moves far less than wall time; the targets are on wall time.")
    tools = [n for n in (s.name for s in by_size[sizes[0]]) if not n.startswith(("floor", "bare"))]
    rows = [[name] + [f"{over_wall[s][name]:+.2f} ({over_wall[s][name] / over_wall[s][ANYINT_COLD]:.2f}x)"
                      if over_wall[s][ANYINT_COLD] > 0 else f"{over_wall[s][name]:+.2f}" for s in sizes]
            for name in tools]
    print("\nwhole process over the floor, ms per test (and as a ratio to pytest-anyint cold):\n")
    print(table(["setup", *(f"{s} tests" for s in sizes)], rows))
    rows = [[name] + [f"{walls[s][name]:.2f} ({walls[s][name] / walls[s][ANYINT_COLD]:.2f}x)" for s in sizes]
            for name in tools]
    rows_cpu = [[name] + [f"{over_cpus[s][name]:+.2f} ({over_cpus[s][name] / over_cpus[s][ANYINT_COLD]:.2f}x)"
                          if over_cpus[s][ANYINT_COLD] > 0 else f"{over_cpus[s][name]:+.2f}" for s in sizes]
                for name in tools]
    print("\nthe same in CPU time (steadier on a busy machine):\n")
    print(table(["setup", *(f"{s} tests" for s in sizes)], rows_cpu))
    print("\nwhole process, seconds (and as a ratio to pytest-anyint cold):\n")
    print(table(["setup", *(f"{s} tests" for s in sizes)], rows))

    stage_sizes = sizes if args.stages_at == 0 else [args.stages_at] if args.stages_at in sizes else \
        [max([s for s in sizes if s <= TARGET_SIZE] or [min(sizes)])]
    for size in stage_sizes:
        names = [s.name for s in by_size[size]]
        columns = [(n, n.replace("pytest-", "").replace(" (cassetter venv)", " (c. venv)"))
                   for n in (FLOOR_COLD, ANYINT_COLD, ANYINT_WARM, FLOOR_WARM, ANYINT_FIRST, FLOOR_FIRST, *COMPETITORS,
                             FLOOR_CASSETTER)
                   if n in names]
        print(f"\nwhere each whole process goes at {size} tests (medians of the {args.rounds} rounds; the first "
              "test carries the one-off imports of a tool that loads lazily):\n")
        print(phase_table(results[size], columns))

    checks = []
    if TARGET_SIZE in over_wall:
        over = over_wall[TARGET_SIZE]
        checks.append((f"cold, {TARGET_SIZE} tests: pytest-anyint <= +{TARGET_COLD_MS} ms/test over the floor, whole "
                       f"process ({over[ANYINT_COLD]:+.2f} ms)", over[ANYINT_COLD] <= TARGET_COLD_MS))
        checks.append((f"warm, {TARGET_SIZE} tests: pytest-anyint <= +{TARGET_WARM_MS} ms/test over the floor, whole "
                       f"process ({over[ANYINT_WARM]:+.2f} ms)", over[ANYINT_WARM] <= TARGET_WARM_MS))
        # CI's default path: a fresh clone, pytest's cache on (so the parse cache is written, unread).
        checks.append((f"first run, {TARGET_SIZE} tests: pytest-anyint <= +{TARGET_COLD_MS} ms/test over the floor, "
                       f"whole process ({over[ANYINT_FIRST]:+.2f} ms)", over[ANYINT_FIRST] <= TARGET_COLD_MS))
    for size in sizes:
        over = over_wall[size]
        # Cold against the peers (which keep no parse cache: cold is how they always run), then warm
        # (a CI job that restores .pytest_cache), each against the floor of its own cache state.
        for state, name in (("cold", ANYINT_COLD), ("warm", ANYINT_WARM)):
            for tool in COMPETITORS:
                if tool in over:
                    ratio = over[tool] / over[name] if over[name] > 0 else float("inf")
                    checks.append((f"{state}, {size} tests: pytest-anyint below {tool} over the floor ({over[name]:+.2f} "
                                   f"vs {over[tool]:+.2f} ms/test: {ratio:.2f}x)", over[name] < over[tool]))
    print()
    return conclude(checks, summary)


def _payload(n: int, model: str) -> dict:
    namespace: dict = {}
    exec(HELPERS.replace("import pytest", ""), namespace)
    return namespace["payload"](n, model)


if __name__ == "__main__":
    run_benchmark(main)
