"""Route cases: which model (or fault) a route-marked test runs, and what its client needs.

Plain data and the marker's rules (``cases_for``), read from the loaded ``anyint.yaml``; no pytest,
no session, so collection, the session and the verdict share one definition of a case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, NamedTuple

from ..config import AnyIntConfig, ChainModel, ConfigError
from ..families import FAMILIES, FAMILY_NAMES, PLACEHOLDER_KEY, Family
from ..kinds import ALL_KINDS, ANSWER_FAMILIES, ANSWER_KINDS, listed
from ..text import lazy_pattern, model_slug, not_one_of

if TYPE_CHECKING:
    from .scenario import Scenario as Scenario  # re-exported (see __getattr__)


def __getattr__(name: str) -> Any:
    """``Scenario``, loaded on first use (``run.scenario``): only a fault case builds one."""
    if name == "Scenario":
        from .scenario import Scenario

        return Scenario
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

    def __repr__(self) -> str:
        return _repr_without_key(self, self.api_key)

    def client(self, **kwargs: Any) -> Any:
        """An ``httpx.Client`` for this target (base URL and auth headers set)."""
        import httpx

        return httpx.Client(base_url=self.base_url, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        import httpx

        return httpx.AsyncClient(base_url=self.base_url, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)


@dataclass(frozen=True)
class Gateway:
    """What session- and module-scoped client fixtures need: one place for URLs, headers and keys."""

    url: str
    api_key: str

    def __repr__(self) -> str:
        return _repr_without_key(self, self.api_key)

    def base_url(self, family: str) -> str:
        return _family(family, "base_url").base_url(self.url)

    def headers(self, family: str) -> dict[str, str]:
        return _family(family, "headers").auth_headers(self.api_key)

    def sdk_kwargs(self, family: str) -> dict[str, Any]:
        """Keyword arguments pointing the family's official SDK at the gateway (build clients once)."""
        return _family(family, "sdk_kwargs").sdk_kwargs(self.url, self.api_key)


def _family(name: str, method: str) -> Family:
    """The family ``anyint_gateway.<method>(name)`` asks for; a mistyped name fails the test with one line."""
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name
        pass
    from ..misuse import MisuseError

    raise MisuseError(f"anyint_gateway.{method}({name!r}): unknown family: {not_one_of(name, FAMILY_NAMES)}")


def _repr_without_key(target: Any, key: str) -> str:
    """The dataclass's repr with the key (a real one when recording) written as ``<key>``: pytest
    prints a failed test's fixture values, shortened in the middle, where no scrub can recognise
    the piece of the key that is left."""

    def shown(value: Any) -> str:
        text = repr(value)
        return text.replace(key, "<key>") if key and key != PLACEHOLDER_KEY else text

    parts = ", ".join(f"{f.name}={shown(getattr(target, f.name))}" for f in fields(target))
    return f"{type(target).__name__}({parts})"


# A NamedTuple: cheap to build at import, immutable, and it compares, hashes and prints (pytest
# shows a case's parameter in a failure) as the frozen dataclass did.
class RouteCase(NamedTuple):
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
            # A policy shared with media or music routes may list answer faults: they have no answers.
            kinds: Sequence[int | str] = [f for f in route.policy.faults if route.family in ANSWER_FAMILIES or f not in ANSWER_KINDS]
        elif isinstance(faults, (list, tuple)) and faults:
            kinds = faults
            for kind in kinds:
                if not (isinstance(kind, int) and 100 <= kind <= 599) and kind not in ALL_KINDS:
                    raise ConfigError(
                        f"route {label!r}: faults=: {kind!r} is neither an HTTP status nor a fault kind ({listed()})"
                    )
                if kind in ANSWER_KINDS and route.family not in ANSWER_FAMILIES:
                    raise ConfigError(
                        f"route {label!r}: faults=: {kind!r} is an answer fault of the chat families "
                        f"({', '.join(ANSWER_FAMILIES)}); the route's family {route.family} has task flows, not answers"
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


def case_label(case: RouteCase) -> str:
    what = f"route {case.label!r} model {case.model!r}"
    return what + (f" fault {case.fault!r}" if case.fault is not None else "")


def foreign_cassette(metadata: Any, case: RouteCase) -> str | None:
    """What another case a cassette says it belongs to; None when it is this case's (or unmarked).

    Only the plugin's own metadata is compared (route and model present): a cassette written by
    another tool, or by hand, carries no claim to check.
    """
    if not isinstance(metadata, dict) or "route" not in metadata or "model" not in metadata:
        return None
    recorded = RouteCase(str(metadata["route"]), str(metadata["model"]), 0, metadata.get("fault"))
    if (recorded.label, recorded.model, recorded.fault) == (case.label, case.model, case.fault):
        return None
    return case_label(recorded)


#: pytest's made-up id (``arg0``): only a test with two parametrizations needs it.
_auto_id = lazy_pattern(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*?)(?P<index>\d+)$")


def automatic_ids(other_ids: Sequence[str], argnames: Sequence[str]) -> list[str]:
    """The ids among another parametrization's that pytest made up from position (``arg0``…)."""
    found = []
    auto_id = _auto_id()
    for value in other_ids:
        match = auto_id.match(value)
        if match and match.group("name") in argnames:
            found.append(value)
    return found
