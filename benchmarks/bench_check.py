"""§13 check: ``pytest-anyint check`` over 10,000 interactions, <= 5 s and <= 150 MB peak memory.

One cassette is recorded against the emulator with four interactions of different shapes (an
OpenAI chat completion, an OpenAI stream of ~50 chunks, an Anthropic message, a Gemini answer),
then copied 2,500 times with every id made unique (so nothing is served from a cache). Side by side
in one run (interleaved rounds, medians):

- ``parse only``: a Python process that only reads and YAML-parses every file (CSafeLoader): the
  floor any checker pays;
- ``pytest-anyint check``: the command itself (contracts, stream grammar, secret scan, config lint).

Every run is cold: the command runs in a fresh process and keeps no parse cache between runs (the
plugin's parse cache is pytest's, and the commands do not use it), so every file is read and
parsed each time, as on CI.

Wall time and peak resident memory of each process are shown, and their ratio.
Usage: ``python benchmarks/bench_check.py [--rounds N] [--interactions N]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    BenchError,
    Setup,
    base_env,
    conclude,
    machine,
    median,
    run_benchmark,
    run_pytest,
    table,
    workdir,
)

TARGET_S = 5.0
TARGET_MB = 150.0

ANYINT_YAML = """\
version: 1
gateway:
  base_url: https://gateway.api.anyint.ai
  api_key_env: ANYINT_API_KEY
routes:
  mix:
    family: openai
    primary: gpt-5-mini
    fallbacks:
      - {model: claude-haiku-4-5, family: anthropic}
      - {model: gemini-2.5-flash, family: gemini}
    cross_family: true
"""

SEED_TEST = '''
import httpx
import pytest


@pytest.mark.route("mix", models="primary")
def test_mix(anyint_gateway, anyint_route):
    lines = "\\n".join(f"field_{k}: value {k} lorem ipsum" for k in range(24))
    with httpx.Client() as client:
        def post(family, path, body):
            response = client.post(anyint_gateway.base_url(family) + path, json=body,
                                   headers=anyint_gateway.headers(family))
            assert response.status_code == 200, response.text
        messages = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": lines}]
        post("openai", "/chat/completions", {"model": anyint_route.model, "messages": messages})
        post("openai", "/chat/completions", {"model": anyint_route.model, "messages": messages, "stream": True})
        post("anthropic", "/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 512,
                                           "messages": [{"role": "user", "content": lines}]})
        post("gemini", "/v1beta/models/gemini-2.5-flash:generateContent",
             {"contents": [{"role": "user", "parts": [{"text": lines}]}]})
'''

PARSE_ONLY = """
import sys, yaml
from pathlib import Path
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
count = 0
for path in sorted(Path(sys.argv[1]).rglob("*.yaml")):
    count += len(yaml.load(path.read_bytes(), Loader=loader)["interactions"])
print(count)
"""

CHECK = """
import sys
from pytest_anyint.cli import main
sys.exit(main(["check", sys.argv[1]]))
"""

# Each child reports its own peak resident memory at exit (VmHWM of the program after exec; the
# rusage of a child would also count the pages it shared with this process before exec).
PEAK = """
import atexit, resource, sys
def _peak():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                kb = int(line.split()[1])
                break
        else:
            raise OSError
    except OSError:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"PEAK_KB={kb}", file=sys.stderr)
atexit.register(_peak)
"""


def measure(code: str, arg: str | list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)
            ) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of ``python -c code args`` in a fresh process."""
    args = [arg] if isinstance(arg, str) else arg
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK + code, *args], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode not in ok:
        raise BenchError(f"{code.strip().splitlines()[-1]} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-2000:]}")
    peak = next(int(line[8:]) for line in proc.stderr.splitlines() if line.startswith("PEAK_KB="))
    return wall, peak / 1024, proc.stdout


