"""The layout is the architecture: a test that reads every import and fails when the layers leak.

It walks every ``.py`` file under ``monitor/``, ``tasks/``, ``workers/``, ``frontdoors/`` and
``beat_schedule.py`` with :mod:`ast` (imports at module level *and* inside functions, since a
lazy import is still a dependency) and fails on:

* an import cycle between modules of these packages (each cycle is reported as a path);
* an import from ``monitor/`` (the domain) into ``tasks/``, ``workers/`` or ``frontdoors/``;
* a module over :data:`MAX_LINES` lines (Alembic's ``monitor/db/migrations/`` excepted: a
  migration is a frozen record, not a module anyone edits).

``KNOWN_VIOLATIONS`` lists the violations that exist on this branch in code other engineers are
rewriting at the same time. It is not a permanent allow-list: the test also fails when a listed
violation is gone, so the list can only shrink, and the lead empties it after the merge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("monitor", "tasks", "workers", "frontdoors")
SINGLE_MODULES = ("beat_schedule.py",)
DOMAIN = "monitor"
ABOVE_THE_DOMAIN = ("tasks", "workers", "frontdoors")
MAX_LINES = 400
LONG_MODULES_ALLOWED_UNDER = ("monitor/db/migrations/",)

# Violations in files owned by other branches of issue #10 (`rules`: spec, detect, check, KPIs;
# `effects`: alerts, recovery, registry, queue). Emptied by the lead after the merge.
KNOWN_VIOLATIONS: frozenset[str] = frozenset({
    # effects (recovery actions register themselves; seen once rules' typed results were merged)
    "cycle: monitor.recovery.actions -> monitor.recovery.notify -> monitor.recovery.actions",
    "upward import: monitor.queue -> tasks.check",
    # effects (registry adapters register themselves)
    "cycle: monitor.registry.adapters -> monitor.registry.builtin -> monitor.registry.adapters",
})


def module_name(path: Path, root: Path = ROOT) -> str:
    """``monitor/ingest/__init__.py`` -> ``monitor.ingest``; ``beat_schedule.py`` -> ``beat_schedule``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path = ROOT) -> list[Path]:
    files = [p for package in PACKAGES for p in sorted((root / package).rglob("*.py"))]
    return files + [root / name for name in SINGLE_MODULES if (root / name).exists()]


def imported_names(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    """Every dotted name an ``import`` or ``from ... import`` anywhere in ``tree`` may refer to.

    ``from a.b import c`` yields ``a.b.c``; :func:`resolve` turns it into the module ``a.b.c`` when
    that exists and into ``a.b`` (``c`` is a name in it) otherwise. Like ``import a.b.c``, it is
    not counted as importing the package ``a.b`` itself: every submodule import runs its
    parents' ``__init__``, and counting that would make each package that re-exports its own
    modules a cycle.
    """
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: climb from this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            names.update(base if alias.name == "*" else f"{base}.{alias.name}" for alias in node.names)
    return names


def resolve(name: str, modules: set[str]) -> str | None:
    """The module of ours that importing ``name`` runs: the longest prefix of it that exists."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (itself excluded)."""
    files = {module_name(p, root): p for p in source_files(root)}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = {resolve(n, modules) for n in imported_names(tree, module, path.name == "__init__.py")}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (no recursion limit on a deep import chain)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
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
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """For every tangle of modules that import each other, its shortest cycle through its
    smallest module, as a path that starts and ends there (``[a, b, a]``)."""
    found = []
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue
        start = min(component)
        paths = {start: [start]}
        frontier = [start]
        cycle = None
        while frontier and cycle is None:  # breadth first, inside the component
            following = []
            for node in frontier:
                for child in sorted(graph[node] & component):
                    if child == start:
                        cycle = paths[node] + [start]
                        break
                    if child not in paths:
                        paths[child] = paths[node] + [child]
                        following.append(child)
                if cycle:
                    break
            frontier = following
        found.append(cycle)
    return sorted(found)


def violations(root: Path = ROOT) -> set[str]:
    graph = import_graph(root)
    found = {"cycle: " + " -> ".join(cycle) for cycle in cycles(graph)}
    for module, targets in graph.items():
        if module.split(".")[0] != DOMAIN:
            continue
        found.update(f"upward import: {module} -> {target}" for target in targets
                     if target.split(".")[0] in ABOVE_THE_DOMAIN)
    for path in source_files(root):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(LONG_MODULES_ALLOWED_UNDER):
            continue
        if len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES:
            found.add(f"over {MAX_LINES} lines: {relative}")
    return found


# ---------------------------------------------------------------------------------------------
# the tree itself
# ---------------------------------------------------------------------------------------------


def test_the_tree_has_no_new_cycles_upward_imports_or_long_modules():
    new = violations() - KNOWN_VIOLATIONS
    assert not new, "layout violations (see docs/architecture.md, Layout):\n  " + "\n  ".join(sorted(new))


def test_every_known_violation_still_exists_so_the_list_cannot_rot():
    gone = KNOWN_VIOLATIONS - violations()
    assert not gone, "fixed, remove from KNOWN_VIOLATIONS:\n  " + "\n  ".join(sorted(gone))


def test_the_walk_sees_the_whole_tree():
    graph = import_graph()
    assert {"monitor.ingest", "monitor.db.schema", "tasks.check", "workers.app", "frontdoors.runner",
            "beat_schedule"} <= set(graph)
    assert "monitor.ingest.validate" in graph["monitor.ingest.readers"]


# ---------------------------------------------------------------------------------------------
# the checker on small made-up trees: it can fail
# ---------------------------------------------------------------------------------------------


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for package in PACKAGES:
        (root / package).mkdir(exist_ok=True)
        (root / package / "__init__.py").touch()
    return root


def test_a_cycle_through_a_function_level_import_is_reported_as_a_path(tmp_path):
    root = write_tree(tmp_path, {
        "monitor/a.py": "from monitor import b\n",
        "monitor/b.py": "def later():\n    import monitor.c\n",
        "monitor/c.py": "from monitor.a import thing\n",
    })
    assert violations(root) == {"cycle: monitor.a -> monitor.b -> monitor.c -> monitor.a"}


def test_the_domain_importing_a_task_is_reported_even_lazily(tmp_path):
    root = write_tree(tmp_path, {
        "monitor/queue.py": "def enqueue():\n    from tasks.check import run_check\n",
        "tasks/check.py": "from monitor import queue\n",
        "frontdoors/cli.py": "import tasks.check\nimport workers\n",  # allowed: front doors sit above
    })
    assert violations(root) == {
        "upward import: monitor.queue -> tasks.check",
        "cycle: monitor.queue -> tasks.check -> monitor.queue",
    }


def test_relative_imports_resolve_to_modules(tmp_path):
    root = write_tree(tmp_path, {
        "monitor/pkg/__init__.py": "from .inner import x\n",
        "monitor/pkg/inner.py": "from ..other import y\n",
        "monitor/other.py": "from monitor.pkg import z\n",
    })
    graph = import_graph(root)
    assert graph["monitor.pkg"] == {"monitor.pkg.inner"}
    assert graph["monitor.pkg.inner"] == {"monitor.other"}
    assert len(cycles(graph)) == 1


@pytest.mark.parametrize(("where", "reported"), [("monitor/long.py", True),
                                                 ("monitor/db/migrations/versions/0001_x.py", False)])
def test_a_long_module_is_reported_outside_migrations(tmp_path, where, reported):
    root = write_tree(tmp_path, {where: "x = 1\n" * (MAX_LINES + 1)})
    assert violations(root) == ({f"over {MAX_LINES} lines: {where}"} if reported else set())
