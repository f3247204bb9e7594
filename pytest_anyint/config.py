"""``anyint.yaml``: loading, defaults and validation.

Every problem becomes one ``ConfigError`` line naming the file, the key path and what was
expected, because users meet this module when they are setting things up and a traceback
teaches them nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from . import parsecache
from .families import DEFAULT_BASE_URL, FAMILY_NAMES
from .kinds import ALL_KINDS, ANSWER_KINDS, DEFAULT_MAX_ATTEMPTS, FAULT_KINDS, listed
from .text import did_you_mean, model_slug, not_one_of

if TYPE_CHECKING:
    import jsonschema

DEFAULT_CONFIG_NAME = "anyint.yaml"
BASE_URL_ENV = "ANYINT_BASE_URL"
OPTIMIZE_LABELS = ("quality", "latency", "cost", "reliability")

DEFAULT_FALLBACK_ON: tuple[int | str, ...] = (429, 500, 502, 503, 504, 529, *FAULT_KINDS)
DEFAULT_NEVER_FALLBACK_ON: tuple[int | str, ...] = (400, 401, 403, 404)


class ConfigError(Exception):
    """A configuration problem, as one line: ``<file>: <key path>: <what was expected>``."""


_FAULT = {"anyOf": [{"type": "integer", "minimum": 100, "maximum": 599}, {"enum": list(ALL_KINDS)}]}
_POLICY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fallback_on": {"type": "array", "items": _FAULT},
        "never_fallback_on": {"type": "array", "items": _FAULT},
        "require_fallback_log": {"type": "boolean"},
        "max_attempts_per_model": {"type": "integer", "minimum": 1},
    },
}
_MODEL_ID = {"type": "string", "minLength": 1, "pattern": r"^\S+$"}
_FALLBACK = {
    "anyOf": [
        _MODEL_ID,
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["model"],
            "properties": {"model": _MODEL_ID, "family": {"enum": list(FAMILY_NAMES)}},
        },
    ]
}

#: The JSON Schema of ``anyint.yaml`` itself (documented in docs/configuration.md).
CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "routes"],
    "properties": {
        "version": {"const": 1},
        "gateway": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "base_url": {"type": "string", "pattern": r"^https?://"},
                "api_key_env": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
            },
        },
        "policy": _POLICY,
        "routes": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["family", "primary"],
                "properties": {
                    "family": {"enum": list(FAMILY_NAMES)},
                    "optimize": {"enum": list(OPTIMIZE_LABELS)},
                    "primary": _MODEL_ID,
                    "fallbacks": {"type": "array", "items": _FALLBACK},
                    "output_schema": {"type": "string", "minLength": 1},
                    "max_cost_per_call_usd": {"type": "number", "exclusiveMinimum": 0},
                    "max_latency_s": {"type": "number", "exclusiveMinimum": 0},
                    "max_ttft_s": {"type": "number", "exclusiveMinimum": 0},
                    "match_ignore": {"type": "array", "items": {"type": "string", "pattern": r"^\$?\.?[A-Za-z0-9_.\[\]*-]+$"}},
                    "check_models": {"type": "boolean"},
                    "cross_family": {"type": "boolean"},
                    "policy": _POLICY,
                    "emulator": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"reply": {"type": ["object", "array", "string", "number", "boolean"]}},
                    },
                },
            },
        },
        "pricing": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["input", "output"],
                "properties": {
                    "input": {"type": "number", "minimum": 0},
                    "output": {"type": "number", "minimum": 0},
                    "cached_input": {"type": "number", "minimum": 0},
                },
            },
        },
    },
}


# ChainModel, Policy and Price are NamedTuples: cheap to build at import (a frozen dataclass execs
# six methods on Python 3.11), immutable, and they compare, hash and print as the frozen
# dataclasses did, so the public RouteConfig and AnyIntConfig that hold them still do too.
class ChainModel(NamedTuple):
    """One model of a route's chain, with the family its requests are shaped for."""

    model: str
    family: str


