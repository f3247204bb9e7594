"""Drift: has the gateway's answer shape changed since the cassette was recorded?

Owns shape fingerprints and their comparison, drift findings, the in-run comparison on
re-record, the readers of cassette trees (directories and git revisions), the renderers and the
``pytest-anyint drift`` command's work (``shape``).

May import: the standard library, third-party libraries, the ground modules and ``cassettes``.
"""
