"""The session: opens and closes route cases, and gathers what every case did.

Plain Python (no pytest import), so the engine can be driven and tested without pytest; the
plugin only turns pytest's items and options into calls on ``AnyIntSession``. The checks that
judge a case live in ``verdict``, the case's state in ``context``, the cases in ``cases``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__, cassettes, parsecache
from ..calls import Call, CallTrail
from ..config import AnyIntConfig, ConfigError, RouteConfig, find_config, load_config
from ..families import FAMILIES, PLACEHOLDER_KEY
from ..results import CaseResult
from ..text import utc_stamp
from . import interceptor
from .cases import Gateway, RouteCase, RouteTarget, case_label, foreign_cassette
from .context import CaseContext, LogCapture, origin_of
from .verdict import CaseOutcome, Rules, cassette_age, judge

if TYPE_CHECKING:
    from ..contracts import ContractGate, ContractIndex
    from ..emulator.server import Emulator
    from ..report.outputs import ReportState
    from .context import CaseCassette, FaultPlan
    from .scenario import Scenario

__all__ = ["AnyIntSession", "CaseOutcome", "CaseRefused", "Gateway", "RouteCase", "RouteTarget", "Scenario", "SessionOptions"]


def __getattr__(name: str) -> Any:
    """``Scenario``, re-exported on first use (``run.scenario``): only a fault case builds one."""
    if name == "Scenario":
        from .scenario import Scenario

        return Scenario
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CaseRefused(Exception):
    """A case that cannot start (its cassette is older than ``--anyint-max-age`` with ``--anyint-max-age-fail``)."""


# --------------------------------------------------------------------------- the session


class SessionOptions:
    """The session's options, from pytest's (a plain class: never compared or printed, and a
    dataclass's generated __init__ costs an exec at import on Python 3.11)."""

    def __init__(
        self,
        rootdir: Path,
        record_mode: str = "none",
        config_path: str | None = None,
        cassette_dir: str = "cassettes",
        contracts_mode: str = "fail",
        contracts_dirs: tuple[str, ...] = (),
        stream_timeout_s: float = 60.0,
        pace: float = 0.0,
        use_emulator: bool = False,
        drift_mode: str = "fail",
        cache_dir: Path | None = None,
        max_age: str | None = None,
        max_age_fail: bool = False,
    ) -> None:
        self.rootdir = rootdir
        self.record_mode = record_mode
        self.config_path = config_path
        self.cassette_dir = cassette_dir
        self.contracts_mode = contracts_mode
        self.contracts_dirs = contracts_dirs
        self.stream_timeout_s = stream_timeout_s
        #: ``--anyint-pace``: replayed streams at the recorded pace times this factor (0: no waiting).
        self.pace = pace
        self.use_emulator = use_emulator
        self.drift_mode = drift_mode
        #: Where parsed cassettes persist between runs (pytest's cache dir); None: memory only.
        self.cache_dir = cache_dir
        #: ``--anyint-max-age`` (e.g. ``30d``): a replayed cassette older than this warns (or, with
        #: ``max_age_fail``, fails the case before its body runs); a re-recording that changed
        #: nothing is still written when the file is older than this.
        self.max_age = max_age
        self.max_age_fail = max_age_fail


class AnyIntSession:
    """Holds the configuration, the mode and what every case did; one per pytest session."""

    def __init__(self, options: SessionOptions, environ: dict[str, str] | None = None) -> None:
        self.options = options
        self.environ = os.environ if environ is None else environ
        self._config: AnyIntConfig | None = None
        self.emulator: Emulator | None = None
        self.results: list[CaseResult] = []
        #: pytest's outcome per test and the files written, kept by the report (``report.build``).
        self.report: ReportState | None = None
        parsecache.use(options.cache_dir)
        #: Per route label, what every case's contract gate shares (index, output schema, its path shown).
        self._gate_parts: dict[str, tuple[ContractIndex, dict[str, Any] | None, str | None]] = {}
        self._log_capture: LogCapture | None = None
        #: ``--anyint-max-age``: a re-recording that changed nothing is still written when older than this.
        self.refresh_older_than: _dt.timedelta | None = None
        if options.max_age:
            from .age import parse_max_age

            try:
                self.refresh_older_than = parse_max_age(options.max_age)
            except ValueError:
                pass  # the option's own check reports it

    @functools.cached_property
    def rules(self) -> Rules:
        """The settings the verdict of every case follows."""
        return Rules(
            config_path=self.config.path,
            record_mode=self.options.record_mode,
            drift_mode=self.options.drift_mode,
            max_age=self.options.max_age or None,
        )

    # ---- configuration

    @property
    def config(self) -> AnyIntConfig:
        if self._config is None:
            path = find_config(self.options.rootdir, self.options.config_path)
            self._config = load_config(path, environ=self.environ)
        return self._config

    @property
    def recording(self) -> bool:
        """Whether cassettes are written (once, new_episodes, rewrite; never verify)."""
        return self.options.record_mode in ("once", "new_episodes", "rewrite")

    @property
    def live(self) -> bool:
        """Whether requests reach the live gateway, with the real key (recording, and verify)."""
        return self.options.record_mode != "none"

    @functools.cached_property
    def cassette_dir(self) -> Path:
        path = Path(self.options.cassette_dir)
        return path if path.is_absolute() else self.options.rootdir / path

    def gateway_url(self) -> str:
        if self.options.use_emulator:
            self.start_emulator()
        return self.emulator.url if self.emulator is not None else self.config.base_url

    def api_key(self) -> str:
        """The real key when recording or verifying (the emulator's with --anyint-emulator), a placeholder in replay."""
        if not self.live:
            return PLACEHOLDER_KEY
        if self.options.use_emulator:
            self.start_emulator()
        if self.emulator is not None:
            return self.emulator.api_key
        key = self.environ.get(self.config.api_key_env, "")
        if not key:
            verify = self.options.record_mode == "verify"
            raise ConfigError(
                f"{'--anyint-record=verify' if verify else 'recording'} needs the gateway key in "
                f"${self.config.api_key_env} (or --anyint-emulator to {'verify' if verify else 'record'} "
                f"against the bundled emulator)"
            )
        return key

    def secrets(self) -> tuple[str, ...]:
        """The keys this session holds (the configured variable's, the emulator's): never to be shown."""
        if self._config is None:
            return ()
        env_key = self.environ.get(self._config.api_key_env)
        emulator_key = self.emulator.api_key if self.emulator is not None else None
        if not env_key and not emulator_key:  # replay in CI: no key anywhere (asked several times per test)
            return ()
        return tuple(dict.fromkeys(s for s in (env_key, emulator_key) if s and s != PLACEHOLDER_KEY))

    @property
    def key_placeholder(self) -> str:
        return f"<{self.config.api_key_env}>"

    def gateway(self) -> Gateway:
        return Gateway(self.gateway_url(), self.api_key())

    def start_emulator(self) -> Emulator:
        if self.emulator is None:
            from ..emulator.server import Emulator

            # Under --anyint-emulator the app gets the emulator's own key, never one from the shell.
            key = None if self.options.use_emulator or self._config is None else self.environ.get(self.config.api_key_env)
            try:  # it serves every model of anyint.yaml (and the routes' emulator replies)
                config = self.config
            except ConfigError:  # reported where the configuration is needed
                self.emulator = Emulator(api_key=key or "emulator-key").start()
            else:
                self.emulator = Emulator.from_config(config, api_key=key or "emulator-key").start()
        return self.emulator

    def stop(self) -> None:
        parsecache.flush()  # what this run parsed, as one pack for the next run
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None

    # ---- cases

    def target(self, case: RouteCase) -> RouteTarget:
        route = self.config.route(case.label)
        model = route.chain[case.position]
        family = FAMILIES[model.family]
        key = self.api_key()
        return RouteTarget(
            label=route.label,
            model=model.model,
            role="primary" if case.position == 0 else "fallback",
            position=case.position,
            family=model.family,
            optimize=route.optimize,
            chain=route.chain,
            base_url=family.base_url(self.gateway_url()),
            api_key=key,
            headers=family.auth_headers(key),
        )

    def scenario(self, case: RouteCase) -> Scenario | None:
        if case.fault is None:
            return None
        from .scenario import Scenario  # only a fault case has one

        return Scenario(case.fault, self.config.route(case.label).policy.expects_fallback(case.fault))

    def open_case(
        self,
        case: RouteCase,
        *,
        nodeid: str,
        cassette_path: Path,
        faults: FaultPlan | None = None,
        command_id: str | None = None,
    ) -> CaseContext:
        """Load the case's cassette (``cassette_path``) and make the interceptor answer for it.

        A fault case gets its fault plan here (``faults`` replaces it). Raises ConfigError or
        CassetteError for what keeps the case from running, and CaseRefused for a cassette older
        than ``max_age`` under ``max_age_fail`` (an age warning goes with the verdict's warnings).
        """
        config = self.config
        route = config.route(case.label)
        mode = self.options.record_mode
        try:
            self.api_key()
        except ConfigError as exc:
            raise ConfigError(f"{nodeid}: {exc}") from None
        secrets = self.secrets()
        cassette = self._cassette(cassette_path, route, mode, secrets)  # the keys known: none in the parse cache
        display = _display(cassette_path, self.options.rootdir)
        origins = {origin_of(config.base_url)}
        if self.emulator is not None:
            origins.add(origin_of(self.emulator.url))
        log_secrets = secrets  # the replay placeholder added below is no secret to scrub from logs
        if not self.live:
            # In replay the app holds the placeholder key; where it echoes it (a body, a query), it
            # must read as the recording's placeholder for the request to match.
            secrets += (PLACEHOLDER_KEY,)
        if faults is None and case.fault is not None:  # a plain case gets a plan only if it asks (fault_plan)
            from ..faults.plan import FaultPlan as Plan

            faults = Plan(self, case)
        if self._log_capture is None:
            self._log_capture = LogCapture()
        context = CaseContext(
            test_id=nodeid,
            route_label=case.label,
            chain=tuple(m.model for m in route.chain),
            case_model=case.model,
            mode=mode,
            cassette=cassette,
            cassette_display=display,
            gateway_origins=frozenset(origins),
            record_command=_advice("once", command_id or nodeid, config.api_key_env),
            case=case,
            cassette_path=cassette_path,
            canonical_origin=config.base_url,
            rewrite_command=_advice("rewrite", command_id or nodeid, config.api_key_env),
            secrets=secrets,
            key_placeholder=f"<{config.api_key_env}>",
            stream_timeout_s=self.options.stream_timeout_s,
            pace=self.options.pace,
            faults=faults,
            contracts=self.contract_gate(route),
            price=self._pricer(),
            auth_mode=self.options.contracts_mode,
            trail=CallTrail(primary=route.primary.model),
            log_capture=self._log_capture,
            verify=mode == "verify" and case.fault is None,  # fault cases replay as usual
            drift_mode=self.options.drift_mode,
        )
        if mode != "rewrite":  # rewrite replaces the file, whatever it held
            foreign = foreign_cassette(getattr(cassette, "_metadata", None), case)
            if foreign:
                context.problems.append(
                    f"{nodeid}: cassette {display} was recorded for {foreign}, not for this case ({case_label(case)}); "
                    f"a copied or renamed cassette never stands in for another case. Re-record it with: "
                    f'pytest --anyint-record=rewrite "{nodeid}"'
                )
        stale = cassette_age(context, self.rules)
        if stale is not None:
            if self.options.max_age_fail:
                raise CaseRefused(stale)
            context.warnings.append(stale)
        context.log_capture.start(log_secrets, context.key_placeholder)
        interceptor.activate(context)
        return context

    def fault_plan(self, context: CaseContext) -> FaultPlan:
        """The running case's fault plan, made on first use (``anyint_faults`` in a plain case)."""
        if context.faults is None:
            from ..faults.plan import FaultPlan as Plan

            context.faults = Plan(self, context.case)
        return context.faults

    def cassette_path(self, case: RouteCase, module_path: str, test_name: str, other_params: str | None) -> Path:
        return cassettes.cassette_path(
            self.cassette_dir, module_path, test_name, case.label, case.cassette_leaf, other_params
        )

    def _cassette(self, path: Path, route: RouteConfig, mode: str, secrets: tuple[str, ...]) -> CaseCassette:
        match_on = cassettes.match_on(route.match_ignore)
        if mode in ("none", "verify", "once"):  # verify answers from the cassette and never writes
            playback = cassettes.PlaybackCassette.load(path, match_on, secrets)
            if mode != "once" or len(playback):
                return playback  # ``once`` plays a cassette that holds recordings, and records the others
        from vcr.cassette import Cassette

        persister = cassettes.CassettePersister(secrets, self.refresh_older_than)
        kwargs: dict[str, Any] = dict(
            path=str(path),
            serializer=cassettes.CassetteSerializer,
            persister=persister,
            record_mode=cassettes.record_mode(mode),
            match_on=match_on,
        )
        if mode == "rewrite":
            return Cassette(**kwargs)  # the old file stays until the new one replaces it atomically
        cassette = Cassette.load(**kwargs)
        if cassette.rewound and len(cassette) == 0:
            # An empty cassette records nothing a replay could serve: ``once`` records it like a
            # missing one (instead of refusing and advising the command just run).
            cassette.rewound = False
        return cassette

    def close_case(self, context: CaseContext, *, passed: bool | None) -> CaseOutcome:
        """Stop intercepting, judge the case (``verdict``), save what was recorded; say what failed."""
        interceptor.activate(None)
        context.log_capture.stop()
        case = context.case
        outcome = judge(context, self.config.route(case.label), self.rules, passed=passed)
        if self.recording and not context.problems:
            try:
                self._save(context, passed=passed)
            except cassettes.CassetteError as exc:
                outcome.problems.append(str(exc))
        violations = context.contracts.violations if context.contracts is not None else []
        self.results.append(
            CaseResult(
                nodeid=context.test_id,
                route=case.label,
                model=case.model,
                fault=case.fault,
                calls=list(context.trail),
                passed=(passed and not outcome.problems) if passed is not None else None,
                violations=list(violations),
                drift=list(outcome.drift),
                problems=list(outcome.problems),
            )
        )
        return outcome

    def _save(self, context: CaseContext, passed: bool | None = True) -> None:
        cassette = context.cassette
        path = context.cassette_path
        if isinstance(cassette, cassettes.PlaybackCassette):
            return  # it played recordings and recorded nothing
        if len(cassette) == 0 and passed is not True:
            # Failed (or never ran) before any gateway call: an empty cassette would only stand in
            # the way of recording the fixed test; a cassette being rewritten stays as it was.
            return
        if not (cassette.dirty or not path.exists() or self.options.record_mode == "rewrite"):
            return
        case = context.case
        route = self.config.route(case.label)
        family = route.chain[case.position].family
        cassette._metadata = {  # vcrpy 9.4 keeps metadata here; pinned and tested
            "recorded_at": utc_stamp(),
            "plugin_version": __version__,
            "route": case.label,
            "model": case.model,
            "family": family,
            "test": context.test_id,
            **({"fault": case.fault} if case.fault is not None else {}),
        }
        cassette._save(force=True)

    # ---- contracts and pricing

    def contract_gate(self, route: RouteConfig) -> ContractGate | None:
        if self.options.contracts_mode == "off":
            return None
        from ..contracts import ContractGate

        parts = self._gate_parts.get(route.label)
        if parts is None:  # loaded once per route; each case gets a fresh gate (its own violations)
            gate = ContractGate.for_route(self, route)
            self._gate_parts[route.label] = (gate.index, gate.output_schema, gate.output_schema_path)
            return gate
        index, schema, shown = parts
        return ContractGate(index, self.options.contracts_mode, route.label, schema, shown)

    def _pricer(self) -> Callable[[Call], float | None]:
        pricing = self.config.pricing

        def price(call: Call) -> float | None:
            rate = pricing.get(call.model or "")
            if rate is None or call.input_tokens is None:
                return None
            return rate.cost_usd(call.input_tokens, call.output_tokens or 0, call.cached_tokens or 0)

        return price


def _advice(mode: str, nodeid: str, key_env: str) -> str:
    """The command that records one test in ``mode``, as a user can paste it."""
    return (
        f'pytest --anyint-record={mode} "{nodeid}" (with ${key_env} set, '
        f"or add --anyint-emulator to record against the bundled emulator)"
    )


def _display(path: Path, rootdir: Path) -> str:
    text, root = str(path), str(rootdir)
    if text.startswith(root) and text[len(root) : len(root) + 1] == os.sep:  # the usual case, without pathlib
        return text[len(root) + 1 :]
    try:
        return str(path.relative_to(rootdir))
    except ValueError:
        return str(path)
