"""The app's model chains, read from ``anyint.yaml``.

It is the same file the test plugin reads, so the chain the tests prove is the chain production
runs: promoting a fallback is a one-line config change, never a code change.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from .fallback import Link

#: ``examples/anyint.yaml``; ``INVOICE_APP_CONFIG`` points the app at another file.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "anyint.yaml"
CONFIG_ENV = "INVOICE_APP_CONFIG"


@functools.lru_cache(maxsize=4)
def load_routes(path: str | None = None) -> dict[str, tuple[Link, ...]]:
    """Every route's chain (primary first), by workload label."""
    import yaml

    config = Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    data: dict[str, Any] = yaml.safe_load(config.read_text(encoding="utf-8"))
    routes = {}
    for label, route in (data.get("routes") or {}).items():
        family = route["family"]
        chain = [Link(route["primary"], family)]
        for item in route.get("fallbacks") or []:
            chain.append(Link(item, family) if isinstance(item, str) else Link(item["model"], item.get("family", family)))
        routes[label] = tuple(chain)
    return routes


def chain(workload: str, path: str | None = None) -> tuple[Link, ...]:
    """The chain of one workload; KeyError names the configured ones."""
    routes = load_routes(path)
    try:
        return routes[workload]
    except KeyError:
        raise KeyError(f"no route {workload!r} in the config; configured: {', '.join(sorted(routes))}") from None


def missing_models(clients: Any, path: str | None = None) -> list[str]:
    """Configured models the gateway's Models API does not list for this key (the gateway's docs:
    call it first in any new environment; availability varies by account, plan and purchase)."""
    listed = {model.id for model in clients.openai.models.list()}
    configured = dict.fromkeys(link.model for chain in load_routes(path).values() for link in chain)
    return [model for model in configured if model not in listed]
