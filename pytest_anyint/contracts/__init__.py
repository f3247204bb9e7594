"""Contracts: is every gateway answer shaped the way its route family promises?

Owns the contract index (shipped in ``_contracts/`` and extra directories), JSON Schema
validation, the stream grammars, output schemas and the per-case contract gate (``index``).

May import: the standard library, third-party libraries (jsonschema, PyYAML) and the ground
modules; never another subpackage.

The names below are the public API (``from pytest_anyint.contracts import ContractIndex``).
Importing this package loads the index module; the plugin imports it only when a case needs it.
"""

from .index import (
    MODES,
    SHIPPED_DIR,
    ContractError,
    ContractGate,
    ContractIndex,
    Violation,
    load_output_schema,
)

__all__ = [
    "MODES",
    "SHIPPED_DIR",
    "ContractError",
    "ContractGate",
    "ContractIndex",
    "Violation",
    "load_output_schema",
]
