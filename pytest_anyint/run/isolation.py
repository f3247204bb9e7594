"""What the plugin guarantees the whole session, not only its route cases: nothing leaves the
machine in replay or under ``--anyint-emulator``, and no key reaches a log handler, a warning
summary or a report.

pytest glue over plain parts (``netguard`` for sockets, ``cassettes.scrub_text`` for the key).
Everything here is switched on once, when the session first needs the plugin (an ``--anyint-*``
option at configure, or the first route marker at collection), and costs nothing per test
beyond one hook that looks whether the guard refused something.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import netguard

if TYPE_CHECKING:
    from .session import AnyIntSession

REPLAY_WHY = (
    "in replay mode (no --anyint-record) nothing leaves the machine: only loopback, recorded gateway "
    "answers and injected faults"
)
EMULATOR_WHY = (
    "under --anyint-emulator nothing leaves the machine: the gateway is served by the emulator on "
    "loopback, and every other host is refused"
)
#: The AnyInt gateway's documented hosts: under --anyint-emulator the app's own client reaching
#: any of them (or the configured gateway) is served by the emulator instead.
GATEWAY_HOSTS = ("gateway.api.anyint.ai", "api.anyint.ai")

_STATE: pytest.StashKey[_Isolation] = pytest.StashKey()


# --------------------------------------------------------------------------- options


def stream_timeout(config: pytest.Config) -> float:
    """``anyint_stream_timeout`` as seconds; a usage error (one line) for anything but a positive number."""
    raw = str(config.getini("anyint_stream_timeout")).strip()
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise pytest.UsageError(
            f"ini option anyint_stream_timeout = {raw!r}: expected a number of seconds greater than 0 "
            f"(e.g. anyint_stream_timeout = 60)"
        )
    return value


def allowed_hosts(config: pytest.Config) -> list[str]:
    hosts = [str(h) for h in config.getini("anyint_allow_hosts")] + list(config.getoption("--anyint-allow-host") or [])
    for host in hosts:
        problem = netguard.check_allowed(host)
        if problem is not None:
            raise pytest.UsageError(f"{netguard.ALLOW_OPTION} / ini option {netguard.ALLOW_INI}: {problem}")
    return hosts


_REPORT_OPTIONS = (("--anyint-report", "report.json"), ("--anyint-report-md", "report.md"), ("--anyint-html", "report.html"))


def check_options(config: pytest.Config) -> None:
    """Every ini option and report path the plugin reads, checked once at configure: one line each."""
    if str(config.getini("anyint_stream_timeout")).strip() != "60":
        stream_timeout(config)
    allowed_hosts(config)
    cassette_dir = config.rootpath / str(config.getini("anyint_cassette_dir"))
    if cassette_dir.exists() and not cassette_dir.is_dir():
        raise pytest.UsageError(
            f"ini option anyint_cassette_dir = {config.getini('anyint_cassette_dir')!r}: {cassette_dir} is a file; "
            f"expected a folder for the cassettes"
        )
    for option, example in _REPORT_OPTIONS:
        target = config.getoption(option)
        if not target:
            continue
        path = Path(target)
        if path.is_dir() or str(target).endswith(("/", os.sep)):
            raise pytest.UsageError(f"{option}={target}: is a folder; expected a file path, e.g. {option}={path / example}")
        parent = next((p for p in path.absolute().parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise pytest.UsageError(f"{option}={target}: {parent} is a file, so no report can be written below it")


# --------------------------------------------------------------------------- the session state


class _Isolation:
    """What this module changed in the process, to undo at unconfigure."""

    def __init__(self) -> None:
        self.guard = False
        self.factory: _ScrubbingFactory | None = None
        self.environ: dict[str, str | None] = {}
        self.hooks: _Hooks | None = None


def _state(config: pytest.Config) -> _Isolation:
    state = config.stash.get(_STATE, None)
    if state is None:
        state = config.stash[_STATE] = _Isolation()
    return state


#: What the session's report wrapper runs first on each test report (item, call, report).
ReportAmender = Callable[[pytest.Item, "pytest.CallInfo[None]", pytest.TestReport], None]


def is_xdist_controller(config: pytest.Config) -> bool:
    """The xdist controller runs no test; its workers (own processes) set themselves up."""
    return not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") not in (None, "no")


def activate(
    config: pytest.Config, session: AnyIntSession, amend_report: ReportAmender | None = None
) -> None:
    """The session uses the plugin: scrub every log record and warning, and guard the network where due.

    ``amend_report(item, call, report)`` runs first in the session's one test-report wrapper
    (each wrapper costs every test of the session three generator round trips)."""
    state = _state(config)
    if state.hooks is not None:
        return

    def secrets() -> tuple[tuple[str, ...], str]:
        found = session.secrets()
        return (found, session.key_placeholder) if found else ((), "")

    state.factory = _install_factory(secrets)
    state.hooks = _Hooks(secrets, amend_report)
    config.pluginmanager.register(state.hooks, "anyint-isolation")
    emulated = bool(config.getoption("--anyint-emulator"))
    if emulated or session.options.record_mode == "none":
        netguard.install(EMULATOR_WHY if emulated else REPLAY_WHY, allowed_hosts(config), _gateway_advice(session, emulated))
        state.guard = True


def _gateway_advice(session: AnyIntSession, emulated: bool) -> Callable[[str], str | None]:
    """What to say when the refused host is the gateway itself: allowing it would reach the live gateway."""

    def advice(host: str) -> str | None:
        hosts = set(GATEWAY_HOSTS)
        if session._config is not None:  # noqa: SLF001 - never load the config from inside a socket call
            from .context import origin_of

            hosts.add(origin_of(session._config.base_url).split("://", 1)[1].rsplit(":", 1)[0])  # noqa: SLF001
        if host not in hosts:
            return _provider_advice(host)
        if emulated:
            return (
                f"{host} is the AnyInt gateway, and only httpx and httpx2 clients are redirected to the emulator "
                f"(urllib, requests and aiohttp are not): use one of them, or the emulator's URL in $ANYINT_BASE_URL"
            )
        return (
            f"{host} is the AnyInt gateway, whose answers only route-marked tests replay, through httpx or httpx2 "
            f"clients (urllib, requests and aiohttp are not intercepted): mark the test with "
            f'@pytest.mark.route("<label>") and build the client from anyint_route or anyint_gateway'
        )

    return advice


def _provider_advice(host: str) -> str | None:
    """What to say when the refused host is a provider's own, where an official SDK goes when the
    client is built without a base URL: allowing it would send the app's requests, and the key,
    past the gateway."""
    from ..families import FAMILIES

    for family in FAMILIES.values():
        if family.sdk_default is not None and family.sdk_default[1] == host:
            return (
                f"{host} is where the {family.sdk_default[0]} SDK sends requests when its client is built without "
                f"a base URL, straight to the provider, past the AnyInt gateway (with the key): do not allow it; "
                f"build the client on the gateway with **anyint_gateway.sdk_kwargs({family.name!r}), "
                f"or base_url=anyint_route.base_url in a route-marked test"
            )
    return None


def set_up_emulator(config: pytest.Config, session: AnyIntSession) -> None:
    """``--anyint-emulator``: the app's settings point at the emulator, and its gateway host is served there.

    ``ANYINT_BASE_URL`` is set to the emulator, and the configured key variable to the emulator's
    key (a placeholder, also when a real key is set in the shell); both are restored at the end of
    the session. The anyint.yaml
    was loaded before, so cassettes keep the configured gateway's address.
    """
    if is_xdist_controller(config):
        return
    from ..config import BASE_URL_ENV
    from . import interceptor
    from .context import origin_of

    loaded = session.config
    emulator = session.start_emulator()
    state = _state(config)
    _set_env(state, BASE_URL_ENV, emulator.url)
    _set_env(state, loaded.api_key_env, emulator.api_key)  # a placeholder: a real key stays unused
    hosts = {origin_of(loaded.base_url).split("://", 1)[1].rsplit(":", 1)[0], *GATEWAY_HOSTS}
    interceptor.install()
    interceptor.redirect_to_emulator(hosts, emulator.url)


def _set_env(state: _Isolation, name: str, value: str) -> None:
    state.environ.setdefault(name, os.environ.get(name))
    os.environ[name] = value


def deactivate(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    if state.guard:
        netguard.uninstall()
        state.guard = False
    if state.factory is not None:
        _remove_factory(state.factory)
        state.factory = None
    if state.environ:
        from . import interceptor

        interceptor.redirect_to_emulator((), None)
        for name, value in state.environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        state.environ = {}
    if state.hooks is not None:
        config.pluginmanager.unregister(state.hooks)
        state.hooks = None


# --------------------------------------------------------------------------- log records


class _ScrubbingFactory:
    """A LogRecord factory that scrubs message, exception text and stack before any handler sees them.

    A factory (not a handler filter) because handlers come and go (pytest's live log, ``--log-file``,
    caplog, the app's own): the record is clean from the moment it exists, whoever formats it.
    """

    def __init__(self, previous: Callable[..., logging.LogRecord], secrets: Callable[[], tuple[tuple[str, ...], str]]) -> None:
        self.previous = previous
        self.secrets = secrets
        #: False once its session ended: it then only passes records through (another factory may wrap it).
        self.active = True

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        if self.active:
            keys, placeholder = self.secrets()
            if keys:
                scrub_record(record, keys, placeholder)
        return record


def _install_factory(secrets: Callable[[], tuple[tuple[str, ...], str]]) -> _ScrubbingFactory:
    old = logging.getLogRecordFactory()
    while isinstance(old, _ScrubbingFactory) and not old.active:  # one an earlier session left inert: unwrap it
        old = old.previous
    factory = _ScrubbingFactory(old, secrets)
    logging.setLogRecordFactory(factory)
    return factory


def _remove_factory(factory: _ScrubbingFactory) -> None:
    factory.active = False
    if logging.getLogRecordFactory() is factory:
        logging.setLogRecordFactory(factory.previous)
    # else: a factory installed later wraps ours; ours stays in its chain, inert


def scrub_record(record: logging.LogRecord, secrets: tuple[str, ...], placeholder: str) -> None:
    from ..cassettes import scrub_text

    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken log call stays the logging module's business
        message = None
    if message is not None:
        scrubbed = scrub_text(message, secrets, placeholder)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        scrubbed = scrub_text(text, secrets, placeholder)
        if scrubbed != text:
            record.exc_text = scrubbed  # formatters use it as it is
    if record.stack_info:
        record.stack_info = scrub_text(record.stack_info, secrets, placeholder)


_SHORTEST_PART = 6  # a key's start or end shorter than this next to "..." is left alone


def scrub_truncated(text: str, secrets: tuple[str, ...], placeholder: str) -> str:
    """The key as pytest's assertion messages shorten a long value: ``start...end`` (``'live-S3cr...x9x9'``).

    Whole forms are the scrubber's (cassettes.scrub_text); this removes what is left of a key cut
    in the middle, which no whole-form search finds.
    """
    if "..." not in text:
        return text
    for secret in secrets:
        if len(secret) < 2 * _SHORTEST_PART:
            continue
        head = secret[:_SHORTEST_PART]
        start = text.find(head)
        while start >= 0:
            size = _SHORTEST_PART
            while size < len(secret) and start + size < len(text) and text[start + size] == secret[size]:
                size += 1
            cut = start + size
            if text.startswith("...", cut):
                after = cut + 3
                tail = next((n for n in range(len(secret) - 1, 0, -1) if text.startswith(secret[-n:], after)), 0)
                text = text[:start] + placeholder + text[after + tail :]
                start = text.find(head, start + len(placeholder))
            else:
                start = text.find(head, start + 1)
    return text


# --------------------------------------------------------------------------- hooks


class _Hooks:
    """Registered once the session uses the plugin."""

    def __init__(
        self, secrets: Callable[[], tuple[tuple[str, ...], str]], amend_report: ReportAmender | None
    ) -> None:
        self.secrets = secrets
        self.amend_report = amend_report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """A test (or fixture) the guard refused fails with the refusal line, also when the app
        swallowed the exception; its traceback through an HTTP library says nothing more."""
        report = yield
        if self.amend_report is not None:
            self.amend_report(item, call, report)
        refusals = netguard.take_refusals()
        if refusals and report.outcome in ("passed", "failed"):
            report.outcome = "failed"
            report.longrepr = "\n".join(line if item.nodeid in line else f"{item.nodeid}: {line}" for line in refusals)
        elif report.longrepr is not None and not isinstance(report.longrepr, tuple):
            keys, placeholder = self.secrets()
            if keys:
                text = str(report.longrepr)
                scrubbed = scrub_truncated(text, keys, placeholder)
                if scrubbed != text:
                    report.longrepr = scrubbed
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: Any) -> None:
        netguard.take_refusals()  # a refusal while importing a module is that collection error's, not a test's
        keys, placeholder = self.secrets()
        if keys:
            from ..cassettes import scrub_report

            scrub_report(report, keys, placeholder)

    @pytest.hookimpl(tryfirst=True)
    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str, location: Any) -> None:
        """Scrub a warning before the summary (or an xdist worker's message to the controller) shows it."""
        keys, placeholder = self.secrets()
        if not keys:
            return
        from ..cassettes import scrub_text

        message = warning_message.message
        text = str(message)
        scrubbed = scrub_text(text, keys, placeholder)
        if scrubbed != text:
            category = type(message) if isinstance(message, Warning) else UserWarning
            try:
                warning_message.message = category(scrubbed)
            except Exception:  # noqa: BLE001 - a warning class with its own constructor
                warning_message.message = UserWarning(scrubbed)
        if isinstance(warning_message.line, str):
            warning_message.line = scrub_text(warning_message.line, keys, placeholder)
