"""Cassettes: the files a run records and replays.

Owns the cassette format (body forms, YAML dump and load, parsing), where cassettes live and how
they are read and written (vcrpy's persister), the secret scan and scrub, and request matching
(``recording``).

May import: the standard library, third-party libraries (vcrpy, PyYAML) and the ground modules
(``families``, ``calls``, ``sse``, ``parsecache``, ...); never another subpackage.
"""
