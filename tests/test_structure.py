"""Package structure rules: no attribute of ``dirnet`` shadows a subpackage, no import cycles.

A *part* is a top-level module or subpackage of ``dirnet`` (``dirnet.train``,
``dirnet.config``, ...). The import graph between parts is read from the source
(every ``import``, also inside functions, and every ``import_module("dirnet...")``
with a literal name), so a lazy import cannot hide a cycle.
"""
import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import dirnet

SRC = Path(dirnet.__file__).resolve().parent
#: ``_kernels`` is the compiled extension (built beside the sources, not among them).
PARTS = sorted({m.name for m in pkgutil.iter_modules([str(SRC)])} | {"_kernels"})


def test_no_attribute_shadows_a_subpackage():
    # In a fresh interpreter: shadowing depends on import order, so start clean.
    # Each part is reached as an attribute of ``dirnet`` (e.g. dirnet.parts.estimators)
    # and, once imported, the public names of ``dirnet`` are still what they were.
    parts = [p for p in PARTS if p not in ("__main__", "_kernels")]
    code = ("import importlib, dirnet\n"
            "public = {n: getattr(dirnet, n) for n in dirnet.__all__}\n"
            f"for name in {parts!r}:\n"
            "    mod = importlib.import_module('dirnet.' + name)\n"
            "    attr = getattr(dirnet, name)\n"
            "    assert attr is mod, f'dirnet.{name} is {attr!r}, not the module dirnet.{name}'\n"
            "for n, v in public.items():\n"
            "    assert getattr(dirnet, n) is v, f'importing the parts changed dirnet.{n}'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def _imported_modules(tree: ast.AST) -> list[str]:
    names = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            names += [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
            names += [f"{n.module}.{a.name}" for a in n.names] if n.module == "dirnet" else [n.module]
        elif (isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", None))
              == "import_module" and n.args and isinstance(n.args[0], ast.Constant)
              and isinstance(n.args[0].value, str)):
            names.append(n.args[0].value)
    return [m for m in names if m == "dirnet" or m.startswith("dirnet.")]


def part_graph() -> tuple[dict[str, set[str]], list[str]]:
    """``(edges between parts, imports of the package root from inside it)``."""
    edges: dict[str, set[str]] = {p: set() for p in PARTS}
    root_imports = []
    for f in sorted(SRC.rglob("*.py")):
        rel = f.relative_to(SRC)
        if rel == Path("__init__.py"):
            continue  # the root's own (lazy) imports of its parts are not a part's dependencies
        part = rel.parts[0].removesuffix(".py")
        for mod in _imported_modules(ast.parse(f.read_text(), str(f))):
            pieces = mod.split(".")
            if len(pieces) == 1 or pieces[1] not in PARTS:
                root_imports.append(f"{rel}: {mod}")
            elif pieces[1] != part:
                edges[part].add(pieces[1])
    return edges, root_imports


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state and (c := visit(v)):
                return c
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(edges):
        if u not in state and (c := visit(u)):
            return c
    return None


def test_no_import_cycle_between_parts():
    edges, _ = part_graph()
    assert _find_cycle(edges) is None, " -> ".join(_find_cycle(edges))


def test_parts_import_parts_not_the_package_root():
    # `import dirnet` inside the package hides which part is used (and makes a cycle through
    # the root's lazy attributes); name the part instead.
    _, root_imports = part_graph()
    assert root_imports == []


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_part_imports():
    for name in PARTS:
        if name != "__main__":
            importlib.import_module(f"dirnet.{name}")
