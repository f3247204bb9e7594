"""Emulator: a loopback stand-in for the AnyInt gateway, for demos and end-to-end tests.

Owns the HTTP server, the emulator's lifecycle and request routing (``server``), its answers per
family (``answers``), the media and music task flows (``tasks``), the fail, drift, quirk and
canned-answer switches (``switches``), what it sends back (``replies``) and the bounded reading of
request bodies (``wire``). Its faults are the fault engine's own objects and wire shapes.

May import: the standard library, the ground modules and ``faults`` (injected faults and the
emulator's fail switches are one engine).

The names below are the public API (``from pytest_anyint.emulator import Emulator``).
Importing this package starts nothing; ``Emulator(...).start()`` or ``serve(...)`` does.
"""

from .server import DEFAULT_API_KEY, DEFAULT_MODELS, Emulator, SeenRequest, is_loopback, serve

__all__ = ["DEFAULT_API_KEY", "DEFAULT_MODELS", "Emulator", "SeenRequest", "is_loopback", "serve"]
