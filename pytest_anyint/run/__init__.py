"""Run: one pytest session of route cases, from opening a case to its verdict.

Owns the session (``session``: opens and closes cases, keeps the case results), the cases of a
route marker (``cases``), a running case's state (``context``), the case verdict (``verdict``: every
check after the body, and the cassette's age), cassette names from pytest's items (``naming``),
the httpx transport interceptor (``interceptor``), the network guard (``netguard``) and the
session's isolation (``isolation``: emulator set-up, log scrubbing), the age rules (``age``), the
Models API check (``models_check``) and ``--anyint-list-cassettes`` (``listing``).

May import: the standard library, third-party libraries, the ground modules and every other
subpackage except ``commands``; never ``plugin``.
"""
