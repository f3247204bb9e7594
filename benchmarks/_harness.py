"""Shared pieces of the benchmarks: subprocess runs, interleaved repeats, environments, tables.

Every benchmark runs the setups it compares in separate pytest processes with plugin autoloading
off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``) and exactly one plugin loaded with ``-p``, so no setup
pays for another tool's autouse fixtures and pytest-recording and cassetter (which both declare
``--record-mode``) never meet. Setups are run in turns (A B C A B C ...), several rounds, and the
median is reported: the machine is small and noisy, and interleaving spreads the noise evenly.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: The cassetter version of its venv (``benchmarks/.venv-cassetter``, see ``tool_venv``).
CASSETTER_VERSION = os.environ.get("BENCH_CASSETTER_VERSION", "0.16.1")

#: A pytest plugin, placed in every generated suite as conftest.py (identical for every setup):
#: it times the run-test loop (every test's setup, call and teardown, fixtures and plugin hooks
#: included; interpreter start-up and collection excluded) and sums each test's phase durations.
#: It also marks where the whole process is at each stage (``BENCH_T0``: when the parent started
#: it) and times the full garbage collections, written at exit for ``Run.marks``.
TIMING_CONFTEST = '''
import atexit, gc, json, os, time
import pytest

_durations = {}
_starts = []
_T0 = float(os.environ.get("BENCH_T0") or 0.0)
_marks = {"started": time.time() - _T0}  # interpreter, pytest and the -p plugin are up
_full_gc = [0, 0.0, 0.0]  # count, seconds, start of the one running


def _gc_timer(phase, info):
    if info["generation"] == 2:
        if phase == "start":
            _full_gc[2] = time.perf_counter()
        else:
            _full_gc[0] += 1
            _full_gc[1] += time.perf_counter() - _full_gc[2]


gc.callbacks.append(_gc_timer)


def _mark(name):
    _marks.setdefault(name, time.time() - _T0)


def _write_phases():
    out = os.environ.get("BENCH_PHASES")
    if out:
        with open(out, "w") as handle:
            json.dump({"marks": _marks, "full_gc": _full_gc[:2]}, handle)


atexit.register(_write_phases)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    _mark("collected")


def pytest_runtest_logstart(nodeid, location):
    _starts.append(time.perf_counter())


def pytest_runtest_logfinish(nodeid, location):
    _mark("first test")


def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        _mark("tests")
        out = os.environ.get("BENCH_TIMING")
        if out:
            with open(out, "w") as handle:
                gaps = [b - a for a, b in zip(_starts, _starts[1:])]
                json.dump({"loop_s": time.perf_counter() - start, "collected": session.testscollected,
                           "failed": session.testsfailed, "durations": _durations, "gaps": gaps}, handle)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    _mark("reported")
'''

#: The stages ``phase_table`` splits a process into: (name, from mark, to mark in ``Run.marks``).
PHASES = (
    ("start-up: interpreter, pytest, the -p plugin", None, "started"),
    ("configure and collect", "started", "collected"),
    ("first test (one-off imports and loads)", "collected", "first test"),
    ("the other tests", "first test", "tests"),
    ("summary, reports, unconfigure", "tests", "reported"),
    ("interpreter exit", "reported", "end"),
)


@dataclass
class Setup:
    """One competing configuration: a suite directory, a Python, and the pytest arguments."""

    name: str
    suite: Path
    python: str = sys.executable
    args: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    expect_tests: int | None = None
    #: Cold, as on CI's fresh clone: every run gets a fresh copy of ``suite`` (no ``.pytest_cache``,
    #: so no parse cache; no ``__pycache__`` of the tests), removed afterwards. Pair it with
    #: ``-p no:cacheprovider`` in ``args`` (``COLD_ARGS``) so nothing is cached during the run either.
    fresh: bool = False
    #: With ``fresh``: pytest's cache stays on (no ``COLD_ARGS``), as a CI job runs on a fresh clone
    #: without a restored cache: the run writes a ``.pytest_cache`` that is thrown away.
    keeps_cache: bool = False


@dataclass
class Run:
    wall_s: float
    loop_s: float
    collected: int
    durations: dict[str, float]
    #: Start-to-start time of consecutive tests: everything one test costs, hooks and reporting included.
    gaps: list[float] = field(default_factory=list)
    #: Seconds from the process start to each stage of ``PHASES`` ("end": the process is gone), and
    #: the full garbage collections (``full_gc``: count, seconds).
    marks: dict[str, float] = field(default_factory=dict)
    full_gc: tuple[int, float] = (0, 0.0)
    #: CPU seconds (user + system) of the pytest process and the children it waited for: what the
    #: run itself costs, which other work on a busy machine moves far less than ``wall_s``.
    cpu_s: float = 0.0

    def phase_s(self, start: str | None, end: str) -> float | None:
        if end not in self.marks or (start is not None and start not in self.marks):
            return None
        return self.marks[end] - (self.marks[start] if start is not None else 0.0)

    @property
    def typical_s(self) -> float:
        """The median start-to-start time: what a test costs, a rare pause (a full garbage
        collection, a one-off import) left out."""
        return statistics.median(self.gaps[1:]) if len(self.gaps) > 1 else self.per_test_s

    @property
    def first_s(self) -> float:
        """The first test: it carries every lazy one-off (imports, config, compiled validators)."""
        return next(iter(self.durations.values()), 0.0)

    @property
    def per_test_s(self) -> float:
        """The steady cost of one test: the run-test loop without the first test, per test."""
        return (self.loop_s - self.first_s) / max(self.collected - 1, 1)

    @property
    def fixed_s(self) -> float:
        """What the run costs beyond N steady tests: start-up, imports, collection, one-offs, reports."""
        return self.wall_s - self.per_test_s * self.collected


class BenchError(RuntimeError):
    """A setup did not run cleanly; the numbers would mean nothing."""


#: pytest's cache off: the plugin's parse cache lives in pytest's cache folder, so it is off too.
COLD_ARGS = ("-p", "no:cacheprovider")


def clean_suite(suite: Path) -> Path:
    """Remove every cache a run left in ``suite`` (``.pytest_cache``, ``__pycache__``): what a fresh
    clone holds. Returns ``suite``."""
    for name in (".pytest_cache", "__pycache__"):
        for path in list(suite.rglob(name)):
            shutil.rmtree(path, ignore_errors=True)
    return suite


def fresh_copy(suite: Path) -> Path:
    """A copy of ``suite`` without its caches, next to it (same path depth, same file system)."""
    target = Path(tempfile.mkdtemp(prefix=f"{suite.name}-run-", dir=suite.parent)) / suite.name
    shutil.copytree(suite, target, ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__"))
    return target


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ANYINT_", "BENCH_"))}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as users run: compiled modules cached in __pycache__
    env.pop("PYTHONPATH", None)
    env.update(extra or {})
    return env


def run_pytest(setup: Setup, *extra: str, timing: bool = True, check: bool = True) -> Run:
    """Run the setup's suite once in a fresh process; raise BenchError unless every test passed."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as handle:
        timing_path = handle.name
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as handle:
        phases_path = handle.name
    extra_env = {"BENCH_TIMING": timing_path, "BENCH_PHASES": phases_path} if timing else {}
    env = base_env({**setup.env, **extra_env})
    cmd = [setup.python, "-m", "pytest", "-q", "--no-header", *setup.args, *extra]
    cwd = fresh_copy(setup.suite) if setup.fresh else setup.suite
    env["BENCH_T0"] = repr(time.time())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if setup.fresh:
        left = (cwd / ".pytest_cache").exists()
        shutil.rmtree(cwd.parent, ignore_errors=True)
        if left and check and not setup.keeps_cache:
            raise BenchError(f"{setup.name}: a cold run wrote .pytest_cache (is -p no:cacheprovider in its args?)")
    try:
        data = json.loads(Path(timing_path).read_text() or "{}") if timing else {}
        phases = json.loads(Path(phases_path).read_text() or "{}") if timing else {}
    finally:
        os.unlink(timing_path)
        os.unlink(phases_path)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise BenchError(f"{setup.name}: pytest exited {proc.returncode} in {setup.suite}:\n{tail}")
    if check and setup.expect_tests is not None and timing and data.get("collected") != setup.expect_tests:
        raise BenchError(f"{setup.name}: ran {data.get('collected')} tests, expected {setup.expect_tests}")
    marks = {**phases.get("marks", {}), "end": wall} if phases.get("marks") else {}
    full_gc = tuple(phases.get("full_gc") or (0, 0.0))
    return Run(wall, float(data.get("loop_s", 0.0)), int(data.get("collected", 0)), data.get("durations") or {},
               data.get("gaps") or [], marks, full_gc, cpu)  # type: ignore[arg-type]


