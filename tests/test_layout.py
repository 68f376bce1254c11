"""The package's layout: imports point one way, so no module imports one that imports it back.

Every ``import`` statement counts, wherever it is (module level, inside a function, under
``TYPE_CHECKING``): an import put inside a function to dodge a cycle is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "webhooks_app"
ROOT = Path(__file__).resolve().parents[1]


def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    modules = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that a module imports. ``from a import b`` imports module ``a.b``
    when there is one, and module ``a`` when ``b`` is a name defined in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from this package, or level - 1 packages up
                parts = package.split(".")
                anchor = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = {f"{base}.{alias.name}" for alias in node.names}
            submodules = names & modules.keys()
            found.update(submodules)
            if submodules != names:
                found.add(base)
    return (found & modules.keys()) - {module}


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    modules = module_names()
    return {module: imported_modules(module, path, modules) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as a list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    assert "webhooks_app.capture.signals" in graph["webhooks_app.apps"]  # imported in ready()
    assert "webhooks_app.capture.events" in graph["webhooks_app.capture.context"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    described = [
        " <-> ".join(component)
        + ": "
        + "; ".join(f"{m} imports {sorted(graph[m] & set(component))}" for m in component)
        for component in found
    ]
    assert not found, "Import cycles:\n" + "\n".join(described)


# The layers, bottom first: a module imports only from its own layer or the ones below.
# templating reads two settings (extra filters, size limit) through conf, so it sits with conf.
LAYERS = [
    {"choices", "exceptions", "conditions", "signing", "sandbox", "specs", "crypto"},
    {"conf", "templating"},
    {"models"},
    {"capture"},
    {"dispatch"},
    {"delivery"},
    {"worker"},
    {"checks", "admin", "api", "background_tasks", "management", "receiver", "urls"},
    {"apps"},
]


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return 0  # the package itself (an empty __init__)
    for number, names in enumerate(LAYERS):
        if parts[1] in names:
            return number
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def test_imports_only_point_down_the_layers() -> None:
    upward = [
        f"{module} -> {target}"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []
