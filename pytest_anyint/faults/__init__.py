"""Faults: errors injected on purpose, to prove an app survives them.

Owns the fault record, its validation and the fault plan of a case, the wire shapes of injected
errors (bodies, headers, broken bodies and streams, shared with the emulator) and the fallback
policy check (``plan``).

May import: the standard library, third-party libraries and the ground modules; never another
subpackage.
"""
