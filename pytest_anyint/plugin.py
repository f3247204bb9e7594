"""pytest glue: options, markers, fixtures and hooks. The engine lives in plain modules.

Nothing heavy is imported here: a session that uses no route marker and no ``--anyint-*`` option
pays for this module and nothing else.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from .options import ANYINT_OPTIONS, add_options

if TYPE_CHECKING:
    from pathlib import Path

    from .calls import CallTrail
    from .config import AnyIntConfig
    from .emulator.server import Emulator
    from .run.cases import Gateway, RouteCase, RouteTarget, Scenario
    from .run.context import CaseContext, FaultPlan
    from .run.session import AnyIntSession

# Typed by annotation, not by subscripting StashKey: the annotation costs nothing at import.
_SESSION: pytest.StashKey[AnyIntSession] = pytest.StashKey()
_CONTEXT: pytest.StashKey[CaseContext] = pytest.StashKey()
_CASSETTE: pytest.StashKey[Path] = pytest.StashKey()  # an item's cassette path, worked out once at collection
_PLUGIN_LINES: pytest.StashKey[list[str]] = pytest.StashKey()  # failed checks of a test whose body failed too


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser, pace=_pace)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        'route(label, *, models="all", faults=None): run the test once per model of the anyint.yaml route '
        '(or once per fault on the primary with faults="policy" or a list)',
    )
    config.pluginmanager.register(_OutcomeRecorder(config), "anyint-outcomes")
    config.pluginmanager.register(_session_fixtures(config), "anyint-session-fixtures")
    if config.getoption("--anyint-list-cassettes"):  # pytest-anyint prune / check --unused
        from .run.listing import CassetteLister

        config.pluginmanager.register(CassetteLister(config.getoption("--anyint-list-cassettes"), _cassette_path))
    used = _explicitly_used(config)
    if used or config.getini("anyint_stream_timeout") != "60" or config.getini("anyint_allow_hosts"):
        from .run.isolation import check_options

        check_options(config)  # every ini option and report path: one line for a bad value
    if used:
        session = _session(config)
        try:
            session.config  # noqa: B018 - fail fast, as one line, on a bad anyint.yaml
        except Exception as exc:  # ConfigError
            raise pytest.UsageError(str(exc)) from None
        if config.getoption("--anyint-emulator"):
            from .run.isolation import set_up_emulator

            set_up_emulator(config, session)
    if config.getoption("--anyint-baseline") or config.getoption("--anyint-baseline-tolerance"):
        from .report.baseline import check_options as check_baseline_options

        problem = check_baseline_options(
            config.getoption("--anyint-baseline"), config.getoption("--anyint-baseline-tolerance")
        )
        if problem:
            raise pytest.UsageError(problem)
    if config.getoption("--anyint-max-age"):
        from .run.age import parse_max_age

        try:
            parse_max_age(config.getoption("--anyint-max-age"))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """The Models API check: once per session, on the xdist controller (never on workers)."""
    config = session.config
    recording = (config.getoption("--anyint-record") or "none") != "none"
    if recording and not config.getoption("--anyint-emulator") and not hasattr(config, "workerinput"):
        from .config import ConfigError

        problem: str | None = None
        try:  # a missing key is one session error, not the same failure in every route test
            _session(config).api_key()
        except ConfigError as exc:
            problem = str(exc)
        if problem is not None:
            raise pytest.UsageError(problem)
    enabled = config.getoption("--anyint-check-models")
    if enabled is None:
        enabled = recording
    if not enabled or hasattr(config, "workerinput"):
        return
    from .run.models_check import session_check

    problems = session_check(_session(config))
    if problems:
        raise pytest.UsageError("\n".join(problems))




def _explicitly_used(config: pytest.Config) -> bool:
    return any(config.getoption(name) not in (None, False) for name in ANYINT_OPTIONS)


def _pace(text: str) -> float:
    from .cassettes.timing import pace_factor

    return pace_factor(text)


def _session(config: pytest.Config) -> AnyIntSession:
    session = config.stash.get(_SESSION, None)
    if session is None:
        from .run.isolation import activate, stream_timeout
        from .run.session import AnyIntSession, SessionOptions
        from .settings import from_pytest

        project = from_pytest(config)  # the same resolver as every pytest-anyint command
        options = SessionOptions(
            rootdir=config.rootpath,
            record_mode=config.getoption("--anyint-record") or "none",
            config_path=str(project.config_path),
            cassette_dir=str(project.cassette_dir),
            contracts_mode=config.getoption("--anyint-contracts") or "fail",
            contracts_dirs=tuple(str(p) for p in project.contracts_dirs),
            stream_timeout_s=stream_timeout(config),
            pace=config.getoption("--anyint-pace") or 0.0,
            use_emulator=bool(config.getoption("--anyint-emulator")),
            drift_mode=config.getoption("--anyint-drift") or "fail",
            cache_dir=_cache_dir(config),
            max_age=config.getoption("--anyint-max-age") or None,
            max_age_fail=bool(config.getoption("--anyint-max-age-fail")),
        )
        session = AnyIntSession(options)
        config.stash[_SESSION] = session
        activate(config, session, _amend_report)  # from here on: the network guard and log scrubbing (isolation.py)
    return session


def _cache_dir(config: pytest.Config) -> Path | None:
    """pytest's cache folder for parsed cassettes (None under ``-p no:cacheprovider`` or read-only)."""
    cache = getattr(config, "cache", None)
    if cache is None:
        return None
    try:
        return cache.mkdir("anyint")
    except OSError:
        return None


