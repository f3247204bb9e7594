"""§13 drift: ``pytest-anyint drift OLD NEW`` over 1,000 cassette pairs, <= 3 s.

The seed cassette of bench_check (four interactions: OpenAI JSON and stream, Anthropic, Gemini) is
recorded three times against the emulator: as is, with additive drift and with breaking drift.
OLD holds 1,000 copies of the first; NEW holds the same 1,000 paths re-recorded: 90% unchanged
shapes, 8% additive drift, 2% breaking drift (every id differs between the trees, as after a real
re-record). Side by side in one run (interleaved rounds, medians):

- ``parse only``: reading and YAML-parsing both trees (the floor any comparison pays);
- ``pytest-anyint drift``: the command itself (shapes, stream grammars, the report; exit 1 because
  of the breaking drift).

Every run is cold: the command runs in a fresh process and keeps no parse cache between runs (the
plugin's parse cache is pytest's, and the commands do not use it), so every file is read and
parsed each time, as on CI.

Usage: ``python benchmarks/bench_drift.py [--rounds N] [--pairs N]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    base_env,
    conclude,
    machine,
    median,
    run_benchmark,
    table,
    workdir,
)
from bench_check import measure, record_seed, write_copies  # noqa: E402

TARGET_S = 3.0

PARSE_BOTH = """
import sys, yaml
from pathlib import Path
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
count = 0
for tree in sys.argv[1:]:
    for path in sorted(Path(tree).rglob("*.yaml")):
        count += len(yaml.load(path.read_bytes(), Loader=loader)["interactions"])
print(count)
"""

DRIFT = """
import sys
from pytest_anyint.cli import main
sys.exit(main(["drift", sys.argv[1], sys.argv[2]]))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=1000)
    args = parser.parse_args(argv)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    base = workdir("drift")
    plain = record_seed(base / "seed-plain", say)
    additive = record_seed(base / "seed-additive", say, drift="additive")
    breaking = record_seed(base / "seed-breaking", say, drift="breaking")
    old, new = base / "old", base / "new"
    pairs = args.pairs
    write_copies(old, plain, range(pairs))
    n_breaking, n_additive = max(1, pairs // 50), max(1, pairs * 8 // 100)
    # NEW: the same paths; ids shifted so no file is byte-identical to its old self.
    renumber = lambda text: text.replace("chatcmpl-", "chatcmpl-n").replace("msg_", "msg_n")  # noqa: E731
    write_copies(new, renumber(breaking), range(n_breaking))
    write_copies(new, renumber(additive), range(n_breaking, n_breaking + n_additive))
    write_copies(new, renumber(plain), range(n_breaking + n_additive, pairs))
    size_mb = sum(p.stat().st_size for tree in (old, new) for p in tree.rglob("*.yaml")) / 2**20
    say(f"{pairs} cassette pairs ({size_mb:.0f} MB): {n_breaking} with breaking drift, {n_additive} additive")

    env = base_env()
    commands = {"parse only (YAML, both trees)": (PARSE_BOTH, (0,)), "pytest-anyint drift": (DRIFT, (0, 1))}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for code, ok in commands.values():
        measure(code, [str(old), str(new)], base, env, ok)
    for _ in range(args.rounds):
        for name, (code, ok) in commands.items():
            wall, rss, out = measure(code, [str(old), str(new)], base, env, ok)
            results[name].append((wall, rss))
    wall = {name: median([w for w, _ in runs]) for name, runs in results.items()}
    rss = {name: max(r for _, r in runs) for name, runs in results.items()}
    floor = "parse only (YAML, both trees)"
    rows = [[name, f"{wall[name]:.2f}", f"{wall[name] / wall[floor]:.2f}x", f"{rss[name]:.0f}"] for name in commands]
    print(f"\ndrift: {pairs} cassette pairs x 4 interactions ({size_mb:.0f} MB); {args.rounds} interleaved rounds, "
          f"median wall, highest peak RSS")
    print(machine() + "\ncold: a fresh process per run, no parse cache (the commands keep none)\n")
    print(table(["setup", "wall s", "vs parse", "peak MB"], rows))
    name = "pytest-anyint drift"
    checks = [(f"drift over {pairs} pairs <= {TARGET_S:g} s ({wall[name]:.2f} s)", wall[name] <= TARGET_S)]
    print()
    return conclude(checks, {"benchmark": "drift", "pairs": pairs, "wall_s": wall, "peak_mb": rss})


if __name__ == "__main__":
    run_benchmark(main)