def phase_table(results: dict[str, list[Run]], columns: Sequence[tuple[str, str]]) -> str:
    """Where each setup's whole process goes, stage by stage: medians over its rounds, in ms.
    ``columns``: (setup name, column header)."""
    names = [name for name, _ in columns]
    rows = []
    for label, start, end in PHASES:
        row = [label]
        for name in names:
            values = [v for v in (run.phase_s(start, end) for run in results[name]) if v is not None]
            row.append(f"{median(values) * 1000:.0f}" if values else "-")
        rows.append(row)
    rows.append(["whole process"] + [f"{median([r.wall_s for r in results[n]]) * 1000:.0f}" for n in names])
    rows.append(["  of which full garbage collections"] + [
        f"{median([r.full_gc[1] for r in results[n]]) * 1000:.0f} ({median([r.full_gc[0] for r in results[n]]):.0f}x)"
        for n in names
    ])
    return table(["ms (median)", *(header for _, header in columns)], rows)


def interleaved(setups: Sequence[Setup], rounds: int, *extra: str, warmup: bool = True,
                progress: Callable[[str], None] | None = None) -> dict[str, list[Run]]:
    """Each setup ``rounds`` times, in turns; a first unrecorded round warms the file cache (and,
    for a warm setup, fills its caches; a cold setup starts from a fresh copy every time)."""
    results: dict[str, list[Run]] = {s.name: [] for s in setups}
    if warmup:
        for setup in setups:
            run_pytest(setup, *extra)
    for number in range(rounds):
        for setup in setups:
            results[setup.name].append(run_pytest(setup, *extra))
        if progress:
            progress(f"round {number + 1}/{rounds} done")
    return results


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for number, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def machine() -> str:
    def version(dist: str, python: str = sys.executable) -> str:
        out = subprocess.run([python, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                             capture_output=True, text=True)
        return out.stdout.strip() or "-"

    parts = [
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}, load {os.getloadavg()[0]:.1f})",
        f"Python {platform.python_version()}",
        f"pytest {version('pytest')}",
        f"vcrpy {version('vcrpy')}",
        f"httpx {version('httpx')}",
        f"pytest-anyint {version('pytest-anyint')}",
    ]
    return ", ".join(parts)


