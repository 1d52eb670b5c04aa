"""The app imports its screens, and nothing under ``tui/`` imports its way back.

Every import counts, also those inside functions (a lazy import is still a dependency and
still a cycle: the two modules cannot be read apart). Imports under ``if TYPE_CHECKING:``
are left out on purpose: they never run, and are how a screen names the app's type
without depending on it (tui/kiosk_node.py).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported(tree: ast.AST, module: str, is_package: bool) -> Iterable[str]:
    """Every module named by an import statement anywhere in ``tree`` (functions
    included), but not under ``if TYPE_CHECKING:``; ``from p import m`` names ``p.m``
    too, as ``m`` may be a module."""
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1]
                                + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        todo.extend(ast.iter_child_nodes(node))


def import_graph(sources: Mapping[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """module → the modules of ``sources`` it imports; ``sources`` maps a module to its
    text and whether it is a package."""
    return {name: {m for m in imported(ast.parse(text), name, package)
                   if m in sources and m != name}
            for name, (text, package) in sources.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def tui_sources() -> dict[str, tuple[str, bool]]:
    return {module_name(path, ROOT): (path.read_text(encoding="utf-8"),
                                      path.name == "__init__.py")
            for path in sorted((ROOT / "tui").rglob("*.py"))}


def test_no_import_cycle_under_tui():
    graph = import_graph(tui_sources())
    assert "tui.screens.home" in graph["tui.app"]  # the app's one way down
    assert cycles(graph) == []


def test_the_screens_do_not_import_the_app():
    graph = import_graph(tui_sources())
    assert [m for m, deps in graph.items() if "tui.app" in deps] == []


def test_a_cycle_through_an_import_inside_a_function_is_caught():
    sources = {
        "pkg": ("", True),
        "pkg.app": ("from pkg.screen import Screen\n", False),
        "pkg.screen": ("def app():\n    from pkg import app\n    return app\n", False),
        "pkg.typed": ("from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from pkg.app import App\n", False),
        "pkg.relative": ("from . import typed\nfrom .app import App\n", False),
    }
    graph = import_graph(sources)
    assert graph["pkg.screen"] == {"pkg", "pkg.app"}
    assert graph["pkg.typed"] == set()  # TYPE_CHECKING imports are left out
    assert graph["pkg.relative"] == {"pkg", "pkg.typed", "pkg.app"}
    assert cycles(graph) == [["pkg.app", "pkg.screen"]]


def test_every_worker_under_tui_leaves_failures_to_the_one_handler():
    """A worker started with Textual's default (exit_on_error=True) would take the kiosk
    down on an error instead of reaching KioskApp.worker_failed."""
    missing = []
    for name, (text, _) in tui_sources().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                # A bare ``@work`` takes every default.
                missing += [f"{name}:{d.lineno}" for d in node.decorator_list
                            if isinstance(d, ast.Name) and d.id == "work"]
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called not in ("work", "run_worker"):
                continue
            given = {k.arg: k.value for k in node.keywords}
            value = given.get("exit_on_error")
            if not (isinstance(value, ast.Constant) and value.value is False):
                missing.append(f"{name}:{node.lineno}")
    assert missing == []
