"""Drift: has the gateway's answer shape changed since the cassette was recorded?

Owns shape fingerprints and their comparison (``shape``), drift findings and the in-run
comparison on re-record (``findings``), the readers of cassette trees in folders and git
revisions (``trees``) and the text, Markdown and JSON renderers (``render``). The
``pytest-anyint drift`` and ``diff`` commands print what these build.

May import: the standard library, third-party libraries, the ground modules and ``cassettes``.
"""
