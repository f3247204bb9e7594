"""Contracts: is every gateway answer shaped the way its route family promises?

Owns the contract index (shipped in ``_contracts/``, read from its JSON form, plus user contract
directories) and everything that checks an answer against it. Its modules, from the ground up:
``schemas`` (reading and checking schema files), ``entries`` (index rows and route patterns),
``shipped`` (the shipped index's JSON form), ``violation`` (the record of a broken rule, loaded
only once one is found), ``violations`` (what a broken rule says),
``grammars`` (stream order and termination per family), ``validate`` (bodies and streams against
their schemas, fast path first), ``output`` (a route's ``output_schema`` on the model's text),
``index`` (``ContractIndex``: loading and routing) and ``gate`` (the per-case gate the
interceptor and ``check`` use).

May import: the standard library, third-party libraries (jsonschema, referencing, PyYAML) and the
ground modules; never another subpackage.

The names below are the public API (``from pytest_anyint.contracts import ContractIndex``).
Importing this package loads the index module; the plugin imports it only when a case needs it.
"""

from typing import TYPE_CHECKING, Any

from .gate import ContractGate, session_index
from .index import ContractIndex
from .output import load_output_schema
from .schemas import ContractError
from .shipped import SHIPPED_DIR

if TYPE_CHECKING:
    from .violation import Violation


#: The ``--anyint-contracts`` modes (``Violation.fails`` says what fails in each).
MODES = ("strict", "fail", "warn", "off")


def __getattr__(name: str) -> Any:
    """``Violation``, loaded on first use: a run whose answers keep their contracts never builds one."""
    if name == "Violation":
        from .violation import Violation

        return Violation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODES",
    "SHIPPED_DIR",
    "ContractError",
    "ContractGate",
    "ContractIndex",
    "Violation",
    "load_output_schema",
    "session_index",
]
