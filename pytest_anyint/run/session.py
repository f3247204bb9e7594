"""The run: route cases, their targets, and a session object that gathers what every case did.

Plain Python (no pytest import), so the engine can be driven and tested without pytest; the
plugin only turns pytest's items and options into calls on ``AnyIntSession``.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, cassettes, parsecache
from ..calls import Call, CallTrail
from ..config import AnyIntConfig, ChainModel, ConfigError, RouteConfig, find_config, load_config
from ..families import FAMILIES, PLACEHOLDER_KEY
from ..results import CaseResult  # noqa: F401 - re-exported: the result type lives where the report reads it
from ..text import model_slug, utc_stamp
from . import interceptor

MODEL_SELECTIONS = ("all", "primary", "fallbacks")


# --------------------------------------------------------------------------- public objects


@dataclass(frozen=True)
class RouteTarget:
    """The model a route case runs against, and everything a client needs to reach it."""

    label: str
    model: str
    role: str
    position: int
    family: str
    optimize: str | None
    chain: tuple[ChainModel, ...]
    base_url: str
    api_key: str
    headers: dict[str, str]

    def client(self, **kwargs: Any) -> Any:
        """An ``httpx.Client`` for this target (base URL and auth headers set)."""
        import httpx

        return httpx.Client(base_url=self.base_url, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        import httpx

        return httpx.AsyncClient(base_url=self.base_url, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)


@dataclass(frozen=True)
class Scenario:
    """A fault case: what the primary fails with, and whether the policy expects a fallback."""

    fault: int | str
    expect_fallback: bool


@dataclass(frozen=True)
class Gateway:
    """What session- and module-scoped client fixtures need: one place for URLs, headers and keys."""

    url: str
    api_key: str

    def base_url(self, family: str) -> str:
        return FAMILIES[family].base_url(self.url)

    def headers(self, family: str) -> dict[str, str]:
        return FAMILIES[family].auth_headers(self.api_key)

    def sdk_kwargs(self, family: str) -> dict[str, Any]:
        """Keyword arguments pointing the family's official SDK at the gateway (build clients once)."""
        return FAMILIES[family].sdk_kwargs(self.url, self.api_key)


@dataclass(frozen=True)
class RouteCase:
    """One parametrized case of a route-marked test: a model, or a fault on the primary."""

    label: str
    model: str
    position: int
    fault: int | str | None = None

    @property
    def id(self) -> str:
        if self.fault is not None:
            return f"{self.label}-fault-{self.fault}"
        role = "primary" if self.position == 0 else f"fallback{self.position}"
        return f"{self.label}-{role}-{self.model}"

    @property
    def cassette_leaf(self) -> str:
        return f"fault-{self.fault}" if self.fault is not None else model_slug(self.model)


def cases_for(config: AnyIntConfig, label: str, models: Any = "all", faults: Any = None) -> list[RouteCase]:
    """The cases of ``@pytest.mark.route(label, models=..., faults=...)``; ConfigError on bad options."""
    route = config.route(label)
    chain = route.chain
    if faults is not None:
        if faults == "policy":
            kinds: Sequence[int | str] = route.policy.faults
        elif isinstance(faults, (list, tuple)) and faults:
            kinds = faults
            from ..faults.plan import FAULT_KINDS

            for kind in kinds:
                if not (isinstance(kind, int) and 100 <= kind <= 599) and kind not in FAULT_KINDS:
                    raise ConfigError(
                        f"route {label!r}: faults=: {kind!r} is neither an HTTP status nor a fault kind "
                        f"({', '.join(FAULT_KINDS)})"
                    )
        else:
            raise ConfigError(f'route {label!r}: faults= takes "policy" or a non-empty list such as [429, 503, "timeout"]')
        twice = next((kind for index, kind in enumerate(kinds) if kind in list(kinds)[:index]), None)
        if twice is not None:  # two cases would share one id and one cassette
            raise ConfigError(f"route {label!r}: faults=: {twice!r} is listed twice")
        return [RouteCase(label, route.primary.model, 0, fault) for fault in kinds]
    if models == "all":
        picked = list(enumerate(chain))
    elif models == "primary":
        picked = [(0, chain[0])]
    elif models == "fallbacks":
        picked = list(enumerate(chain))[1:]
    elif isinstance(models, (list, tuple)) and models:
        ids = [m.model for m in chain]
        picked = []
        for model in models:
            if model not in ids:
                raise ConfigError(
                    f"route {label!r}: models=: {model!r} is not in the route (chain: {', '.join(ids)})"
                )
            if any(position == ids.index(model) for position, _ in picked):
                raise ConfigError(f"route {label!r}: models=: {model!r} is listed twice")
            picked.append((ids.index(model), chain[ids.index(model)]))
    else:
        raise ConfigError(
            f'route {label!r}: models= takes "all", "primary", "fallbacks" or a list of the route\'s model IDs, got {models!r}'
        )
    if not picked:
        raise ConfigError(f"route {label!r}: models={models!r} selects no model (the route has no fallbacks)")
    return [RouteCase(label, m.model, position) for position, m in picked]


