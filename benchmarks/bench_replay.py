"""§13 replay: 300 route-marked tests, one 1.5 KB chat completion each through a shared client.

Setups, run side by side in one run (interleaved rounds; the best round of each is shown, since
on a shared machine noise only ever adds):

- ``bare``: the same 300 tests with no HTTP call at all (for reference).
- ``floor``: the same call through an ``httpx.MockTransport`` (the client is paid for; no plugin).
- ``anyint``: pytest-anyint replaying its cassettes, contract validation and call trail on
  (the defaults: ``--anyint-contracts=fail``).
- ``pytest-recording``: ``@pytest.mark.vcr`` with its defaults, replaying its cassettes.
- ``cassetter``: ``@pytest.mark.vcr`` with its defaults.

Each tool runs in an environment of its own holding what it and the suite need (pytest, httpx, the
tool): ``benchmarks/.venv-vcrpy`` for the two vcrpy-based tools (this plugin, editable, and
pytest-recording, with the bare and floor suites), ``benchmarks/.venv-cassetter`` for cassetter
(with a floor of its own); both are created on first use with the dev environment's versions.

Each tool records its own cassettes once, from the same emulator (pytest_anyint.emulator), which
is stopped before any replay: a setup that reached for the network would fail, not be timed.

Per-test time is the run-test loop (every test's fixtures, cassette load, call, checks and
teardown) divided by the number of tests; start-up (interpreter, imports, collection) is shown
apart as wall time. Usage: ``python benchmarks/bench_replay.py [--rounds N] [--tests N]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    TIMING_CONFTEST,
    BenchError,
    Setup,
    cassetter_python,
    client_fixtures,
    conclude,
    interleaved,
    machine,
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
TARGET_MS = 0.5

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per setup (the best is shown)")
    parser.add_argument("--tests", type=int, default=300, help="number of tests (a multiple of 3)")
    parser.add_argument("--skip-cassetter", action="store_true", help="leave cassetter out (no venv)")
    parser.add_argument("--baseline", metavar="REV", help="also run the plugin as it was at git REV (before/after)")
    args = parser.parse_args(argv)
    functions = args.tests // len(MODELS)
    tests = functions * len(MODELS)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    from pytest_anyint.emulator import Emulator

    base = workdir("replay")
    emulator = Emulator(api_key="bench-emulator-key").start()
    gateway = {"BENCH_GATEWAY_URL": emulator.url, "BENCH_API_KEY": emulator.api_key, "ANYINT_BASE_URL": emulator.url}
    setups: list[Setup] = []
    recorders: list[tuple[Setup, list[str], dict[str, str]]] = []

    vcrpy = vcrpy_python(say)  # this plugin and pytest-recording, in an environment of their own
    bare = Setup("bare (no HTTP call)", write_suite(base / "bare", "bare", functions), python=vcrpy, env=gateway,
                 expect_tests=tests)
    floor = Setup("floor (MockTransport)", write_suite(base / "floor", "floor", functions), python=vcrpy,
                  env=gateway, expect_tests=tests)
    anyint = Setup("pytest-anyint", write_suite(base / "anyint", "anyint", functions), python=vcrpy,
                   args=["-p", "pytest_anyint.plugin"], env=gateway, expect_tests=tests)
    setups += [bare, floor, anyint]
    if args.baseline:
        setups.append(Setup(f"pytest-anyint @ {args.baseline}", anyint.suite, python=vcrpy, args=anyint.args,
                            env={**gateway, "PYTHONPATH": str(export_package(args.baseline, base / "baseline"))},
                            expect_tests=tests))
    recorders.append((anyint, ["--anyint-record=once", "--no-anyint-check-models"], {"ANYINT_API_KEY": emulator.api_key}))
    recording = Setup("pytest-recording", write_suite(base / "pytest-recording", "vcr", functions), python=vcrpy,
                      args=["-p", "pytest_recording.plugin"], env=gateway, expect_tests=tests)
    setups.append(recording)
    recorders.append((recording, ["--record-mode=once"], {}))
    cassetter_floor = None
    if not args.skip_cassetter:
        python = cassetter_python(say)
        cassetter = Setup("cassetter", write_suite(base / "cassetter", "vcr", functions), python=python,
                          args=["-p", "cassetter.pytest_plugin"], env=gateway, expect_tests=tests)
        cassetter_floor = Setup("floor (cassetter venv)", write_suite(base / "floor-cassetter", "floor", functions),
                                python=python, env=gateway, expect_tests=tests)
        setups += [cassetter, cassetter_floor]
        recorders.append((cassetter, ["--record-mode=once"], {}))

    import httpx

    sample = httpx.post(f"{emulator.url}/openai/v1/chat/completions", json=_payload(0, MODELS[0]),
                        headers={"Authorization": f"Bearer {emulator.api_key}"})
    for suite in (floor.suite, *( [cassetter_floor.suite] if cassetter_floor else [])):
        (suite / "floor_body.json").write_bytes(sample.content)
    say(f"recording with each tool against the emulator at {emulator.url} ...")
    for setup, extra, env in recorders:
        recording_setup = Setup(setup.name, setup.suite, setup.python, setup.args, {**setup.env, **env}, tests)
        run_pytest(recording_setup, *extra)
    emulator.stop()  # replay is offline: a setup that reaches for the network fails
    sizes = sorted(p.stat().st_size for p in anyint.suite.rglob("*.yaml") if "cassettes" in p.parts)
    say(f"recorded; response body {len(sample.content)} bytes; pytest-anyint cassettes {sizes[0]}-{sizes[-1]} bytes")

    say(f"replaying: {len(setups)} setups x {args.rounds} rounds, interleaved ...")
    results = interleaved(setups, args.rounds, progress=say)
    # The least disturbed round of each setup: on a shared, noisy machine noise only ever adds.
    typical = {name: min(r.typical_s for r in runs) * 1000 for name, runs in results.items()}
    mean = {name: min(r.per_test_s for r in runs) * 1000 for name, runs in results.items()}
    fixed = {name: min(r.fixed_s for r in runs) * 1000 for name, runs in results.items()}
    wall = {name: min(r.wall_s for r in runs) for name, runs in results.items()}
    floors = {s.name: (cassetter_floor.name if cassetter_floor and s.python == cassetter_floor.python else floor.name)
              for s in setups}
    over = {s.name: typical[s.name] - typical[floors[s.name]] for s in setups}
    over_mean = {s.name: mean[s.name] - mean[floors[s.name]] for s in setups}
    over_wall = {s.name: (wall[s.name] - wall[floors[s.name]]) / tests * 1000 for s in setups}
    rows = []
    for setup in setups:
        name = setup.name
        is_floor = floors[name] == name or setup is bare
        if name.startswith("pytest-anyint @"):
            rows.append([name, f"{typical[name]:.3f}", f"{over[name]:+.3f}", f"{over[name] / over[anyint.name]:.1f}x",
                         f"{mean[name]:.3f}", f"{over_mean[name]:+.3f}", f"{wall[name]:.2f}", f"{over_wall[name]:+.2f}",
                         f"{wall[name] / wall[anyint.name]:.2f}x"])
            continue
        rows.append([
            name, f"{typical[name]:.3f}", "" if is_floor else f"{over[name]:+.3f}",
            "" if is_floor else f"{over[name] / over[anyint.name]:.1f}x",
            f"{mean[name]:.3f}", "" if is_floor else f"{over_mean[name]:+.3f}",
            f"{wall[name]:.2f}", "" if is_floor else f"{over_wall[name]:+.2f}", f"{wall[name] / wall[anyint.name]:.2f}x",
        ])
    print(f"\nreplay: {tests} tests, one chat completion ({len(sample.content)} B) each through a shared client; "
          f"{args.rounds} interleaved rounds, best of each")
    print(machine())
    cassetter_version = tool_version("cassetter", cassetter_floor.python) if cassetter_floor else "-"
    print(f"pytest-recording {tool_version('pytest-recording')}, cassetter {cassetter_version}\n")
    print(table(["setup", "ms/test", "over floor", "vs anyint", "mean", "over floor", "wall s", "per test",
                 "vs anyint"], rows))
    print("\nms/test: the median start-to-start time of consecutive tests (a test's fixtures, cassette,\n"
          "call, checks, teardown and reporting); mean: the run-test loop without its first test, per test\n"
          "(rare pauses included: the full garbage collection the imports of the first test bring on);\n"
          "wall: the whole process, start-up, imports and exit included, and that per test over the floor.\n"
          "'over floor' is against the floor of the same environment.")
    columns = [(floor.name, "floor"), (anyint.name, "anyint"), (recording.name, "pytest-recording")]
    if cassetter_floor is not None:
        columns += [(cassetter.name, "cassetter"), (cassetter_floor.name, "floor (cassetter venv)")]
    print(f"\nwhere each whole process goes (medians of the {args.rounds} rounds; the first test carries the "
          f"one-off imports of a tool that loads lazily):\n")
    print(phase_table(results, columns))
    checks = [(f"pytest-anyint <= {TARGET_MS} ms/test above the floor ({over[anyint.name]:.3f} ms; "
               f"mean {over_mean[anyint.name]:.3f} ms)", over[anyint.name] <= TARGET_MS)]
    for setup in setups:
        if setup.name in ("pytest-recording", "cassetter"):
            checks.append((f"pytest-anyint faster than {setup.name} per test "
                           f"({over[setup.name] / over[anyint.name]:.1f}x less overhead)",
                           over[anyint.name] < over[setup.name]))
            checks.append((f"pytest-anyint faster than {setup.name} in total "
                           f"({wall[anyint.name]:.2f} s vs {wall[setup.name]:.2f} s)",
                           wall[anyint.name] < wall[setup.name]))
    print()
    return conclude(checks, {"benchmark": "replay", "tests": tests, "ms_per_test": typical, "mean_ms_per_test": mean,
                      "fixed_ms": fixed, "wall_s": wall})


def export_package(rev: str, target: Path) -> Path:
    """The pytest_anyint package as it was at a git revision, in ``target`` (put on PYTHONPATH)."""
    import io
    import subprocess
    import tarfile

    from _harness import REPO

    proc = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "pytest_anyint"],
                          capture_output=True)
    if proc.returncode != 0:
        raise BenchError(f"git archive {rev}: {proc.stderr.decode(errors='replace').strip()}")
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        archive.extractall(target)
    return target


def _payload(n: int, model: str) -> dict:
    namespace: dict = {}
    exec(HELPERS.replace("import pytest", ""), namespace)
    return namespace["payload"](n, model)


if __name__ == "__main__":
    run_benchmark(main)