class Policy(NamedTuple):
    """When the app should fall back, and whether it must log it."""

    fallback_on: tuple[int | str, ...] = DEFAULT_FALLBACK_ON
    never_fallback_on: tuple[int | str, ...] = DEFAULT_NEVER_FALLBACK_ON
    require_fallback_log: bool = True
    #: Most calls in a row a fault case may make to a failing model (one call + the SDKs' 2 retries).
    max_attempts_per_model: int = DEFAULT_MAX_ATTEMPTS

    def expects_fallback(self, fault: int | str) -> bool | None:
        """Whether a fault should make the app fall back (statuses in neither list follow their class;
        None: an answer fault in neither list, which leaves the choice to the app)."""
        if fault in self.fallback_on:
            return True
        if fault in self.never_fallback_on:
            return False
        if fault in ANSWER_KINDS:
            return None
        return isinstance(fault, int) and fault >= 500

    @property
    def faults(self) -> tuple[int | str, ...]:
        """``faults="policy"``: the fallback faults, then the never-fallback ones."""
        return self.fallback_on + self.never_fallback_on


class Price(NamedTuple):
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float | None = None

    def cost_usd(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """What one call cost: cached input at ``cached_input`` (else ``input``), the rest at list price.

        ``input_tokens`` includes the cached ones (the family table normalises usage that way).
        """
        cached_rate = self.cached_input if self.cached_input is not None else self.input
        uncached = max(input_tokens - cached_tokens, 0)
        return (uncached * self.input + cached_tokens * cached_rate + output_tokens * self.output) / 1e6


@dataclass(frozen=True)
class RouteConfig:
    """A workload: its primary, its fallbacks and what its tests check."""

    label: str
    family: str
    primary: ChainModel
    fallbacks: tuple[ChainModel, ...] = ()
    optimize: str | None = None
    output_schema: Path | None = None
    max_cost_per_call_usd: float | None = None
    max_latency_s: float | None = None
    #: The longest a streamed call may take to its first answer text (recorded), in seconds.
    max_ttft_s: float | None = None
    match_ignore: tuple[str, ...] = ()
    check_models: bool = True
    cross_family: bool = False
    policy: Policy = field(default_factory=Policy)
    #: ``emulator: reply:``: the assistant text the bundled emulator answers for this route's models.
    emulator_reply: str | None = None

    @property
    def chain(self) -> tuple[ChainModel, ...]:
        return (self.primary, *self.fallbacks)

    def required_fallback(self) -> ChainModel | None:
        """The model a fallback must reach first: the second in the chain, or the first same-family one."""
        for candidate in self.fallbacks:
            if self.cross_family or candidate.family == self.family:
                return candidate
        return None


@dataclass(frozen=True)
class AnyIntConfig:
    """The loaded ``anyint.yaml``."""

    path: Path
    base_url: str
    api_key_env: str
    routes: Mapping[str, RouteConfig]
    policy: Policy = field(default_factory=Policy)
    pricing: Mapping[str, Price] = field(default_factory=dict)

    def route(self, label: str) -> RouteConfig:
        try:
            return self.routes[label]
        except KeyError:
            known = ", ".join(sorted(self.routes)) or "none"
            hint = did_you_mean(label, self.routes)
            raise ConfigError(f"{self.path}: routes: no route {label!r}{hint}; configured routes: {known}") from None

    def warnings(self) -> list[str]:
        """Things that work but deserve a look: cross-family fallbacks the route did not opt into."""
        found = []
        for route in self.routes.values():
            for position, fallback in enumerate(route.fallbacks, start=1):
                if fallback.family != route.family and not route.cross_family:
                    found.append(
                        f"{self.path}: routes.{route.label}.fallbacks[{position - 1}]: {fallback.model} is a "
                        f"{fallback.family} model on {_article(route.family)} {route.family} route: request shape differs "
                        f"(set cross_family: true on the route if that is intended)"
                    )
        return found


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


# --------------------------------------------------------------------------- loading


def find_config(rootdir: Path, override: str | os.PathLike[str] | None = None) -> Path:
    path = Path(override) if override else rootdir / DEFAULT_CONFIG_NAME
    if not path.is_absolute():
        path = rootdir / path
    return path


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> AnyIntConfig:
    """Read, validate and normalise ``anyint.yaml``; raise ConfigError as one line on any problem."""
    environ = os.environ if environ is None else environ
    if path.is_dir():
        inside = path / DEFAULT_CONFIG_NAME
        hint = f"; did you mean {inside}?" if inside.is_file() else ""
        raise ConfigError(f"{path}: is a directory, not a file: point --anyint-config (or anyint_config) at the anyint.yaml itself{hint}")
    if not path.is_file():
        raise ConfigError(f"{path}: not found: pytest-anyint needs an anyint.yaml (see docs/configuration.md)")
    try:
        raw = parsecache.read_file(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None

    def parse_and_validate(raw: bytes) -> dict[str, Any]:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text: expected a YAML file") from None
        data = _parse_yaml(path, text)
        _validate(path, data)
        return data

    # A file that parsed and validated before is read back from the parse cache: no YAML, no check.
    data = parsecache.parsed(raw, "config", parse_and_validate, lambda data: isinstance(data, dict))
    return _build(path, data, environ)


def _parse_yaml(path: Path, text: str) -> Any:
    from .yamlsafe import read_plain

    plain, data = read_plain(text)  # yaml-rs, where it reads what PyYAML would: no PyYAML import
    if not plain:
        data = _parse_with_pyyaml(path, text)
    if data is None:
        raise ConfigError(f"{path}: empty: expected a mapping with 'version: 1' and 'routes'")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'version: 1' and 'routes', got {type(data).__name__}")
    return data


def _parse_with_pyyaml(path: Path, text: str) -> Any:
    """PyYAML's reading, which names the line of a duplicate key, a complex key or an alias."""
    import yaml

    class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if isinstance(key, (list, dict)):
                line = key_node.start_mark.line + 1
                raise ConfigError(f"{path}:{line}: a key must be a plain name, not a {'list' if isinstance(key, list) else 'mapping'}")
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"{path}:{line}: duplicate key {key!r}: each key may appear once")
            seen[key] = loader.construct_object(value_node, deep=deep)
        return seen

    _UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    from .yamlsafe import AliasError, refuse_aliases

    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            refuse_aliases(node)  # expanding aliases is unbounded; a config never needs them
        data = None if node is None else loader.construct_document(node)
    except AliasError as exc:
        raise ConfigError(
            f"{path}: uses a YAML alias (*name, repeating the value anchored at line {exc.line}): anyint.yaml is "
            f"read without anchors or aliases "
            f"(expanding them is unbounded); write the value out in full"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from None
    except ValueError as exc:  # PyYAML's own constructors (``0b_``: "invalid literal for int()")
        raise ConfigError(f"{path}: not valid YAML: a value PyYAML cannot read ({exc})") from None
    finally:
        loader.dispose()
    return data


def _key_path(parts: Any) -> str:
    out = ""
    for part in parts:
        if not isinstance(part, int) and not re.fullmatch(r"[A-Za-z0-9_.-]+", str(part)):
            part = repr(part)  # a key with spaces or line breaks stays visible, and on one line
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: jsonschema.ValidationError) -> tuple[str, str | None]:
    """(what is wrong, in a user's words; the unknown key to add to the key path, if any)."""
    validator = error.validator
    # Errors of this schema's own keywords always carry them (the stubs allow "unset" too).
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    value: Any = error.validator_value
    if "propertyNames" in error.schema_path:
        return f"route label {error.instance!r} must be text of letters, digits, '.', '_' or '-' (starting with a letter or digit)", None
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        # YAML keys need not be text (``1:``, ``true:``): compare and show them as text.
        extra = sorted(str(k) for k in error.instance if k not in allowed) if isinstance(error.instance, dict) else []
        unknown = extra[0] if extra else "?"
        return f"unknown key {unknown!r}{did_you_mean(unknown, allowed)}; expected one of: {', '.join(allowed)}", unknown
    if validator == "required":
        instance: Any = error.instance
        missing = [k for k in value if k not in instance]
        return f"missing required key {missing[0]!r}", None
    if validator == "enum":
        return not_one_of(error.instance, (str(v) for v in value)), None
    if validator == "const":
        return f"expected {error.validator_value!r}, got {error.instance!r}", None
    if validator == "type":
        return f"expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}", None
    if validator == "anyOf" and error.schema is _FAULT:
        return f"{error.instance!r} is neither an HTTP status (100-599) nor a fault kind ({listed()})", None
    if validator == "anyOf" and error.schema is _FALLBACK:
        return f"expected a model ID or {{model: ID, family: FAMILY}}, got {error.instance!r}", None
    if validator == "pattern" and error.schema is _MODEL_ID:
        return f"expected a model ID without spaces, got {error.instance!r}", None
    if validator == "minProperties":
        return "expected at least one route", None
    return error.message, None


_FAST_CHECK: list[Any] = []


def _validate(path: Path, data: Any) -> None:
    # A valid file (the usual case) is confirmed by a compiled check; jsonschema, which costs
    # ~40 ms to import, is only loaded to explain what is wrong.
    if not _FAST_CHECK:
        from .fastschema import fast_check

        _FAST_CHECK.append(fast_check(CONFIG_SCHEMA))
    if _FAST_CHECK[0] is not None and _FAST_CHECK[0](data):
        return
    import jsonschema

    validator = jsonschema.Draft202012Validator(CONFIG_SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path).__len__(), str(list(e.absolute_path))))
    if not errors:
        return
    try:
        error = jsonschema.exceptions.best_match(errors)
    except TypeError:  # it compares paths, and YAML keys of mixed types (0 and "") do not order
        error = errors[0]
    what, unknown = _describe(error)
    parts = list(error.absolute_path)
    if unknown is not None:
        parts.append(unknown)
    raise ConfigError(f"{path}: {_key_path(parts)}: {what}")