def pytest_unconfigure(config: pytest.Config) -> None:
    if _RUNNING and _RUNNING[0].config is config:
        _RUNNING.clear()  # an ended run's items are not kept alive (pytester runs many in one process)
    session = config.stash.get(_SESSION, None)
    if session is not None:
        from .run.isolation import deactivate

        deactivate(config)
        session.stop()


# --------------------------------------------------------------------------- parametrization


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    markers = list(metafunc.definition.iter_markers("route"))
    if not markers:
        return
    where = metafunc.definition.nodeid
    if len(markers) > 1:
        pytest.fail(f"{where}: has {len(markers)} route markers; a test runs one route", pytrace=False)
    marker = markers[0]
    if len(marker.args) != 1 or not isinstance(marker.args[0], str):
        pytest.fail(f'{where}: @pytest.mark.route takes one route label, e.g. @pytest.mark.route("extract")', pytrace=False)
    unknown = set(marker.kwargs) - {"models", "faults"}
    if unknown:
        pytest.fail(f"{where}: @pytest.mark.route got unknown option(s) {', '.join(sorted(unknown))}; it takes models= and faults=", pytrace=False)
    from .config import ConfigError
    from .run.cases import cases_for

    session = _session(metafunc.config)
    problem: str | None = None
    try:
        cases = cases_for(session.config, marker.args[0], marker.kwargs.get("models", "all"), marker.kwargs.get("faults"))
    except ConfigError as exc:
        problem = f"{where}: {exc}"
    if problem is not None:  # failed outside the except block, so no "during handling" noise
        pytest.fail(problem, pytrace=False)
    if "_anyint_case" not in metafunc.fixturenames:
        # No test asks for the case: naming it lets pytest parametrize it, and pytest drops it from
        # the items' fixtures again (it asks no one for it), so no test sets up a fixture for it.
        metafunc.fixturenames.append("_anyint_case")
    metafunc.parametrize("_anyint_case", cases, ids=[case.id for case in cases], indirect=True)
    # Route cases run by hooks, not by a fixture: a fixture is pytest's dearest per-test cost, about
    # 0.17 million instructions (``benchmarks/instructions.py``). A session without route cases
    # never registers them.
    plugins = metafunc.config.pluginmanager
    if not plugins.has_plugin("anyint-case-opener"):
        plugins.register(_CaseOpener(), "anyint-case-opener")


# --------------------------------------------------------------------------- the case of a test


#: The test whose fixtures pytest is setting up (``pytest_runtest_setup``) or calling: the one the
#: case fixtures read. A fixture that asks for ``request`` costs every test three fixture
#: definitions pytest builds for it, each with an ``inspect.signature`` call: a tenth of what the
#: plugin adds to a replayed test (``benchmarks/instructions.py``).
_RUNNING: list[pytest.Item] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _RUNNING[:] = [item]