def tool_version(dist: str, python: str = sys.executable) -> str:
    out = subprocess.run([python, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "not installed"


# --------------------------------------------------------------------------- environments


def tool_venv(name: str, pins: dict[str, str], editable: Sequence[Path] = (),
              log: Callable[[str], None] = print) -> str:
    """The Python of ``benchmarks/.venv-<name>``: only the pinned packages (and ``editable``
    projects with their own dependencies), created on first use and rebuilt when a pin moved.

    Each tool runs in an environment of its own that holds what it and the suite need and
    nothing else, so no tool pays for imports another tool's environment happens to offer
    (vcrpy, for one, imports every HTTP library it finds installed)."""
    venv = HERE / f".venv-{name}"
    python = venv / "bin" / "python"
    if python.exists():
        have = {dist: tool_version(dist, str(python)) for dist in pins}
        if have == pins:
            return str(python)
        log(f"{venv.name} is stale ({have} != {pins}); rebuilding it")
        shutil.rmtree(venv)
    log(f"creating {venv} ({', '.join(f'{d} {v}' for d, v in pins.items())}) ...")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    args = [f"{dist}=={version}" for dist, version in pins.items()]
    for project in editable:
        args += ["-e", str(project)]
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        raise BenchError(f"could not install {' '.join(args)} into {venv}:\n{proc.stderr[-2000:]}")
    return str(python)


def cassetter_python(log: Callable[[str], None] = print) -> str:
    """A venv with cassetter, and the same pytest and httpx as the dev environment."""
    return tool_venv("cassetter", {"cassetter": CASSETTER_VERSION, "pytest": tool_version("pytest"),
                                   "httpx": tool_version("httpx")}, log=log)


def vcrpy_python(log: Callable[[str], None] = print) -> str:
    """A venv with the two vcrpy-based tools, this plugin (editable: the working tree is what is
    measured) and pytest-recording, plus pytest-xdist, at the dev environment's versions."""
    pins = {dist: tool_version(dist) for dist in ("pytest", "httpx", "vcrpy", "pytest-recording", "pytest-xdist")}
    return tool_venv("vcrpy", pins, editable=[REPO], log=log)


def export_package(rev: str, target: Path) -> Path:
    """The pytest_anyint package as it was at a git revision, in ``target`` (put on PYTHONPATH)."""
    import io
    import tarfile

    proc = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "pytest_anyint"],
                          capture_output=True)
    if proc.returncode != 0:
        raise BenchError(f"git archive {rev}: {proc.stderr.decode(errors='replace').strip()}")
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        archive.extractall(target)
    return target


