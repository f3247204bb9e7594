"""§13 streams: replay plus per-event validation of a 2,000-chunk SSE response, <= 50 ms.

Each test streams one OpenAI chat completion of 2,000 SSE chunks through a shared client and reads
every event. Setups, side by side in one run (interleaved rounds, medians):

- ``floor``: the same bytes from an ``httpx.MockTransport`` (what reading the stream costs anyway);
- ``pytest-anyint``: replayed from its cassette, every event validated against its contract plus the
  stream's grammar, usage read from the stream for the call trail. Measured twice: ``cold`` (as on
  CI's fresh clone: a fresh copy of the suite per run and ``-p no:cacheprovider``, so no parse
  cache and the YAML is parsed) and ``warm`` (the parse cache of a previous run is used);
- ``pytest-recording``: replayed by vcrpy, for comparison (no validation).

A test's time is its setup + call + teardown; the first test of each run is left out (it carries
the one-off imports). ``--baseline REV`` also runs the plugin as it was at a git revision, cold
and warm, on the same cassettes in the same run (before/after a change to the stream path). Usage:
``python benchmarks/bench_streams.py [--rounds N] [--chunks N] [--baseline REV]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    COLD_ARGS,
    TIMING_CONFTEST,
    Setup,
    client_fixtures,
    conclude,
    export_package,
    has_module,
    machine,
    median,
    run_benchmark,
    run_pytest,
    table,
    tool_version,
    workdir,  # noqa: E402
)

TARGET_MS = 50.0
TESTS = 6

ANYINT_YAML = """\
version: 1
gateway:
  base_url: https://gateway.api.anyint.ai
  api_key_env: ANYINT_API_KEY
routes:
  chat:
    family: openai
    primary: gpt-5-mini