class _CaseOpener:
    """Runs a route test's case (cassette, faults, checks) where an autouse fixture would, without
    one: after the fixtures of wider scope (the emulator, clients) and before the test's
    function-scoped ones, so the calls a fixture makes are the case's; at the end of the set-up
    when there are none. Its close is the item's first finalizer, so it runs after every
    function-scoped fixture's teardown.

    A case that cannot run (a broken cassette, a missing key) fails the set-up with its one line,
    whatever the fixtures set up after it did: raising inside ``pytest_fixture_setup`` would leave
    pytest's fixture unfinished for the next test.
    """

    def __init__(self) -> None:
        self.pending: pytest.Item | None = None
        self.problem: str | None = None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Wrap the transports before the first fixture makes a client: the clients made from
        here on load no CA bundle unless they really go to the network (``run.lazy_pools``)."""
        if not session.config.option.collectonly:
            from .run import interceptor

            interceptor.install()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        callspec = getattr(item, "callspec", None)
        self.pending = item if callspec is not None and "_anyint_case" in callspec.params else None
        self.problem = None
        try:
            yield
        except (Exception, pytest.fail.Exception, pytest.skip.Exception):
            if self.problem is None:  # a fixture's own error: the case never opened, or opened fine
                raise
        finally:
            pending, self.pending = self.pending, None
        if pending is not None and self.problem is None:
            self.problem = _open_case(pending)
        problem, self.problem = self.problem, None
        if problem is not None:
            pytest.fail(problem, pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any], request: Any) -> Generator[None, object, object]:
        if self.pending is not None and fixturedef.scope == "function":
            item, self.pending = self.pending, None
            self.problem = _open_case(item)
        return (yield)


def _open_case(item: pytest.Item) -> str | None:
    """Open the item's case; the one line that says why it cannot run, or None."""
    from .cassettes import CassetteError
    from .config import ConfigError
    from .run.naming import command_id
    from .run.session import CaseRefused

    case = item.callspec.params["_anyint_case"]  # type: ignore[attr-defined]
    session = _session(item.config)
    try:
        context = session.open_case(
            case, nodeid=item.nodeid, cassette_path=_cassette_path(item, case), command_id=command_id(item)
        )
    except (ConfigError, CassetteError, CaseRefused) as exc:
        return str(exc)
    item.stash[_CONTEXT] = context
    env_name = session.config.api_key_env
    placeholder_set = not session.live and env_name not in os.environ
    if placeholder_set:
        os.environ[env_name] = session.api_key()  # apps that read the key from the environment run keyless

    def close() -> None:
        if placeholder_set:
            os.environ.pop(env_name, None)
        if item.stash.get(_CONTEXT, None) is context:  # the call phase never ran
            del item.stash[_CONTEXT]
            late = session.close_case(context, passed=None)
            for message in late.warnings:
                item.warn(pytest.PytestWarning(message))
            if late.problems:  # e.g. calls made by a fixture before a skip: a failed check still fails
                pytest.fail("\n".join(late.problems), pytrace=False)

    item.addfinalizer(close)  # before any function-scoped fixture's: so it runs after their teardowns
    return None


@pytest.fixture
def _anyint_case() -> CaseContext | None:
    """The route case's parameter slot (``pytest_generate_tests`` parametrizes it indirectly); the
    case opener runs the case, so no test sets this fixture up. Asked for, it gives the running
    case's context, or None for a test without a route marker."""
    return _RUNNING[0].stash.get(_CONTEXT, None) if _RUNNING else None


