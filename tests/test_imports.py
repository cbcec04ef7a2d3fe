"""The import directions nnzoo states hold: no import cycle, and no module imports a higher layer.

Read from the source with `ast` alone (nothing is imported): every `import` / `from ... import` of an nnzoo
module, at module level or inside a function, plus the module paths registry.py names as strings in its tables
(it imports them lazily with importlib, and a lazy import is still a dependency).
"""
from __future__ import annotations

import ast
from pathlib import Path

# The table docs/architecture.md states under "Import directions": change both together.
# A key covers that module and every module under it; the longest matching key wins. A key ending in
# ".__init__" covers only that package's __init__.py (so "nnzoo.__init__" is the top package alone).
LAYERS = {
    "nnzoo.__init__": 0,
    "nnzoo.errors": 0,
    "nnzoo.config": 0,
    "nnzoo.recipes": 0,
    "nnzoo.data": 1,
    "nnzoo.nn": 1,
    "nnzoo.eval.__init__": 1,
    "nnzoo.eval.metrics": 1,
    "nnzoo.eval.embeddings": 1,
    "nnzoo.models": 2,
    "nnzoo.train": 3,
    "nnzoo.tasks": 4,
    "nnzoo.registry": 5,
    "nnzoo.runs": 6,
    "nnzoo.experiments": 6,
    "nnzoo.report": 6,
    "nnzoo.tour": 7,
    "nnzoo.cli": 8,
    "nnzoo.__main__": 8,
}

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "nnzoo"
# registry.py's tables whose values name modules ("nnzoo.models.mlp:MLP:MLPConfig" -> nnzoo.models.mlp)
REGISTRY_TABLES = ("MODELS", "TASKS", "EXPERIMENTS", "RECIPE_MODULES")
# the modules that hold such tables (experiments are named above the registry: they train recipes)
LAZY_TABLES = ("nnzoo.registry", "nnzoo.experiments.catalog")


def _module_files() -> dict[str, Path]:
    """{dotted module name: file} for every .py under src/nnzoo (a package is named by its __init__.py)."""
    out = {}
    for f in sorted(PKG.rglob("*.py")):
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


MODULES = _module_files()
PACKAGES = {m for m, f in MODULES.items() if f.name == "__init__.py"}


def _target(base: str, name: str | None) -> str | None:
    """The nnzoo module `from base import name` depends on: base.name if that is a module, else base."""
    if base != "nnzoo" and not base.startswith("nnzoo."):
        return None
    if name and f"{base}.{name}" in MODULES:
        return f"{base}.{name}"
    return base


def _registry_strings(tree: ast.Module) -> list[tuple[str, int]]:
    """(module, line) for each module path in registry.py's MODELS / TASKS / EXPERIMENTS / RECIPE_MODULES."""
    out = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names, value = [t.id for t in node.targets if isinstance(t, ast.Name)], node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names, value = [node.target.id], node.value
        else:
            continue
        if not set(names) & set(REGISTRY_TABLES) or value is None:
            continue
        items = value.values if isinstance(value, ast.Dict) else getattr(value, "elts", [])
        for item in items:
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                out.append((item.value.split(":")[0], item.lineno))
    return out


