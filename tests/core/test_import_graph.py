"""The package's shape: floors as in docs/architecture.md, no import cycles, files that hold one idea.

Read from the source with ``ast`` (every ``import`` counts, including the ones inside functions that
would otherwise hide a cycle), so the test needs no import of the package and fails on the edge that
breaks the rule, naming it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "sparsestat"
FLOOR1 = {"linalg", "datasets"}
FLOOR2 = {"regression", "privacy", "sbl", "mcmc", "gemss"}
FLOOR3 = {"experiments", "cli", "__main__"}
# top-level helpers every floor may use (they import nothing of the package's floors)
BASE = {"_validation", "_progress", "exceptions", "__init__"}
MAX_LINES = 600


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(current: str, is_pkg: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        pkg = current.split(".") if is_pkg else current.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([node.module] if node.module else []))
    # "from .x import y" may import a submodule y: the edge goes to the submodules that exist, and to
    # the package itself only for names that are not submodules
    return [base] + [f"{base}.{a.name}" for a in node.names]


def _graph():
    modules = {}
    for path in ROOT.rglob("*.py"):
        modules[_module_name(path)] = path
    edges = {m: set() for m in modules}
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                targets = _resolve(mod, is_pkg, node)
            if isinstance(node, ast.ImportFrom) and len(targets) > 1:
                subs = [t for t in targets[1:] if t in modules]
                if len(subs) == len(targets) - 1:     # every imported name is a submodule
                    targets = subs
            for t in targets:
                if t in modules and t != mod:
                    edges[mod].add(t)
    return modules, edges


def _area(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _floor(area: str) -> int:
    if area in FLOOR1:
        return 1
    if area in FLOOR2:
        return 2
    if area in FLOOR3:
        return 3
    return 0


def _lazy_string_targets(path: Path) -> set[str]:
    """Dotted 'sparsestat.x.y' strings in a lazy export table (``__init__`` files resolve names on
    first access with importlib)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("sparsestat."):
            out.add(node.value)
    return out


def test_floors():
    modules, edges = _graph()
    bad = []
    for mod, targets in edges.items():
        a = _area(mod)
        for t in targets:
            b = _area(t)
            if a == b or b in BASE and b != "__init__":
                continue
            if t == "sparsestat":  # the top-level package: lazy, imports nothing eagerly
                continue
            fa, fb = _floor(a), _floor(b)
            if a in BASE and a != "__init__":
                bad.append(f"{mod} -> {t}: a top-level helper imports a floor")
            elif fa == 1 and fb >= 2:
                bad.append(f"{mod} -> {t}: floor 1 imports floor {fb}")
            elif fa == 2 and (fb == 3 or fb == 2):
                bad.append(f"{mod} -> {t}: floor-2 module imports {'floor 3' if fb == 3 else 'another floor-2 module'}")
    assert not bad, "import floors broken:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    modules, edges = _graph()
    # a package's __init__ importing its own submodules is how packages export; a submodule importing
    # its package's __init__ back would be a cycle and is reported
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(modules):
        if m not in state:
            visit(m)
    # parent-package edges (a.b -> a) are cycles only if a's __init__ imports a.b eagerly: both count
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_lazy_exports_exist():
    modules, _ = _graph()
    for init in ROOT.rglob("__init__.py"):
        for target in _lazy_string_targets(init):
            assert target in modules or target.rsplit(".", 1)[0] in modules, f"{init}: {target} does not exist"


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_file_size(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (> {MAX_LINES}): split it by idea"