_CASSETTE_DIR: pytest.StashKey[tuple[str, Path]] = pytest.StashKey()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Never walk the cassette folder for tests: it holds one folder per test and route, and each
    folder costs pytest's collection hooks (about a third of a millisecond per cassette).

    Skipped only when it is a folder of its own below the rootdir with no Python file at its top
    (so ``anyint_cassette_dir = tests`` keeps its tests).
    """
    skip = config.stash.get(_CASSETTE_DIR, None)
    if skip is None:
        path = config.rootpath / str(config.getini("anyint_cassette_dir"))
        skip = config.stash[_CASSETTE_DIR] = (path.name, path)
    if collection_path.name != skip[0] or collection_path != skip[1]:
        return None
    path = skip[1]
    try:
        if path == config.rootpath or not path.is_dir() or any(p.suffix == ".py" for p in path.iterdir()):
            return None
    except OSError:
        return None
    return True


def _cassette_path(item: pytest.Item, case: RouteCase) -> Path:
    """The cassette of an item's route case (worked out once: at collection, for the clash check)."""
    path = item.stash.get(_CASSETTE, None)
    if path is None:
        from .run.naming import cassette_names

        path = item.stash[_CASSETTE] = _session(item.config).cassette_path(case, *cassette_names(item, case))
    return path


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Fail collection when two cases of a test would record into one cassette file.

    A cassette belongs to exactly one case, which is what lets xdist workers write cassettes
    without coordinating; ids that differ only in characters a file name cannot keep (``a/b`` and
    ``a_b``) or in letter case would break that, so they never reach a worker.
    """
    report = yield
    if report.passed and report.result:
        from .run.naming import cassette_clash

        clash = cassette_clash(collector.config, report.result, _cassette_path)
        if clash:
            report.outcome = "failed"
            report.longrepr = clash
            report.result = []
    return report


def _amend_report(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """Keep the key out of failure messages and captured output, whoever put it there (an SDK
    error that quotes a gateway answer, a log line emitted outside a route case), and lead a failed
    test's traceback with the plugin's own failed checks. Called from the one report wrapper the
    session registers (``run.isolation``), so a session that never uses the plugin pays nothing."""
    lines = item.stash.get(_PLUGIN_LINES, None)
    if lines is not None and call.when == "call":
        del item.stash[_PLUGIN_LINES]
        if report.failed:
            _lead_with(report, lines)
    session = item.config.stash.get(_SESSION, None)
    secrets = session.secrets() if session is not None else ()
    if session is not None and secrets:
        from .cassettes import scrub_report

        scrub_report(report, secrets, session.key_placeholder)


# None of the plugin's fixtures asks for ``request`` or ``pytestconfig`` (which asks for ``request``):
# pytest builds a new fixture definition for every ``request`` it resolves, and it resolves a
# fixture's arguments again for every test that uses it, even a session-scoped one (a client fixture
# built on anyint_gateway, say). The per-case fixtures read the running test's open case
# (``_running_case``); the session-scoped ones close over the config (``_session_fixtures``).


@pytest.fixture
def anyint_route() -> RouteTarget:
    """The ``RouteTarget`` the case runs: model, role, family, base URL, key and auth headers."""
    session, context = _running_case("anyint_route")
    return session.target(context.case)


@pytest.fixture
def anyint_calls() -> CallTrail:
    """The call trail of this test: every gateway request in order."""
    return _running_case("anyint_calls")[1].trail


@pytest.fixture
def anyint_faults() -> FaultPlan:
    """Make calls fail on the wire: ``anyint_faults.inject("gpt-5-mini", status=503)``."""
    session, context = _running_case("anyint_faults")
    return session.fault_plan(context)


@pytest.fixture
def anyint_scenario() -> Scenario | None:
    """In a fault case, the fault and whether the policy expects a fallback; None otherwise."""
    session, context = _running_case("anyint_scenario")
    return session.scenario(context.case)


def _session_fixtures(config: pytest.Config) -> types.ModuleType:
    """The session-scoped fixtures of one pytest run, bound to its config (registered as a plugin)."""

    @pytest.fixture(scope="session")
    def anyint_gateway() -> Gateway:
        """Base URLs, headers, key and SDK keyword arguments for clients built once per module or session."""
        from .config import ConfigError

        try:
            return _session(config).gateway()
        except ConfigError as exc:
            problem = str(exc)
        pytest.fail(problem, pytrace=False)

    @pytest.fixture(scope="session")
    def anyint_config() -> AnyIntConfig:
        """The loaded anyint.yaml."""
        return _session(config).config

    @pytest.fixture(scope="session")
    def anyint_emulator() -> Emulator:
        """A running emulator on loopback; route targets point at it."""
        return _session(config).start_emulator()

    fixtures = types.ModuleType("pytest_anyint.session_fixtures", _session_fixtures.__doc__)
    vars(fixtures).update(anyint_gateway=anyint_gateway, anyint_config=anyint_config, anyint_emulator=anyint_emulator)
    return fixtures


def _running_case(name: str) -> tuple[AnyIntSession, CaseContext]:
    """The running test's session and open case, for the fixture ``name``; a test without a route
    marker fails with the marker to add."""
    item = _RUNNING[0] if _RUNNING else None
    context = item.stash.get(_CONTEXT, None) if item is not None else None
    if item is None or context is None:
        pytest.fail(
            f"{item.nodeid if item is not None else 'this test'}: the {name} fixture needs a route marker, "
            f'e.g. @pytest.mark.route("extract")',
            pytrace=False,
        )
    return _session(item.config), context


# --------------------------------------------------------------------------- checks after the body


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    context = item.stash.get(_CONTEXT, None)
    if context is None:
        return (yield)
    error: BaseException | None = None
    try:
        result = yield
    except BaseException as exc:  # noqa: BLE001 - re-raised below unless the plugin has a clearer cause
        error = exc
    session = _session(item.config)
    del item.stash[_CONTEXT]
    outcome = session.close_case(context, passed=error is None)
    for message in outcome.warnings:
        item.warn(pytest.PytestWarning(message))
    if outcome.problems:
        if error is not None and not outcome.explains_error and isinstance(error, (Exception, pytest.fail.Exception)):
            # The test failed on its own too: pytest reports its traceback, led by the plugin's lines.
            item.stash[_PLUGIN_LINES] = outcome.problems
            raise error
        raise pytest.fail.Exception("\n".join(outcome.problems), pytrace=False) from None
    if error is not None:
        raise error
    return result


def _lead_with(report: pytest.TestReport, lines: list[str]) -> None:
    """Put the plugin's failed checks before the test's own traceback in a failed call report."""
    from _pytest._code.code import ExceptionChainRepr, ReprEntry, ReprFileLocation, ReprTraceback

    intro = "The test itself also failed:"
    longrepr = report.longrepr
    if isinstance(longrepr, ExceptionChainRepr):
        entry = ReprEntry(lines=list(lines), reprfuncargs=None, reprlocals=None, reprfileloc=None, style="value")
        combined = ExceptionChainRepr([(ReprTraceback([entry], None, "value"), None, intro), *longrepr.chain])
        crash = longrepr.reprcrash
        if crash is not None:  # the short summary line names the plugin's check first
            combined.reprcrash = ReprFileLocation(crash.path, crash.lineno, lines[0])
        combined.sections = list(longrepr.sections)
        report.longrepr = combined
    else:
        report.longrepr = "\n".join(lines) + f"\n\n{intro}\n{longrepr}"


# --------------------------------------------------------------------------- reports


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is not None and session.results:
        from .report.outputs import terminal_summary

        terminal_summary(session, terminalreporter)
        if session.options.record_mode == "verify":
            from .run.verify import summary_line

            terminalreporter.write_line(summary_line(session.results))


class _OutcomeRecorder:
    """pytest's final outcome per test (xfail and teardown errors included), so reports agree with it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._note: Callable[[AnyIntSession, pytest.TestReport], None] | None = None
        #: Whether a route test's report was seen here yet (an xdist controller then warms up).
        self._route_seen = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        session = self.config.stash.get(_SESSION, None)
        if session is None and not self._route_seen and "route" in report.keywords:
            self._route_seen = True
            from .run.isolation import is_xdist_controller

            if is_xdist_controller(self.config):
                _warm_controller(self.config)
        if session is not None:
            if self._note is None:  # imported once: this runs three times per test
                from .report.outputs import note_outcome

                self._note = note_outcome
            self._note(session, report)


def _warm_controller(config: pytest.Config) -> None:
    """Import what the xdist controller's summary needs while the workers still run tests.

    The controller merges the workers' results and prints the summary after the last test, when
    nothing else runs: the imports would add their ~15 ms to the wall time of the run. During the
    run the controller mostly waits for reports. Nothing is created or activated here (no network
    guard in the controller while workers may still be started); ``anyint.yaml`` is read by the
    session, through the parse cache, as before.
    """
    from . import settings  # noqa: F401
    from .report import outputs, text  # noqa: F401
    from .run import isolation, session  # noqa: F401


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: take over a finished worker's route results for the merged reports."""
    output = getattr(node, "workeroutput", None) or {}
    if "anyint" in output:
        from .report.outputs import merge_worker

        merge_worker(_session(node.config), output["anyint"])


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    anyint = session.config.stash.get(_SESSION, None)
    if anyint is None:
        return
    from .report.outputs import finish_session

    finish_session(anyint, session)
