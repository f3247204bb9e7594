"""Run: one pytest session of route cases, from opening a case to its verdict.

Owns the session (``session``: cases, their context, the case results), the httpx transport
interceptor (``interceptor``), the network guard (``netguard``) and the session's isolation
(``isolation``: emulator set-up, log scrubbing), cassette age (``age``), the Models API check
(``models_check``) and ``--anyint-list`` (``listing``).

May import: the standard library, third-party libraries, the ground modules and every other
subpackage except ``commands``; never ``plugin``.
"""