# --------------------------------------------------------------------------- the session


@dataclass
class CaseOutcome:
    """The after-body verdict of a case: problems fail the test, warnings are shown."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drift: list[Any] = field(default_factory=list)
    #: The plugin caused what the test body raised: it refused a request (unrecorded, wrong model,
    #: missing auth...), or a fault case's policy verdict explains the injected fault's exception.
    explains_error: bool = False


class _LogCapture(logging.Handler):
    """Every log record emitted while a case runs, for the fallback-log check."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._old_factory: Callable[..., logging.LogRecord] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def start(self, secrets: Sequence[str] = (), placeholder: str = "<ANYINT_API_KEY>") -> _LogCapture:
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


@dataclass
class SessionOptions:
    rootdir: Path
    record_mode: str = "none"
    config_path: str | None = None
    cassette_dir: str = "cassettes"
    contracts_mode: str = "fail"
    contracts_dirs: tuple[str, ...] = ()
    stream_timeout_s: float = 60.0
    use_emulator: bool = False
    drift_mode: str = "fail"
    #: Where parsed cassettes persist between runs (pytest's cache dir); None: memory only.
    cache_dir: Path | None = None


class AnyIntSession:
    """Holds the configuration, the mode and what every case did; one per pytest session."""

    def __init__(self, options: SessionOptions, environ: dict[str, str] | None = None) -> None:
        self.options = options
        self.environ = os.environ if environ is None else environ
        self._config: AnyIntConfig | None = None
        self.emulator: Any = None
        self.results: list[CaseResult] = []
        #: report.ReportState (pytest's outcome per test, files written), owned by report.py.
        self.report: Any = None
        self._contract_index: Any = None
        self._output_schemas: dict[Path, dict[str, Any]] = {}
        parsecache.use(options.cache_dir)
        #: Per route label, what every case's contract gate shares (index, output schema).
        self._gate_parts: dict[str, tuple[Any, Any, Any]] = {}
        self._log_capture: _LogCapture | None = None

    # ---- configuration

    @property
    def config(self) -> AnyIntConfig:
        if self._config is None:
            path = find_config(self.options.rootdir, self.options.config_path)
            self._config = load_config(path, environ=self.environ)
        return self._config

    @property
    def recording(self) -> bool:
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
        """The real key when recording (the emulator's with --anyint-emulator), a placeholder in replay."""
        if not self.recording:
            return PLACEHOLDER_KEY
        if self.options.use_emulator:
            self.start_emulator()
        if self.emulator is not None:
            return self.emulator.api_key
        key = self.environ.get(self.config.api_key_env, "")
        if not key:
            raise ConfigError(
                f"recording needs the gateway key in ${self.config.api_key_env} "
                f"(or --anyint-emulator to record against the bundled emulator)"
            )
        return key

    def secrets(self) -> tuple[str, ...]:
        """The keys this session holds (the configured variable's, the emulator's): never to be shown."""
        if self._config is None:
            return ()
        env_key = self.environ.get(self._config.api_key_env)
        emulator_key = getattr(self.emulator, "api_key", None) if self.emulator is not None else None
        if not env_key and not emulator_key:  # replay in CI: no key anywhere (asked several times per test)
            return ()
        return tuple(dict.fromkeys(s for s in (env_key, emulator_key) if s and s != PLACEHOLDER_KEY))

    @property
    def key_placeholder(self) -> str:
        return f"<{self.config.api_key_env}>"

    def gateway(self) -> Gateway:
        return Gateway(self.gateway_url(), self.api_key())

    def start_emulator(self) -> Any:
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
        return Scenario(case.fault, self.config.route(case.label).policy.expects_fallback(case.fault))

    def open_case(
        self,
        case: RouteCase,
        *,
        nodeid: str,
        cassette_path: Path,
        faults: Any = None,
        command_id: str | None = None,
    ) -> interceptor.CaseContext:
        """Load the case's cassette (``cassette_path``) and make the interceptor answer for it."""
        config = self.config
        route = config.route(case.label)
        mode = self.options.record_mode
        try:
            self.api_key()
        except ConfigError as exc:
            raise ConfigError(f"{nodeid}: {exc}") from None
        secrets = self.secrets()
        cassettes.CassettePersister.known_secrets = secrets  # before the load: no key in the parse cache
        cassette = self._cassette(cassette_path, route, mode)
        display = _display(cassette_path, self.options.rootdir)
        origins = {interceptor.origin_of(config.base_url)}
        if self.emulator is not None:
            origins.add(interceptor.origin_of(self.emulator.url))
        log_secrets = secrets  # the replay placeholder added below is no secret to scrub from logs
        if not self.recording:
            # In replay the app holds the placeholder key; where it echoes it (a body, a query), it
            # must read as the recording's placeholder for the request to match.
            secrets += (PLACEHOLDER_KEY,)
        context = interceptor.CaseContext(
            test_id=nodeid,
            route_label=case.label,
            chain=tuple(m.model for m in route.chain),
            case_model=case.model,
            mode=mode,
            cassette=cassette,
            cassette_display=display,
            gateway_origins=frozenset(origins),
            canonical_origin=config.base_url,
            record_command=_advice("once", command_id or nodeid, config.api_key_env),
            rewrite_command=_advice("rewrite", command_id or nodeid, config.api_key_env),
            secrets=secrets,
            key_placeholder=f"<{config.api_key_env}>",
            stream_timeout_s=self.options.stream_timeout_s,
            faults=faults,
            contracts=self.contract_gate(route),
            price=self._pricer(),
            auth_mode=self.options.contracts_mode,
        )
        context.trail = CallTrail(primary=route.primary.model)
        if mode != "rewrite":  # rewrite replaces the file, whatever it held
            foreign = _foreign_cassette(getattr(cassette, "_metadata", None), case)
            if foreign:
                context.problems.append(
                    f"{nodeid}: cassette {display} was recorded for {foreign}, not for this case ({_case_label(case)}); "
                    f"a copied or renamed cassette never stands in for another case. Re-record it with: "
                    f'pytest --anyint-record=rewrite "{nodeid}"'
                )
        context.cassette_path = cassette_path  # type: ignore[attr-defined]
        context.case = case  # type: ignore[attr-defined]
        if self._log_capture is None:
            self._log_capture = _LogCapture()
        context.log_capture = self._log_capture.start(log_secrets, context.key_placeholder)  # type: ignore[attr-defined]
        interceptor.activate(context)
        return context

    def cassette_path(self, case: RouteCase, module_path: str, test_name: str, other_params: str | None) -> Path:
        return cassettes.cassette_path(
            self.cassette_dir, module_path, test_name, case.label, case.cassette_leaf, other_params
        )

    def _cassette(self, path: Path, route: RouteConfig, mode: str) -> Any:
        from vcr.cassette import Cassette

        kwargs = dict(
            path=str(path),
            serializer=cassettes.CassetteSerializer,
            persister=cassettes.CassettePersister,
            record_mode=cassettes.record_mode(mode),
            match_on=cassettes.match_on(route.match_ignore),
        )
        if mode == "rewrite":
            return Cassette(**kwargs)  # the old file stays until the new one replaces it atomically
        cassette = Cassette.load(**kwargs)
        if cassette.rewound and len(cassette) == 0:
            # An empty cassette records nothing a replay could serve: ``once`` records it like a
            # missing one (instead of refusing and advising the command just run).
            cassette.rewound = False
        return cassette

    def close_case(self, context: interceptor.CaseContext, *, passed: bool | None) -> CaseOutcome:
        """Stop intercepting, run the after-body checks, save what was recorded; say what failed."""
        interceptor.activate(None)
        case: RouteCase = context.case  # type: ignore[attr-defined]
        route = self.config.route(case.label)
        capture: _LogCapture = context.log_capture  # type: ignore[attr-defined]
        capture.stop()
        outcome = CaseOutcome(problems=list(context.problems), warnings=list(context.warnings))
        refused = bool(context.problems)
        outcome.explains_error = refused
        if context.contracts is not None:
            errors, warnings = context.contracts.outcome()
            outcome.problems += errors
            outcome.warnings += warnings
        if case.fault is not None:
            from ..faults.plan import check_policy

            # The policy verdict leads; a forbidden fallback also explains a refused (unrecorded) call.
            verdict = check_policy(route, case.fault, context.trail, capture.records, refused=refused, passed=passed)
            outcome.problems[:0] = verdict
            outcome.explains_error = outcome.explains_error or bool(verdict)
        from ..report.build import budget_problems

        outcome.problems += budget_problems(route, list(context.trail), self.config.path)
        if self.recording and not refused:
            path: Path = context.cassette_path  # type: ignore[attr-defined]
            if self.options.record_mode == "rewrite" and path.exists() and (len(context.cassette) or passed is True):
                from ..drift.shape import compare_on_rewrite

                drift_problems, drift_notes, findings = compare_on_rewrite(
                    path, context.cassette, nodeid=context.test_id, model=case.model, mode=self.options.drift_mode
                )
                outcome.problems += drift_problems
                outcome.warnings += drift_notes
                outcome.drift = findings
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

    def _save(self, context: interceptor.CaseContext, passed: bool | None = True) -> None:
        cassette = context.cassette
        path: Path = context.cassette_path  # type: ignore[attr-defined]
        if len(cassette) == 0 and passed is not True:
            # Failed (or never ran) before any gateway call: an empty cassette would only stand in
            # the way of recording the fixed test; a cassette being rewritten stays as it was.
            return
        if not (cassette.dirty or not path.exists() or self.options.record_mode == "rewrite"):
            return
        case: RouteCase = context.case  # type: ignore[attr-defined]
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

    def contract_gate(self, route: RouteConfig) -> Any:
        if self.options.contracts_mode == "off":
            return None
        from ..contracts.index import ContractGate

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
            cached = call.cached_tokens or 0
            cached_rate = rate.cached_input if rate.cached_input is not None else rate.input
            uncached = max((call.input_tokens or 0) - cached, 0)
            return (uncached * rate.input + cached * cached_rate + (call.output_tokens or 0) * rate.output) / 1e6

        return price


