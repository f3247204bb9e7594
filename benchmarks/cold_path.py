"""Where a cold replay process spends the time the floor does not: each one-off step, measured alone.

A profiling aid, not a target (``run_all.py`` does not run it). It records the replay benchmark's
suite (``--tests`` route tests, one 1.5 KB chat completion each) once against the emulator, then
runs a fresh Python process several times (``--runs``) in the replay benchmark's environment
(``benchmarks/.venv-vcrpy``) that takes the plugin's cold path step by step, in the order a run
meets them, with no parse cache: its imports, ``anyint.yaml``, the shipped contract index, vcrpy,
every cassette parsed, the first contract validation (which compiles the validators). It prints
each step's CPU time (``time.process_time``: what the step itself costs, which another process
on a busy machine barely moves) and wall time, the minimum over the runs, and beside the steps
what the alternatives named in docs/performance.md ("where the cold path goes") would cost: the
parse cache's marshal form, JSON, PyYAML's plain C loader, and any faster YAML parser importable
in that environment (``rapidyaml``, ``yaml_rs``).

Usage: ``python benchmarks/cold_path.py [--tests N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_replay  # noqa: E402
from _harness import (  # noqa: E402
    COLD_ARGS,
    Setup,
    base_env,
    clean_suite,
    machine,
    run_benchmark,
    run_pytest,
    table,
    vcrpy_python,
    workdir,
)

#: Run in a fresh process inside the suite folder: each step timed alone, JSON on stdout.
CHILD = r'''
import json, sys, time
from pathlib import Path

steps = []


class step:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def __exit__(self, *exc):
        steps.append((self.name, time.process_time() - self.cpu, time.perf_counter() - self.wall))


with step("floor: import pytest, httpx (every setup pays these)"):
    import pytest, httpx
with step("import pytest_anyint.plugin (start-up)"):
    import pytest_anyint.plugin
with step("import the plugin's session modules (session, interceptor, cassettes, contracts, config, ...)"):
    import importlib
    import pytest_anyint.run.session, pytest_anyint.report.text
    from pytest_anyint import config, contracts, parsecache
    from pytest_anyint import cassettes
parsecache.use(None)  # cold: no parse cache, as under -p no:cacheprovider
with step("import yaml (PyYAML, C loader)"):
    import yaml
with step("anyint.yaml: parse and validate"):
    config.load_config(Path("anyint.yaml"), environ={})
with step("shipped contract index: load it (and parse it, when it is YAML)"):
    index = contracts.ContractIndex.load()
with step("import wrapt (vcrpy's dependency; it imports asyncio)"):
    import wrapt
with step("import vcrpy (vcr, cassette, patch, matchers, persister, request)"):
    import vcr, vcr.cassette, vcr.patch, vcr.matchers, vcr.persisters.filesystem, vcr.request
paths = sorted(Path("cassettes").rglob("*.yaml"))
raws = [p.read_bytes() for p in paths]
with step(f"parse {len(paths)} cassettes (read, YAML, checks: cassettes.read_cassette)"):
    parsed = [cassettes.read_cassette(p) for p in paths]
texts = [r.decode() for r in raws]
with step(f"  of which YAML alone ({len(paths)} x cassettes.load_yaml)"):
    docs = [cassettes.load_yaml(t) for t in texts]
first = parsed[0]["interactions"][0]
body = first["response"]["body"]["string"]


def validate():
    return index.validate(method="POST", path="/openai/v1/chat/completions", status=200,
                          content_type="application/json", body=body, parsed=json.loads(body))


with step("first contract validation (compiles the chat.completion validator)"):
    assert validate() == []
with step("a second validation (steady)"):
    validate()
# --- alternatives, on the same files
import marshal
blobs = [marshal.dumps(p) for p in parsed]
with step(f"alt: {len(paths)} cassettes from marshal (the parse cache's warm path)"):
    [marshal.loads(b) for b in blobs]
jsons = [json.dumps(d, ensure_ascii=False) for d in docs]
with step(f"alt: {len(paths)} cassettes as JSON (json.loads)"):
    [json.loads(j) for j in jsons]
with step(f"alt: {len(paths)} cassettes, PyYAML CSafeLoader, plain yaml.load"):
    [yaml.load(t, Loader=yaml.CSafeLoader) for t in texts]
try:
    import ryml
except ImportError:
    ryml = None
if ryml is not None:
    with step(f"alt: {len(paths)} cassettes, rapidyaml (parse to a tree only)"):
        [ryml.parse_in_arena(r) for r in raws]
try:
    import yaml_rs
except ImportError:
    yaml_rs = None
if yaml_rs is not None:
    with step(f"alt: {len(paths)} cassettes, yaml-rs (yaml_rs.loads)"):
        out = [yaml_rs.loads(t) for t in texts]
    steps.append((f"  yaml-rs gives PyYAML's result for {sum(o == d for o, d in zip(out, docs))}/{len(docs)}", 0.0, 0.0))
idx = Path(contracts.__file__).parent.parent / "_contracts" / "index.yaml"
idx_text = idx.read_text()
idx_doc = yaml.load(idx_text, Loader=yaml.CSafeLoader)
idx_blob, idx_json = marshal.dumps(idx_doc), json.dumps(idx_doc)
with step("alt: contract index YAML alone (CSafeLoader)"):
    yaml.load(idx_text, Loader=yaml.CSafeLoader)
with step("alt: contract index as JSON (json.loads)"):
    json.loads(idx_json)
with step("alt: contract index from marshal"):
    marshal.loads(idx_blob)
print(json.dumps(steps))
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5, help="fresh processes; the minimum of each step is shown")
    parser.add_argument("--alt-path", metavar="DIR", help="a folder put on the child's PYTHONPATH, holding other "
                        "YAML parsers to compare (e.g. pip install --target DIR rapidyaml yaml-rs)")
    args = parser.parse_args(argv)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    functions = args.tests // len(bench_replay.MODELS)
    tests = functions * len(bench_replay.MODELS)

    from pytest_anyint.emulator import Emulator

    python = vcrpy_python(say)
    suite = bench_replay.write_suite(workdir("cold-path") / "anyint", "anyint", functions)
    emulator = Emulator(api_key="bench-emulator-key").start()
    try:
        say(f"recording {tests} cassettes against the emulator ...")
        run_pytest(Setup("record", suite, python, ["-p", "pytest_anyint.plugin", *COLD_ARGS],
                         {"ANYINT_BASE_URL": emulator.url, "ANYINT_API_KEY": emulator.api_key}, tests),
                   "--anyint-record=once", "--no-anyint-check-models")
    finally:
        emulator.stop()
    clean_suite(suite)
    best: dict[str, tuple[float, float]] = {}
    order: list[str] = []
    for number in range(args.runs):
        env = base_env({"PYTHONPATH": args.alt_path} if args.alt_path else {})
        proc = subprocess.run([python, "-c", CHILD], cwd=suite, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 2
        for name, cpu, wall in json.loads(proc.stdout.strip().splitlines()[-1]):
            if name not in best:
                order.append(name)
                best[name] = (cpu, wall)
            else:
                best[name] = (min(best[name][0], cpu), min(best[name][1], wall))
        say(f"run {number + 1}/{args.runs} done")
    print(f"\ncold path, step by step: {tests} tests' cassettes, min of {args.runs} fresh processes")
    print(machine() + "\n")
    rows = [[name, f"{cpu * 1000:.1f}" if cpu else "", f"{wall * 1000:.1f}" if wall else ""]
            for name, (cpu, wall) in ((n, best[n]) for n in order)]
    print(table(["step", "CPU ms", "wall ms"], rows))
    print(json.dumps({"benchmark": "cold_path", "tests": tests, "cpu_ms": {n: best[n][0] * 1000 for n in order},
                      "wall_ms": {n: best[n][1] * 1000 for n in order}}))
    return 0


if __name__ == "__main__":
    run_benchmark(main)
