"""A running route case's context: everything the interceptor and the verdict need, declared here.

The session fills it when a case opens (``AnyIntSession.open_case``), the interceptor adds calls,
problems and warnings while the body runs, and the verdict reads it when the case closes; no one
adds attributes to it from outside. The log capture that the fallback-log check reads lives here
too, since it belongs to the running case.
"""

from __future__ import annotations

import functools
import logging
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import cassettes
from ..calls import Call, CallTrail
from . import netguard
from .cases import RouteCase

if TYPE_CHECKING:
    from typing import TypeAlias

    from vcr.cassette import Cassette

    from ..contracts import Violation
    from ..drift.findings import DriftFinding

    #: A replaying case plays a ``PlaybackCassette``; a recording one fills vcrpy's ``Cassette``.
    CaseCassette: TypeAlias = Cassette | cassettes.PlaybackCassette

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class InterceptError(Exception):
    """Raised into the app when the plugin refuses a request; the test fails with the same message."""


# Protocols: for the type checker only (each costs a class build at import, and nothing reads them at run time).
if TYPE_CHECKING:
    class InjectedFault(Protocol):
        """What a fault plan answers a call with (``faults.plan.Fault``)."""

        @property
        def label(self) -> int | str: ...
        def respond(self, call: Call, request: Any, httpx_mod: Any) -> Any: ...

    class FaultPlan(Protocol):
        """The case's fault plan (``faults.plan.FaultPlan``): answers a call first, or None."""

        def take(self, call: Call) -> InjectedFault | None: ...

    class ContractChecker(Protocol):
        """The case's contract gate (``contracts``' ``ContractGate``): checks each request and answer."""

        violations: list[Violation]

        def check_request(self, call: Call, method: str, path: str) -> str | None: ...
        def check_response(
            self, call: Call, *, method: str, path: str, status: int, content_type: str | None, body: bytes,
            cassette: str | None, interaction: int | None, parsed: Any = None, events: Any = None,
        ) -> None: ...
        def outcome(self) -> tuple[list[str], list[str]]: ...


