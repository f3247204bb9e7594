"""A test's wrong call of the plugin's API, failed as its one line.

``MisuseError`` is a ``ValueError`` (a test may catch it as one, as the docs say) that pytest reports
as ``pytest.fail(message, pytrace=False)`` does: the line, without a traceback through the plugin's
own code. Raised where a test or a fixture calls the plugin (``anyint_faults.inject()``,
``anyint_gateway.sdk_kwargs()``); imported only when there is a mistake to report, so pytest is not
loaded by the modules that raise it.
"""

from __future__ import annotations

from _pytest.outcomes import Failed  # what ``pytest.fail`` raises (``pytest.fail.Exception``)


class MisuseError(Failed, ValueError):
    """A bad argument to the plugin's API: pytest shows the message alone."""

    # As pytest does for ``Failed``: the short summary reads "MisuseError: ...", not the module path.
    __module__ = "builtins"

    def __init__(self, message: str) -> None:
        super().__init__(message, pytrace=False)


__all__ = ["MisuseError"]
