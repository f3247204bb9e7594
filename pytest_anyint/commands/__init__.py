"""Commands: one module per ``pytest-anyint`` CLI command (``check``, ``prune``, ...).

These are the only modules that print. ``pytest_anyint.cli`` imports a command's module only
when that command runs.

May import: anything in the package except ``plugin``; nothing imports a command but ``cli``.
"""
