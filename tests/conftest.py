"""Shared helpers for the project's own tests: a throwaway user project inside ``pytester``."""

from __future__ import annotations

import textwrap
from pathlib import Path

# pytester's in-process runs forget the modules a run imported; C extensions (PyYAML's, rpds for
# jsonschema) cannot be imported twice into one process, and hypothesis's pytest plugin imports
# hypothesis (1.5 s) at the end of every run, so the outer session imports them once.
import httpcore  # noqa: F401 - httpx maps httpcore's errors by class; a re-imported httpcore breaks that
import httpcore2  # noqa: F401
import hypothesis  # noqa: F401
import jsonschema  # noqa: F401
import pytest
import vcr  # noqa: F401
import yaml  # noqa: F401

import pytest_anyint


def _import_the_plugin_whole() -> None:
    """Import every module of the plugin in the outer session.

    An in-process run forgets the modules it imported, but a package keeps its submodules as
    attributes: the next run's ``from . import interceptor`` finds the forgotten copy while
    ``from .cassettes import ...`` imports a fresh one, and ``isinstance`` or ``except`` across the
    two copies fails. Files that import few plugin modules themselves showed this when run alone.
    """
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(pytest_anyint.__path__, "pytest_anyint."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


_import_the_plugin_whole()

BASIC_CONFIG = """
version: 1
routes:
  extract:
    family: openai
    optimize: cost
    primary: gpt-5-mini
    fallbacks: [deepseek-v3.2-exp]
  chat:
    family: anthropic
    primary: claude-sonnet-4-6
    fallbacks: [claude-haiku-4-5]
  summarize:
    family: gemini
    primary: gemini-2.5-flash
    fallbacks: [gemini-2.5-pro]
pricing:
  gpt-5-mini: {input: 0.25, output: 2.0}
  deepseek-v3.2-exp: {input: 0.28, output: 0.42}
"""


#: The inner sessions' ini: pytester runs in-process, where the already imported plugin cannot be
#: assertion-rewritten again (a warning that says nothing about the code under test).
INI = """[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings = ignore::pytest.PytestAssertRewriteWarning
"""


class Project:
    """A user project: anyint.yaml, test files, and the cassettes a run leaves behind."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.root = Path(pytester.path)

    def config(self, text: str = BASIC_CONFIG) -> Path:
        path = self.root / "anyint.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    def tests(self, **files: str) -> None:
        self.pytester.makepyfile(**{name: textwrap.dedent(body) for name, body in files.items()})

    def cassettes(self) -> list[str]:
        """The test cases' cassettes (the Models API check's ``_models/`` aside)."""
        base = self.root / "cassettes"
        if not base.exists():
            return []
        return sorted(str(p.relative_to(base)) for p in base.rglob("*.yaml") if p.relative_to(base).parts[0] != "_models")

    def cassette(self, relative: str) -> Path:
        return self.root / "cassettes" / relative

    def record(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest("--anyint-record=once", "--anyint-emulator", "-p", "no:randomly", *args)

    def replay(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest(*args)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv("ANYINT_API_KEY", raising=False)
    monkeypatch.delenv("ANYINT_BASE_URL", raising=False)
    from pytest_anyint import parsecache

    parsecache.forget()  # as a new process would: what earlier in-process runs parsed is not at hand
    pytester.makeini(INI)
    proj = Project(pytester)
    proj.config()
    return proj