def has_module(name: str, python: str = sys.executable) -> bool:
    return subprocess.run([python, "-c", f"import {name}"], capture_output=True).returncode == 0


def workdir(name: str) -> Path:
    """A fresh temporary directory for the suites and cassettes of one benchmark run."""
    keep = os.environ.get("BENCH_KEEP")
    path = Path(tempfile.mkdtemp(prefix=f"anyint-bench-{name}-"))
    if not keep:
        import atexit

        atexit.register(shutil.rmtree, path, True)
    return path


def conclude(checks: Sequence[tuple[str, bool]], summary: dict[str, Any]) -> int:
    """Print each target's verdict and one JSON summary line; the exit status says if all were met."""
    for label, ok in checks:
        print(f"  {verdict(ok)}  {label}")
    print(json.dumps(summary))
    return 0 if all(ok for _, ok in checks) else 1


def run_benchmark(main: Callable[[], int]) -> None:
    """Run a benchmark's ``main``: exit 0 (targets met), 1 (missed) or 2 (the benchmark itself failed).

    SIGTERM (``run_all.py --timeout``) exits the same way as a failure, so the temporary suites
    are still removed (``workdir`` registers their removal with ``atexit``)."""
    import signal

    def _terminated(signum: int, frame: Any) -> None:
        raise BenchError("stopped (SIGTERM)")

    signal.signal(signal.SIGTERM, _terminated)
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        sys.exit(2)


def client_fixtures(floor_body_file: str, content_type: str) -> dict[str, str]:
    """The session-scoped ``client`` fixture of each setup, for its conftest.py (§13: clients are
    built once, not per test). ``floor`` builds the same client, but a MockTransport mounted for
    all URLs answers every request with the body in ``floor_body_file``."""
    return {
        "anyint": '''
@pytest.fixture(scope="session")
def client(anyint_gateway):
    import httpx

    with httpx.Client(base_url=anyint_gateway.base_url("openai"), headers=anyint_gateway.headers("openai")) as c:
        yield c
''',
        "vcr": '''
@pytest.fixture(scope="session")
def client():
    import httpx

    headers = {"Authorization": "Bearer " + os.environ["BENCH_API_KEY"]}
    with httpx.Client(base_url=os.environ["BENCH_GATEWAY_URL"] + "/openai/v1", headers=headers) as c:
        yield c
''',
        "floor": f'''
@pytest.fixture(scope="session")
def client():
    import httpx, pathlib

    body = (pathlib.Path(__file__).parent / {floor_body_file!r}).read_bytes()

    def answer(request):
        return httpx.Response(200, content=body, headers={{"content-type": {content_type!r}}})

    headers = {{"Authorization": "Bearer " + os.environ["BENCH_API_KEY"]}}
    with httpx.Client(base_url=os.environ["BENCH_GATEWAY_URL"] + "/openai/v1", headers=headers,
                      mounts={{"all://": httpx.MockTransport(answer)}}) as c:
        yield c
''',
    }
