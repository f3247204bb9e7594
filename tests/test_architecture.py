"""The package's layout rules, read from the source: who may import whom.

Every import counts, also the ones inside functions (a lazy import still ties two modules
together). Ground modules (top level of ``pytest_anyint/``) import only the standard library,
third-party libraries and other ground modules; nothing imports ``plugin`` or ``commands``
(except ``cli``, which runs the commands); no two modules import each other, directly or round
a loop. See docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_anyint"
#: Top-level modules that are not ground: the two entry points and the package itself.
ENTRY_POINTS = {"pytest_anyint.plugin", "pytest_anyint.cli"}
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """The package modules ``name`` imports, anywhere in its code."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if target in MODULES:
                    found.add(target)  # from package import module
                elif source in MODULES:
                    found.add(source)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
    found.discard(name)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _subpackage(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and MODULES[name].name == "__init__.py") else None


def _is_ground(name: str) -> bool:
    return name != "pytest_anyint" and _subpackage(name) is None and name not in ENTRY_POINTS


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_the_reader_sees_every_module_and_its_lazy_imports():
    # the rules below are only as good as this reading of the source
    assert {"pytest_anyint.plugin", "pytest_anyint.config", "pytest_anyint.run.session"} <= set(MODULES)
    assert "pytest_anyint.run.session" in GRAPH["pytest_anyint.plugin"]  # a function-level import
    assert "pytest_anyint.cassettes" in GRAPH["pytest_anyint.run.interceptor"]  # from .. import x
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles():
    circles = _circles(GRAPH)
    assert not circles, "modules that import each other (directly or round a loop): " + "; ".join(
        " <-> ".join(c) for c in circles
    )


def test_ground_modules_import_no_subpackage():
    wrong = sorted(
        f"{name} imports {target}"
        for name in MODULES
        if _is_ground(name)
        for target in GRAPH[name]
        if not (_is_ground(target) or target == "pytest_anyint")
    )
    assert not wrong, wrong


#: The subpackages each subpackage may import besides the ground modules (its own __init__ docstring
#: says the same); run and commands may import every subpackage but commands.
MAY_IMPORT: dict[str, set[str]] = {
    "cassettes": set(),
    "contracts": set(),
    "faults": set(),
    "drift": {"cassettes"},
    "report": set(),
    "emulator": {"faults"},
}


def test_each_subpackage_imports_only_what_it_may():
    wrong = sorted(
        f"{name} imports {target}"
        for name in MODULES
        if (own := _subpackage(name)) in MAY_IMPORT
        for target in GRAPH[name]
        if (other := _subpackage(target)) not in (None, own) and other not in MAY_IMPORT[own]
    )
    assert not wrong, wrong


def test_nothing_imports_the_plugin_or_the_commands():
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if (target == "pytest_anyint.plugin" or _subpackage(target) == "commands")
        and not (name == "pytest_anyint.cli" or _subpackage(name) == "commands")
    )
    assert not wrong, wrong


def test_no_module_over_600_lines():
    oversize = sorted(
        f"{path.relative_to(PACKAGE.parent).as_posix()} ({n} lines)"
        for path in MODULES.values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    )
    assert not oversize, f"split these modules by concern: {', '.join(oversize)}"


def test_test_modules_share_helpers_not_each_other():
    # shared sources and helpers live in tests/helpers.py (or conftest fixtures)
    tests = Path(__file__).resolve().parent
    wrong = []
    for path in sorted(tests.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = [module.rpartition(".")[2]] if module else [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name.rpartition(".")[2] for a in node.names]
            else:
                continue
            wrong += [f"{path.name} imports {name}" for name in names if (tests / f"{name}.py").exists()
                      and name.startswith("test_")]
    assert not wrong, wrong


def test_the_architecture_page_names_every_package_and_ground_module():
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    expected = {f"`{name.split('.')[1]}/`" for name in MODULES if _subpackage(name)}
    expected |= {f"`{name.split('.')[1]}.py`" for name in MODULES if _is_ground(name) or name in ENTRY_POINTS}
    missing = sorted(e for e in expected if e not in page)
    assert not missing, f"docs/architecture.md does not describe {', '.join(missing)}"
