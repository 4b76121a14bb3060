"""The layer rule of the README's "Architecture" section, checked on the source: every import of
every module (module level and inside functions) is parsed with ``ast`` and must point one way::

    edges (cli, api, web, demo, reports) -> services -> ingest -> store
                                         -> core -> park / reference / base modules

and no import cycle joins greenpark modules at module level (imports under ``if TYPE_CHECKING:``
do not run and are left out of the cycle check, not of the layer rules)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PKG = SRC / "greenpark"
EDGES = ("cli", "api", "web", "demo", "reports", "collect")

#: layer -> what it must never import (greenpark sub-packages, or third-party top-level names)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": ("store", "ingest", "services", "park", *EDGES, "duckdb", "psycopg", "sqlglot", "fastapi"),
    "reference": ("store", "ingest", "services", "park", "core", *EDGES, "duckdb"),
    "park": ("store", "ingest", "services", *EDGES, "duckdb"),
    "jsonsafe": ("store", "ingest", "services", "park", "core", *EDGES),
    "store": ("ingest", "services", *EDGES),
    "ingest": ("services", *EDGES),
    "services": EDGES,
    "api": ("cli",),
    "web": ("cli",),
    "collect": ("cli", "web"),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The most specific greenpark module ``name`` (a module or an attribute path) lives in."""
    parts = name.split(".")
    while parts and ".".join(parts) not in MODULES:
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
        (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported name, line, at module level) of every import in ``module``; greenpark names are
    resolved to modules, others kept as their top-level package."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.body:
                    visit_stmt(sub, False)
                for sub in child.orelse:
                    visit_stmt(sub, top)
                continue
            visit_stmt(child, top)

    def visit_stmt(child: ast.AST, top: bool) -> None:
        if isinstance(child, ast.Import):
            for a in child.names:
                out.append((_name(a.name), child.lineno, top))
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - child.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for a in child.names:
                full = f"{base}.{a.name}" if base.startswith("greenpark") else base
                out.append((_name(full), child.lineno, top))
        nested = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        visit(child, top and not nested)

    visit(tree, True)
    return out


def _name(name: str) -> str:
    return _resolve(name) if name == "greenpark" or name.startswith("greenpark.") else name.split(".")[0]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _target_layer(name: str) -> str:
    return name.split(".")[1] if name.startswith("greenpark.") else name


def violations() -> list[str]:
    out = []
    for module in MODULES:
        banned = FORBIDDEN.get(_layer(module) or "")
        if not banned:
            continue
        for name, line, _ in imports(module):
            if _target_layer(name) in banned and _layer(module) != _target_layer(name):
                where = MODULES[module]
                where = where.relative_to(SRC) if where.is_relative_to(SRC) else where
                out.append(f"{where}:{line}: {module} imports {name}")
    return out


def cycles() -> list[list[str]]:
    """Strongly connected components (of more than one module, or a module importing itself) of
    the module-level import graph between greenpark modules."""
    graph = {m: sorted({n for n, _, top in imports(m) if top and n in MODULES and n != m}) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return out


def test_layers_import_one_way():
    found = violations()
    assert not found, "imports against the layer rule (README, Architecture):\n" + "\n".join(found)


def test_no_import_cycle_between_greenpark_modules():
    found = cycles()
    assert not found, "module-level import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_checker_sees_imports_inside_functions_and_resolves_names():
    """The parser itself: nested imports count, `from greenpark.x import name` resolves to x."""
    assert any(n == "greenpark.services.mv_projects" and not top for n, _, top in imports("greenpark.api.routes.mv"))
    nested = [(n, top) for n, _, top in imports("greenpark.cli.energy") if n == "greenpark.services.energy"]
    assert nested and not any(top for _, top in nested)  # imported inside the command only
    assert _resolve("greenpark.services.energy.By") == "greenpark.services.energy"


@pytest.mark.parametrize("package", sorted({m for m, p in MODULES.items() if p.name == "__init__.py"}))
def test_every_package_says_what_it_is_and_may_import(package):
    doc = ast.get_docstring(ast.parse(MODULES[package].read_text(encoding="utf-8")))
    assert doc and len(doc) > 40, f"{package}: a package docstring saying what the layer is and what it may import"


def test_the_checker_fails_on_a_violation_and_a_cycle(tmp_path, monkeypatch):
    """Planted modules: a core module importing the store inside a function, and two core modules
    importing each other at module level."""
    (tmp_path / "bad.py").write_text("def f():\n    from greenpark.store import Store\n    return Store\n")
    (tmp_path / "a.py").write_text("from greenpark.core import fake_b\n")
    (tmp_path / "b.py").write_text("import greenpark.core.fake_a\n")
    monkeypatch.setitem(MODULES, "greenpark.core.fake_bad", tmp_path / "bad.py")
    monkeypatch.setitem(MODULES, "greenpark.core.fake_a", tmp_path / "a.py")
    monkeypatch.setitem(MODULES, "greenpark.core.fake_b", tmp_path / "b.py")
    assert any("greenpark.core.fake_bad imports greenpark.store" in v for v in violations())
    assert ["greenpark.core.fake_a", "greenpark.core.fake_b"] in cycles()