class LogCapture(logging.Handler):
    """Every log record emitted while a case runs, for the fallback-log check."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._old_factory: Callable[..., logging.LogRecord] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def start(self, secrets: Sequence[str] = (), placeholder: str = "<ANYINT_API_KEY>") -> LogCapture:
        # The logging configuration is the user's: records below its level are never made, so an app
        # must log its fallbacks at a level that gets through (WARNING does by default).
        self.records = []  # a capture is reused case after case (a Handler costs a lock to build)
        logging.getLogger().addHandler(self)
        if secrets:
            self._old_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_scrubbing_factory(self._old_factory, tuple(secrets), placeholder))
        return self

    def stop(self) -> None:
        logging.getLogger().removeHandler(self)
        if self._old_factory is not None:
            logging.setLogRecordFactory(self._old_factory)
            self._old_factory = None


def _scrubbing_factory(
    factory: Callable[..., logging.LogRecord], secrets: tuple[str, ...], placeholder: str
) -> Callable[..., logging.LogRecord]:
    """Log records with the key replaced, whoever logs (httpx logs request URLs, query keys included)."""

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken log call stays the logging module's business
            return record
        scrubbed = cassettes.scrub_text(message, secrets, placeholder)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return record

    return make


# A plain class: a case's context is never compared or printed, and a dataclass's generated
# __init__ costs an exec at import on Python 3.11 (every process pays it, even one that never
# opens a case).
class CaseContext:
    """What one running route case brings to the interceptor, and what the verdict reads back."""

    def __init__(
        self,
        test_id: str,
        route_label: str,
        chain: tuple[str, ...],
        case_model: str | None,
        mode: str,
        cassette: CaseCassette,
        cassette_display: str,
        gateway_origins: frozenset[str],
        record_command: str,
        case: RouteCase,
        cassette_path: Path,
        canonical_origin: str | None = None,
        rewrite_command: str | None = None,
        secrets: tuple[str, ...] = (),
        key_placeholder: str = "<ANYINT_API_KEY>",
        stream_timeout_s: float = 60.0,
        pace: float = 0.0,
        faults: FaultPlan | None = None,
        contracts: ContractChecker | None = None,
        price: Callable[[Call], float | None] | None = None,
        trail: CallTrail | None = None,
        problems: list[str] | None = None,
        warnings: list[str] | None = None,
        auth_mode: str = "fail",
        log_capture: LogCapture | None = None,
        verify: bool = False,
        drift_mode: str = "fail",
        drift: list[DriftFinding] | None = None,
        verify_notes: list[str] | None = None,
    ) -> None:
        self.test_id = test_id
        self.route_label = route_label
        self.chain = chain
        #: The model the case runs (the primary in a fault case); the first request must name it.
        self.case_model = case_model
        self.mode = mode
        self.cassette = cassette
        self.cassette_display = cassette_display
        self.gateway_origins = gateway_origins
        self.record_command = record_command
        #: The case itself (route label, model, position, fault).
        self.case = case
        #: Where the case's cassette lives (it may not exist yet).
        self.cassette_path = cassette_path
        #: The configured gateway origin; recordings made against the emulator are stored under it,
        #: so re-recording never churns a cassette with a random loopback port.
        self.canonical_origin = canonical_origin
        #: The command that re-records the test when its cassette exists but no longer matches.
        self.rewrite_command = rewrite_command
        self.secrets = secrets
        self.key_placeholder = key_placeholder
        self.stream_timeout_s = stream_timeout_s
        #: ``--anyint-pace``: replayed streams hand over their events at the recorded pace times
        #: this factor (0: at once).
        self.pace = pace
        self.faults = faults
        self.contracts = contracts
        self.price = price
        self.trail: CallTrail = CallTrail() if trail is None else trail
        self.problems: list[str] = [] if problems is None else problems
        #: One line each, shown as pytest warnings when the case closes (an undocumented auth form).
        self.warnings: list[str] = [] if warnings is None else warnings
        #: ``--anyint-contracts``: ``strict`` fails assumed auth forms, ``off`` keeps them quiet.
        self.auth_mode = auth_mode
        #: The log records of the case (started when the case opens, stopped when it closes).
        self.log_capture: LogCapture = LogCapture() if log_capture is None else log_capture
        #: ``--anyint-record=verify`` (never in a fault case): each recorded answer is also asked of
        #: the live gateway, and the live answer checked (``verify``).
        self.verify = verify
        #: ``--anyint-drift``: off skips the shape comparison of verify.
        self.drift_mode = drift_mode
        #: Shape changes verify found between live answers and their recordings.
        self.drift: list[DriftFinding] = [] if drift is None else drift
        #: One line per answer verify could not compare (a 429 that stayed), or a model rollover.
        self.verify_notes: list[str] = [] if verify_notes is None else verify_notes

    def fail(self, message: str) -> InterceptError:
        if message not in self.problems:
            self.problems.append(message)
        return InterceptError(message)

    def is_gateway(self, url: Any) -> bool:
        return origin(url) in self.gateway_origins

    def admits(self, url: Any) -> bool:
        """Whether the interceptor handles a request: gateway yes; others pass, but not off loopback in replay."""
        if self.is_gateway(url):
            return True
        refused = netguard.refusal(url.host)  # the session's guard (replay, --anyint-emulator), with its option
        if refused is not None:
            raise self.fail(f"{self.test_id}: {refused}")
        if self.mode == "none" and url.host not in LOOPBACK_HOSTS and not netguard.active():
            raise self.fail(
                f"{self.test_id}: blocked a request to {url.scheme}://{url.host}{url.path}: in replay mode no "
                f"request reaches the network (only recorded gateway answers, injected faults and loopback)"
            )
        return False


def origin(url: Any) -> str:
    """``scheme://host:port`` of an httpx URL or a URL string (the port made explicit)."""
    scheme = url.scheme if hasattr(url, "scheme") else urllib.parse.urlsplit(str(url)).scheme
    host = url.host if hasattr(url, "host") else urllib.parse.urlsplit(str(url)).hostname
    port = url.port if hasattr(url, "port") else urllib.parse.urlsplit(str(url)).port
    port = port or (443 if scheme == "https" else 80)
    return f"{scheme}://{host}:{port}"


@functools.lru_cache(maxsize=64)
def origin_of(base_url: str) -> str:
    return origin(urllib.parse.urlsplit(base_url).geturl())
