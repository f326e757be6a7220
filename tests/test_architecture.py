"""The shape of the code, checked by parsing its imports: layers, no cycles, no private reads, short files.

- Packages import one way: ``profiling <- planners <- agents <- engine``; ``recommender`` reads
  exported datasets and may use ``profiling`` and the one definition of an item mention
  (``agents.validators.mentions``), never the engine.
- Inside ``engine`` the sub-packages are layers (:data:`ENGINE_LAYERS`, top first): a module may import
  its own sub-package and the layers below, never a layer above nor a sibling of its own layer.
- No import cycle between modules (imports made when a module loads; a function's own imports are
  made later, and the layers above keep those one way too).
- No module reads a private name (``_x``) of another project module.
- No module is over :data:`MAX_LINES` lines, except the few listed in :data:`LONG_MODULES` with why.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("profiling", "planners", "agents", "engine", "recommender")
RANK = {"profiling": 0, "planners": 1, "agents": 2, "engine": 3}
RECOMMENDER_MAY_IMPORT = ("recommender", "profiling", "agents.validators.mentions")

# Top first; packages in one layer are independent of each other.
ENGINE_LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"engine.demo"}),  # run, export and report in one command
    frozenset({"engine.run", "engine.export", "engine.report"}),  # the command lines
    frozenset({"engine.replay"}),
    frozenset({"engine.pipeline"}),
    frozenset({"engine.cluster", "engine.outputs"}),
    frozenset({"engine.store", "engine.gateway"}),
    frozenset({"engine.core"}),
    frozenset({"engine.config"}),
)

MAX_LINES = 450
# Modules still over the limit, owned by work going on elsewhere (stage 1's rewrite of profiling/);
# each is to be split there.
LONG_MODULES = {
    "profiling/sample_world.py": "the sample world generator (stage 1 rewrite)",
    "profiling/world_text.py": "the sample world's review text (stage 1 rewrite)",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported
    names: tuple[str, ...]  # names taken from it (from-imports)
    at_load: bool  # made when the module loads (top level, not under TYPE_CHECKING)
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports(module: str) -> Iterator[Import]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        at_load = parents.get(node) is tree and not _under_type_checking(node, parents)
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), at_load, node.lineno)
            continue
        target = _resolve(module, node)
        names = tuple(a.name for a in node.names)
        for name in names:
            if f"{target}.{name}" in MODULES:  # a submodule
                yield Import(module, f"{target}.{name}", (), at_load, node.lineno)
        # The names that are not submodules come from the package (or module) itself.
        names = tuple(n for n in names if f"{target}.{n}" not in MODULES)
        if names:
            yield Import(module, target, names, at_load, node.lineno)


IMPORTS = [imp for m in MODULES for imp in _imports(m)]
PROJECT = [imp for imp in IMPORTS if imp.target.split(".")[0] in PACKAGES]


def _engine_layer(module: str) -> tuple[int, str] | None:
    for k, layer in enumerate(ENGINE_LAYERS):
        for pkg in layer:
            if module == pkg or module.startswith(pkg + "."):
                return k, pkg
    return None


def test_the_packages_import_one_way() -> None:
    wrong = []
    for imp in PROJECT:
        src, dst = imp.module.split(".")[0], imp.target.split(".")[0]
        if src == "recommender":
            ok = any(imp.target == p or imp.target.startswith(p + ".") for p in RECOMMENDER_MAY_IMPORT)
        elif dst == "recommender":
            ok = src == "recommender"
        else:
            ok = RANK[dst] <= RANK[src]
        if not ok:
            wrong.append(f"{imp.module}:{imp.line} imports {imp.target}")
    assert not wrong, "imports against profiling <- planners <- agents <- engine:\n" + "\n".join(wrong)


def test_the_engine_sub_packages_are_layers() -> None:
    wrong = []
    for imp in PROJECT:
        src, dst = _engine_layer(imp.module), _engine_layer(imp.target)
        if src is None or dst is None or src[1] == dst[1]:
            continue  # outside the engine's layers (its front door, other packages), or one's own package
        if dst[0] <= src[0]:
            wrong.append(f"{imp.module}:{imp.line} imports {imp.target} ({dst[1]} is not below {src[1]})")
    assert not wrong, "\n".join(wrong)


def test_every_engine_module_is_in_a_layer() -> None:
    loose = [m for m in MODULES if m.startswith("engine.") and _engine_layer(m) is None]
    assert not loose, f"add these to ENGINE_LAYERS: {loose}"


def test_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in PROJECT:
        if imp.at_load and imp.target in MODULES and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm; the graph is small enough to recurse
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_module_reads_another_modules_private_names() -> None:
    wrong = [f"{imp.module}:{imp.line} imports {n} from {imp.target}" for imp in PROJECT
             for n in imp.names if n.startswith("_") and not n.startswith("__") and imp.target != imp.module]
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {a.asname or a.name: f"{n.module}.{a.name}" if isinstance(n, ast.ImportFrom) else a.name
                   for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                   for a in n.names}
        modules = {alias for alias, target in aliases.items() if target in MODULES and target != module}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                wrong.append(f"{module}:{node.lineno} reads {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_too_long(module: str) -> None:
    path = MODULES[module]
    rel = str(path.relative_to(ROOT))
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if rel in LONG_MODULES:
        return
    assert lines <= MAX_LINES, f"{rel} has {lines} lines (split it by what its parts hold)"


def test_no_test_imports_another_test_module() -> None:
    wrong = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            wrong += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                      if n.startswith("tests.") and n.split(".")[-1].startswith("test_")]
    assert not wrong, "shared test code belongs in tests/support:\n" + "\n".join(wrong)
