"""Emulator: a loopback stand-in for the AnyInt gateway, for demos and end-to-end tests.

Owns the HTTP server and its answers per family, its fail and drift switches (``server``) and
the bounded reading of request bodies (``wire``).

May import: the standard library, the ground modules and ``faults`` (injected faults and the
emulator's fail switches share one wire shape).

The names below are the public API (``from pytest_anyint.emulator import Emulator``).
Importing this package starts nothing; ``Emulator(...).start()`` or ``serve(...)`` does.
"""

from .server import DEFAULT_API_KEY, DEFAULT_MODELS, Emulator, SeenRequest, is_loopback, serve

__all__ = ["DEFAULT_API_KEY", "DEFAULT_MODELS", "Emulator", "SeenRequest", "is_loopback", "serve"]
