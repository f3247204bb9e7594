"""The pytest-anyint demo: record the example app's tests against the bundled emulator, then
replay them offline with no key, and show what every route and model did.

    python examples/demo.py            # after: pip install -e ".[dev]"
    python examples/demo.py --keep     # keep the scratch cassettes to look at

Both steps run pytest in a subprocess, exactly as a user would. The recordings go to a scratch
directory, never to the committed ``cassettes/``. Exit status: 0 when both steps pass.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
ROOT = EXAMPLES.parent
#: Variables that would point a step at a live gateway or a real key; the demo needs neither.
GATEWAY_ENV = ("ANYINT_API_KEY", "ANYINT_BASE_URL")


def pytest_command(cassettes: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "examples",
        "-o", f"anyint_cassette_dir={cassettes}",
        "-p", "no:cacheprovider",  # leave the checkout as it was
        "-q", "--no-header",
        *extra,
    ]


def run(command: list[str], *, echo: bool) -> tuple[int, str, float]:
    """Run a pytest step from the repository root without gateway variables; return its exit
    status, its output and how long it took. ``echo`` streams the output as it comes."""
    env = {name: value for name, value in os.environ.items() if name not in GATEWAY_ENV}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if echo:
            sys.stdout.write(line)
            sys.stdout.flush()
    return process.wait(), "".join(lines), time.perf_counter() - started


def last_line(output: str) -> str:
    lines = [line.strip("= \n") for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def count(pattern: str, output: str) -> int:
    match = re.search(rf"(\d+) {pattern}", last_line(output))
    return int(match.group(1)) if match else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch cassette directory and print its path")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="anyint-demo-"))
    cassettes = scratch / "cassettes"
    try:
        print("Step 1/2: record every test of examples/ against the bundled AnyInt emulator (loopback)", flush=True)
        status, output, took = run(
            pytest_command(cassettes, "--anyint-record=rewrite", "--anyint-emulator"), echo=False
        )
        if status != 0:
            sys.stdout.write(output)
            print(f"\nDemo failed: recording against the emulator exited with status {status}.")
            return status or 1
        written = sorted(cassettes.rglob("*.yaml"))
        print(f"  {last_line(output)}; {len(written)} cassettes written to a scratch directory\n", flush=True)

        print("Step 2/2: replay them offline: no key, no emulator, the network blocked", flush=True)
        status, output, took = run(pytest_command(cassettes), echo=True)
        if status != 0:
            print(f"\nDemo failed: the offline replay exited with status {status}.")
            return status or 1

        sys.path.insert(0, str(EXAMPLES))
        from invoice_app.routes import load_routes

        routes = load_routes()
        models = sum(len(chain) for chain in routes.values())
        print(
            f"\nDemo passed: {count('passed', output)} tests recorded against the emulator, then replayed offline "
            f"with no key in {took:.1f} s ({len(routes)} routes, {models} route models, every fallback fault "
            f"included). The committed cassettes of these tests are in cassettes/examples/."
        )
        return 0
    finally:
        if args.keep:
            print(f"Cassettes kept in {cassettes}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