def _advice(mode: str, nodeid: str, key_env: str) -> str:
    """The command that records one test in ``mode``, as a user can paste it."""
    return (
        f'pytest --anyint-record={mode} "{nodeid}" (with ${key_env} set, '
        f"or add --anyint-emulator to record against the bundled emulator)"
    )


def _case_label(case: RouteCase) -> str:
    what = f"route {case.label!r} model {case.model!r}"
    return what + (f" fault {case.fault!r}" if case.fault is not None else "")


def _foreign_cassette(metadata: Any, case: RouteCase) -> str | None:
    """What another case a cassette says it belongs to; None when it is this case's (or unmarked).

    Only the plugin's own metadata is compared (route and model present): a cassette written by
    another tool, or by hand, carries no claim to check.
    """
    if not isinstance(metadata, dict) or "route" not in metadata or "model" not in metadata:
        return None
    recorded = RouteCase(str(metadata["route"]), str(metadata["model"]), 0, metadata.get("fault"))
    if (recorded.label, recorded.model, recorded.fault) == (case.label, case.model, case.fault):
        return None
    return _case_label(recorded)


def _display(path: Path, rootdir: Path) -> str:
    text, root = str(path), str(rootdir)
    if text.startswith(root) and text[len(root) : len(root) + 1] == os.sep:  # the usual case, without pathlib
        return text[len(root) + 1 :]
    try:
        return str(path.relative_to(rootdir))
    except ValueError:
        return str(path)


_AUTO_ID = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*?)(?P<index>\d+)$")


def automatic_ids(other_ids: Sequence[str], argnames: Sequence[str]) -> list[str]:
    """The ids among another parametrization's that pytest made up from position (``arg0``…)."""
    found = []
    for value in other_ids:
        match = _AUTO_ID.match(value)
        if match and match.group("name") in argnames:
            found.append(value)
    return found