"""

# The emulator answers a JSON-mode prompt with its "key: value" lines as JSON, streamed three
# words per chunk: FIELDS lines give about 2 * FIELDS / 3 chunks.
HELPERS = '''
import os
import pytest

FIELDS = {fields}


def payload(n):
    lines = "\\n".join(f"f{{k}}: v{{n}}" for k in range(FIELDS))
    return {{"model": "gpt-5-mini", "stream": True,
             "messages": [{{"role": "system", "content": "Answer in JSON."}}, {{"role": "user", "content": lines}}]}}


def read(client, n):
    with client.stream("POST", "/chat/completions", json=payload(n)) as response:
        assert response.status_code == 200
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]" and len(events) > 100
'''

CLIENTS = client_fixtures("stream_body.txt", "text/event-stream")

TEST = {
    "anyint": '''
@pytest.mark.route("chat")
def test_stream_{n}(client):
    read(client, {n})
''',
    "vcr": '''
@pytest.mark.vcr
def test_stream_{n}(client):
    read(client, {n})
''',
    "floor": '''
def test_stream_{n}(client):
    read(client, {n})
''',
}


def write_suite(root: Path, kind: str, fields: int) -> Path:
    root.mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "conftest.py").write_text(TIMING_CONFTEST + "\nimport os\n" + CLIENTS[kind])
    (root / "test_stream.py").write_text(HELPERS.format(fields=fields) + "".join(TEST[kind].format(n=n) for n in range(TESTS)))
    if kind == "anyint":
        (root / "anyint.yaml").write_text(ANYINT_YAML)
    return root


def per_test_ms(runs: list) -> float:
    """Median over runs of the median test time, the first test of each run left out."""
    return median([statistics.median(list(r.durations.values())[1:]) for r in runs]) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--baseline", metavar="REV", help="also run the plugin as it was at git REV, cold and warm")
    args = parser.parse_args(argv)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    fields = (args.chunks - 3) * 3 // 2 + 1

    import httpx

    from pytest_anyint.emulator import Emulator

    base = workdir("streams")
    emulator = Emulator(api_key="bench-emulator-key").start()
    env = {"BENCH_GATEWAY_URL": emulator.url, "BENCH_API_KEY": emulator.api_key, "ANYINT_BASE_URL": emulator.url}
    namespace: dict = {}
    exec(HELPERS.format(fields=fields).replace("import pytest", ""), namespace)
    sample = httpx.post(f"{emulator.url}/openai/v1/chat/completions", json=namespace["payload"](0),
                        headers={"Authorization": f"Bearer {emulator.api_key}"}, timeout=60)
    chunks = sample.content.count(b"data: ")
    floor = Setup("floor (MockTransport)", write_suite(base / "floor", "floor", fields), env=env, expect_tests=TESTS)
    (floor.suite / "stream_body.txt").write_bytes(sample.content)
    anyint = Setup("pytest-anyint", write_suite(base / "anyint", "anyint", fields), args=["-p", "pytest_anyint.plugin"],
                   env=env, expect_tests=TESTS)
    cold = Setup("pytest-anyint (cold)", anyint.suite, args=["-p", "pytest_anyint.plugin", *COLD_ARGS],
                 env=env, expect_tests=TESTS, fresh=True)
    setups = [floor, cold, anyint]
    try:
        say(f"recording {TESTS} streams of {chunks} chunks ({len(sample.content) // 1024} KB) against the emulator ...")
        run_pytest(Setup(anyint.name, anyint.suite, args=anyint.args, env={**env, "ANYINT_API_KEY": emulator.api_key}),
                   "--anyint-record=once", "--no-anyint-check-models")
        if has_module("pytest_recording"):
            recording = Setup("pytest-recording", write_suite(base / "pytest-recording", "vcr", fields),
                              args=["-p", "pytest_recording.plugin"], env=env, expect_tests=TESTS)
            run_pytest(recording, "--record-mode=once")
            setups.append(recording)
    finally:
        emulator.stop()
    if args.baseline:
        rev_env = {**env, "PYTHONPATH": str(export_package(args.baseline, base / "baseline"))}
        shutil.copytree(anyint.suite, base / "anyint-baseline", ignore=shutil.ignore_patterns(".pytest_cache"))
        setups += [Setup(f"pytest-anyint @ {args.baseline} (cold)", anyint.suite, args=cold.args, env=rev_env,
                         expect_tests=TESTS, fresh=True),
                   Setup(f"pytest-anyint @ {args.baseline}", base / "anyint-baseline", args=anyint.args, env=rev_env,
                         expect_tests=TESTS)]

    say(f"replaying: {len(setups)} setups x {args.rounds} rounds ...")
    results: dict[str, list] = {s.name: [] for s in setups}
    for setup in setups:
        run_pytest(setup)
    for _ in range(args.rounds):
        for setup in setups:
            results[setup.name].append(run_pytest(setup))
    times = {name: per_test_ms(runs) for name, runs in results.items()}
    rows = [[name, f"{ms:.1f}", "" if name == floor.name else f"{ms - times[floor.name]:+.1f}"]
            for name, ms in times.items()]
    print(f"\nstreams: one {chunks}-chunk SSE chat completion ({len(sample.content) // 1024} KB) per test, "
          f"{args.rounds} interleaved rounds, medians")
    print(machine() + f", pytest-recording {tool_version('pytest-recording')}\n")
    print(table(["setup", "ms/test", "over floor"], rows))
    checks = [
        (f"replay + per-event validation <= {TARGET_MS:g} ms, cold ({times[cold.name]:.1f} ms per test)",
         times[cold.name] <= TARGET_MS),
        (f"replay + per-event validation <= {TARGET_MS:g} ms, warm ({times[anyint.name]:.1f} ms per test)",
         times[anyint.name] <= TARGET_MS),
    ]
    print()
    return conclude(checks, {"benchmark": "streams", "chunks": chunks, "ms_per_test": times})


if __name__ == "__main__":
    run_benchmark(main)