def _policy(raw: Mapping[str, Any] | None, base: Policy, where: str, path: Path) -> Policy:
    raw = raw or {}
    policy = Policy(
        fallback_on=tuple(raw.get("fallback_on", base.fallback_on)),
        never_fallback_on=tuple(raw.get("never_fallback_on", base.never_fallback_on)),
        require_fallback_log=raw.get("require_fallback_log", base.require_fallback_log),
        max_attempts_per_model=raw.get("max_attempts_per_model", base.max_attempts_per_model),
    )
    both = [f for f in policy.fallback_on if f in policy.never_fallback_on]
    if both:
        raise ConfigError(f"{path}: {where}: {both[0]!r} is in both fallback_on and never_fallback_on; it must be in exactly one")
    listed = set(policy.fallback_on) | set(policy.never_fallback_on)
    missing = [kind for kind in FAULT_KINDS if kind not in listed]
    if missing:
        raise ConfigError(
            f"{path}: {where}: fault kind {missing[0]!r} is in neither fallback_on nor never_fallback_on; "
            f"every fault kind ({', '.join(FAULT_KINDS)}) must be in exactly one"
        )
    return policy


def checked_base_url(value: str, where: str) -> str:
    """A gateway URL with an http(s) scheme and a host, or ConfigError naming ``where`` it came from."""
    import urllib.parse

    example = f"expected a URL such as {DEFAULT_BASE_URL}"
    if "://" not in value:
        raise ConfigError(f"{where}: {value!r} has no scheme: {example} (starting with https:// or http://)")
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise ConfigError(f"{where}: {value!r} is not a valid URL ({exc}): {example}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigError(f"{where}: {value!r} has the scheme {parts.scheme!r}: {example} (https:// or http://)")
    if not parts.hostname:
        raise ConfigError(f"{where}: {value!r} names no host: {example}")
    return value


def _emulator_reply(
    path: Path, where: str, raw: Mapping[str, Any], chain: list[ChainModel], replied: dict[str, tuple[str, str]]
) -> str | None:
    """A route's ``emulator.reply`` as the assistant text (JSON for anything but text), checked."""
    settings = raw.get("emulator") or {}
    if "reply" not in settings:
        return None
    if raw["family"] in ("media", "music"):
        raise ConfigError(
            f"{path}: {where}.emulator.reply: a {raw['family']} route answers with tasks, not text; "
            f"reply applies to openai, anthropic and gemini routes"
        )
    value = settings["reply"]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    for chain_model in chain:
        other = replied.setdefault(chain_model.model, (where, text))
        if other[1] != text:  # the emulator answers by model, so one model cannot have two replies
            raise ConfigError(
                f"{path}: {where}.emulator.reply: model {chain_model.model!r} is also in {other[0]}, whose "
                f"emulator.reply differs; the emulator answers by model, so give both routes the same reply"
            )
    return text


def _build(path: Path, data: Mapping[str, Any], environ: Mapping[str, str]) -> AnyIntConfig:
    gateway = data.get("gateway") or {}
    if environ.get(BASE_URL_ENV):
        base_url = checked_base_url(environ[BASE_URL_ENV], f"environment variable {BASE_URL_ENV}")
    else:
        base_url = checked_base_url(gateway.get("base_url") or DEFAULT_BASE_URL, f"{path}: gateway.base_url")
    default_policy = _policy(data.get("policy"), Policy(), "policy", path)
    routes: dict[str, RouteConfig] = {}
    replied: dict[str, tuple[str, str]] = {}  # model -> (route, emulator reply)
    for label, raw in data["routes"].items():
        where = f"routes.{label}"
        family = raw["family"]
        primary = ChainModel(raw["primary"], family)
        fallbacks: list[ChainModel] = []
        slugs = {model_slug(primary.model): primary.model}
        for index, item in enumerate(raw.get("fallbacks") or []):
            fallback = ChainModel(item, family) if isinstance(item, str) else ChainModel(item["model"], item.get("family", family))
            if fallback.model == primary.model:
                raise ConfigError(f"{path}: {where}.fallbacks[{index}]: {fallback.model!r} is the primary; a fallback must be another model")
            if any(f.model == fallback.model for f in fallbacks):
                raise ConfigError(f"{path}: {where}.fallbacks[{index}]: {fallback.model!r} is listed twice")
            twin = slugs.setdefault(model_slug(fallback.model), fallback.model)
            if twin != fallback.model:  # both would record into one cassette file
                raise ConfigError(
                    f"{path}: {where}.fallbacks[{index}]: {fallback.model!r} and {twin!r} share the cassette name "
                    f"{model_slug(twin)}.yaml; model IDs of a route must differ in more than punctuation"
                )
            fallbacks.append(fallback)
        output_schema = None
        if raw.get("output_schema"):
            try:
                output_schema = (path.parent / raw["output_schema"]).resolve()
            except (OSError, ValueError):
                raise ConfigError(f"{path}: {where}.output_schema: {raw['output_schema']!r} is not a usable file path") from None
            if not output_schema.is_file():
                raise ConfigError(f"{path}: {where}.output_schema: no file at {output_schema}")
        emulator_reply = _emulator_reply(path, where, raw, [primary, *fallbacks], replied)
        routes[label] = RouteConfig(
            label=label,
            family=family,
            primary=primary,
            fallbacks=tuple(fallbacks),
            optimize=raw.get("optimize"),
            output_schema=output_schema,
            max_cost_per_call_usd=raw.get("max_cost_per_call_usd"),
            max_latency_s=raw.get("max_latency_s"),
            max_ttft_s=raw.get("max_ttft_s"),
            match_ignore=tuple(raw.get("match_ignore") or ()),
            check_models=raw.get("check_models", True),
            cross_family=raw.get("cross_family", False),
            policy=_policy(raw.get("policy"), default_policy, f"{where}.policy", path) if raw.get("policy") else default_policy,
            emulator_reply=emulator_reply,
        )
    pricing = {model: Price(p["input"], p["output"], p.get("cached_input")) for model, p in (data.get("pricing") or {}).items()}
    return AnyIntConfig(
        path=path,
        base_url=base_url.rstrip("/"),
        api_key_env=gateway.get("api_key_env", "ANYINT_API_KEY"),
        routes=routes,
        policy=default_policy,
        pricing=pricing,
    )