def record_seed(seed: Path, say: Any, drift: str | None = None) -> str:
    """Record the seed cassette against a fresh emulator (told to drift, if asked); its text."""
    from pytest_anyint.emulator import Emulator

    seed.mkdir(parents=True)
    (seed / "pytest.ini").write_text("[pytest]\n")
    (seed / "anyint.yaml").write_text(ANYINT_YAML)
    (seed / "test_seed.py").write_text(SEED_TEST)
    emulator = Emulator(api_key="bench-emulator-key").start()
    if drift:
        emulator.drift(drift)
    say(f"recording the seed cassette against the emulator{f' (drift: {drift})' if drift else ''} ...")
    try:
        run_pytest(Setup("seed", seed, args=["-p", "pytest_anyint.plugin"],
                         env={"ANYINT_BASE_URL": emulator.url, "ANYINT_API_KEY": emulator.api_key}),
                   "--anyint-record=once", "--no-anyint-check-models",
                   *(["--anyint-contracts=off"] if drift else []), timing=False)  # drifted shapes break contracts
    finally:
        emulator.stop()
    (cassette,) = list((seed / "cassettes").rglob("*.yaml"))
    return cassette.read_text()


def write_copies(tree: Path, text: str, numbers: Any) -> None:
    """One copy of a cassette per number, at a test's path, with every id made unique."""
    ids = sorted({token for token in text.replace("'", " ").replace('"', " ").split()
                  if token.startswith(("chatcmpl-", "msg_", "anyint-"))})
    for number in numbers:
        unique = text
        for token in ids:
            unique = unique.replace(token, f"{token[:-6]}{number:06d}")
        path = tree / f"test_module_{number // 100:03d}" / f"test_case_{number:05d}" / "mix" / "gpt-5-mini.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(unique)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interactions", type=int, default=10_000)
    args = parser.parse_args(argv)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    base = workdir("check")
    text = record_seed(base / "seed", say)
    per_file = text.count("\n- request:")
    files = args.interactions // per_file
    project = base / "project"
    shutil.copytree(base / "seed", project, ignore=shutil.ignore_patterns("cassettes", ".pytest_cache", "__pycache__"))
    tree = project / "cassettes"
    write_copies(tree, text, range(files))
    total = files * per_file
    size_mb = sum(p.stat().st_size for p in tree.rglob("*.yaml")) / 2**20
    say(f"{files} cassettes x {per_file} interactions = {total} interactions, {size_mb:.0f} MB of YAML")

    env = base_env()
    commands = {"parse only (YAML)": PARSE_ONLY, "pytest-anyint check": CHECK}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for code in commands.values():  # warm the file cache
        measure(code, str(tree), project, env)
    for _ in range(args.rounds):
        for name, code in commands.items():
            wall, rss, _ = measure(code, str(tree), project, env)
            results[name].append((wall, rss))
    wall = {name: median([w for w, _ in runs]) for name, runs in results.items()}
    rss = {name: max(r for _, r in runs) for name, runs in results.items()}
    floor = "parse only (YAML)"
    rows = [[name, f"{wall[name]:.2f}", f"{wall[name] / wall[floor]:.2f}x", f"{rss[name]:.0f}",
             f"{total / wall[name]:,.0f}"] for name in commands]
    print(f"\ncheck: {total} interactions in {files} cassettes ({size_mb:.0f} MB); {args.rounds} interleaved rounds, "
          f"median wall, highest peak RSS")
    print(machine() + "\ncold: a fresh process per run, no parse cache (the commands keep none)\n")
    print(table(["setup", "wall s", "vs parse", "peak MB", "interactions/s"], rows))
    name = "pytest-anyint check"
    checks = [(f"check <= {TARGET_S:g} s ({wall[name]:.2f} s)", wall[name] <= TARGET_S),
              (f"check peak memory <= {TARGET_MB:g} MB ({rss[name]:.0f} MB)", rss[name] <= TARGET_MB)]
    print()
    return conclude(checks, {"benchmark": "check", "interactions": total, "wall_s": wall, "peak_mb": rss})


if __name__ == "__main__":
    run_benchmark(main)
