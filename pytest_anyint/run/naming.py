"""Cassette names from pytest's items: which file each route case records into.

A cassette is named after the test's module, its name, the route case and any other
parametrization; these rules read pytest's items, so they live apart from the session (which
knows no pytest) and from the plugin (glue only).
"""

from __future__ import annotations

import enum
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from .cases import RouteCase, automatic_ids


def _outside_rootdir(item: pytest.Item) -> str:
    """The module part of a cassette path for a test file outside the rootdir, whose node id pytest
    leaves without a path (``::test_x``): its path relative to the rootdir, ``..`` spelled ``_up``,
    so two such modules never share a cassette."""
    try:
        relative = os.path.relpath(item.path, item.config.rootpath)
    except ValueError:  # another drive
        relative = str(item.path).replace(":", "")
    parts = [("_up" if part == ".." else part) for part in relative.replace(os.sep, "/").split("/") if part]
    return "/".join(parts)


def command_id(item: pytest.Item) -> str:
    """The id to put in an advised command: the node id, or for a test file outside the rootdir
    (node id ``::test_x``) its path from the current folder plus the test part."""
    if not item.nodeid.startswith("::"):
        return item.nodeid
    try:
        where = os.path.relpath(item.path)
    except ValueError:
        where = str(item.path)
    return where.replace(os.sep, "/") + item.nodeid


def _explicitly_named(item: pytest.Item) -> set[str]:
    """Argument names whose parametrize ids the user gave (``ids=`` or ``pytest.param(id=)``)."""
    names: set[str] = set()
    for mark in item.iter_markers("parametrize"):
        if not mark.args:
            continue
        argnames = mark.args[0]
        argnames = [n.strip() for n in argnames.split(",")] if isinstance(argnames, str) else list(argnames)
        values = mark.args[1] if len(mark.args) > 1 else mark.kwargs.get("argvalues", ())
        if mark.kwargs.get("ids") is not None or any(getattr(v, "id", None) is not None for v in values or ()):
            names.update(argnames)
    return names


def _named_by_value(value: Any) -> bool:
    """Whether pytest names a parameter of this value by the value (so an id such as ``x0`` was
    given by the user, not made up from the position)."""
    if isinstance(value, (str, bytes, int, float, complex, type(None), re.Pattern, enum.Enum)):
        return True
    return (isinstance(value, type) or callable(value)) and isinstance(getattr(value, "__name__", None), str)


def cassette_names(item: pytest.Item, case: RouteCase) -> tuple[str, str, str | None]:
    nodeid_path = item.nodeid.split("::")[0]
    if not nodeid_path:  # a test file outside the rootdir
        nodeid_path = _outside_rootdir(item)
    module_path = nodeid_path[:-3] if nodeid_path.endswith(".py") else nodeid_path
    parts = item.nodeid.split("::")[1:]
    parts[-1] = getattr(item, "originalname", parts[-1].split("[")[0])
    test_name = ".".join(parts)
    other: str | None = None
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        full = callspec.id
        other = full.replace(case.id, "", 1).strip("-") or None
        if other:
            explicit = _explicitly_named(item)
            argnames = [
                n for n in callspec.params
                if n != "_anyint_case" and n not in explicit and not _named_by_value(callspec.params[n])
            ]
            auto = automatic_ids(other.split("-"), argnames)
            if auto:
                warnings.warn(
                    pytest.PytestWarning(
                        f"{item.nodeid}: parametrize id {auto[0]!r} is position-based, so inserting a case "
                        f"renames its cassettes; give that parametrization explicit ids="
                    ),
                    stacklevel=2,
                )
    return module_path, test_name, other


def cassette_clash(
    config: pytest.Config, nodes: Sequence[Any], cassette_path: Callable[[pytest.Item, RouteCase], Path]
) -> str | None:
    """The message when two route cases among ``nodes`` would record into one cassette file, or None."""
    owners: dict[str, str] = {}
    for node in nodes:
        callspec = getattr(node, "callspec", None)
        case = callspec.params.get("_anyint_case") if callspec is not None else None
        if case is None:
            continue
        path = cassette_path(node, case)
        first = owners.setdefault(str(path).casefold(), node.nodeid)
        if first != node.nodeid:
            try:
                shown = path.relative_to(config.rootpath)
            except ValueError:
                shown = path
            return (
                f"{first} and {node.nodeid} would record into the same cassette {shown}: give them "
                f"parametrize ids that differ in more than letter case or characters outside [A-Za-z0-9._-]"
            )
    return None