def imports_of(module: str) -> dict[str, list[int]]:
    """{nnzoo module imported: [line, ...]} for one module, module-level and function-level alike."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if module in PACKAGES else module.rpartition(".")[0]
    found: dict[str, list[int]] = {}

    def add(target: str | None, line: int) -> None:
        if target is not None and target in MODULES:
            found.setdefault(target, []).append(line)
        elif target is not None:  # nnzoo.something that is no file: charge it to its nearest module
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target:
                found.setdefault(target, []).append(line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_target(alias.name, None), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base_parts = parts[:len(parts) - (node.level - 1)]
                assert len(base_parts) >= 1 and node.level - 1 < len(parts), \
                    f"{path}:{node.lineno}: relative import climbs out of the nnzoo package"
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                add(_target(base, None if alias.name == "*" else alias.name), node.lineno)
    if module in LAZY_TABLES:
        for target, line in _registry_strings(tree):
            add(_target(target, None), line)
    found.pop(module, None)  # a module naming itself is no dependency
    return found


def import_graph() -> dict[str, dict[str, list[int]]]:
    return {m: imports_of(m) for m in MODULES}


def _where(module: str, lines: list[int]) -> str:
    return f"{MODULES[module].relative_to(SRC.parent)}:{','.join(map(str, sorted(set(lines))))}"


def _sccs(graph: dict[str, dict]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop(); on_stack.discard(w); comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def _shortest_cycle(graph: dict[str, dict], start: str, members: set[str]) -> list[str]:
    """The shortest chain start -> ... -> start inside one component (breadth first)."""
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w not in members:
                    continue
                if w == start:
                    chain = [v]
                    while prev[chain[-1]] is not None:
                        chain.append(prev[chain[-1]])
                    return chain[::-1] + [start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is on no cycle inside its component")


def cycles(graph: dict[str, dict]) -> list[str]:
    """Per component of more than one module: a line naming its modules, then the shortest chain
    "a -> b -> a" through each of them, deduplicated."""
    out = []
    for comp in _sccs(graph):
        if len(comp) < 2:
            continue
        seen = set()
        out.append(f"{len(comp)} modules in one cycle: {', '.join(comp)}")
        for m in comp:
            chain = _shortest_cycle(graph, m, set(comp))
            ring = chain[:-1]
            key = min(tuple(ring[i:] + ring[:i]) for i in range(len(ring)))
            if key not in seen:
                seen.add(key)
                out.append("    " + " -> ".join(chain))
    return out


def layer_of(module: str) -> tuple[str, int] | None:
    """(label, layer) of the longest LAYERS key covering the module, or None."""
    name = module + ".__init__" if module in PACKAGES else module
    best = None
    for key, layer in LAYERS.items():
        if name == key or (not key.endswith(".__init__") and name.startswith(key + ".")):
            if best is None or len(key) > len(best[0]):
                best = (key, layer)
    if best is None:
        return None
    key, layer = best
    label = key.removesuffix(".__init__")
    return (label.removeprefix("nnzoo.") if label != "nnzoo" else label), layer


def test_the_graph_is_read_right():
    """A few edges checked by hand, so a walk that reads nothing cannot pass the tests below."""
    g = import_graph()
    # from ..train.device import autocast (tasks/charlm.py)
    assert "nnzoo.train.device" in g["nnzoo.tasks.charlm"]
    # from .errors import ... at module level, from .config import ... inside a function (cli.py)
    assert {"nnzoo.errors", "nnzoo.config", "nnzoo.registry"} <= set(g["nnzoo.cli"])
    # registry's tables name the modules it imports lazily
    assert {"nnzoo.models.mlp", "nnzoo.tasks.classify", "nnzoo.recipes.classify"} <= set(g["nnzoo.registry"])
    assert "nnzoo.experiments.xor" in g["nnzoo.experiments.catalog"]
    assert layer_of("nnzoo") == ("nnzoo", 0)
    assert layer_of("nnzoo.eval") == ("eval", 1)
    assert layer_of("nnzoo.eval.metrics") == ("eval.metrics", 1)
    assert layer_of("nnzoo.train.loop") == ("train", 3)
    assert layer_of("nnzoo.nowhere") is None


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, ("nnzoo modules import each other in a cycle; cut one edge of each:\n  "
                       + "\n  ".join(found))


def test_imports_go_down_the_layers():
    graph = import_graph()
    unplaced = sorted(m for m in graph if layer_of(m) is None)
    bad = []
    for m in sorted(graph):
        lm = layer_of(m)
        for t, lines in sorted(graph[m].items()):
            lt = layer_of(t)
            if lm is None or lt is None:
                continue
            if lt[1] > lm[1]:
                bad.append(f"{m} ({lm[0]}, {lm[1]}) imports {t} ({lt[0]}, {lt[1]})   [{_where(m, lines)}]")
    msg = []
    if unplaced:
        msg.append("modules in no layer: place each in LAYERS (tests/test_imports.py) and in the table of "
                   "docs/architecture.md, \"Import directions\":\n  " + "\n  ".join(unplaced))
    if bad:
        msg.append("a module may import only its own layer or lower; these import upwards:\n  " + "\n  ".join(bad))
    assert not msg, "\n".join(msg)
