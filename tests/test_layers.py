"""The package's imports point one way: core -> data / model -> inference / algorithms -> training / callbacks /
downstream / bench / report -> command lines. A test walks every import statement (ast), lazy ones included, and fails
on an upward import or a cycle, naming it.

training sits with callbacks, bench and downstream because it assembles a run from them: the benchmark callback
times the model through bench's protocols, and the trainer installs every callback."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "docketbert"

# Each top-level part of docketbert and its layer; a module may import its own layer and the ones below.
LAYERS = {
    "core": 0,
    "config": 0,
    "registry": 0,
    "data": 1,
    "model": 1,
    "inference": 2,
    "algorithms": 2,
    "training": 3,
    "callbacks": 3,
    "downstream": 3,
    "bench": 3,
    "report": 3,
}
COMMAND_LINE = 4  # docketbert/<command>.py and every __main__.py


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    parts = module.split(".")
    if parts[-1] == "__main__" or (len(parts) == 2 and parts[1] not in LAYERS and parts[1] != "__init__"):
        return COMMAND_LINE
    return LAYERS[parts[1]] if len(parts) > 1 else 0


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The docketbert modules `path` imports (at any depth of the file: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in ("docketbert", "data_prep"):
                while name not in modules and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name in modules:
                    found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    modules = set(files) | {"data_prep"}
    return {name: imports_of(path, modules) - {name} for name, path in files.items()}


def test_no_module_imports_a_layer_above_its_own():
    graph = import_graph()
    upward = [
        f"{m} (layer {layer_of(m)}) imports {dep} (layer {layer_of(dep)})"
        for m, deps in graph.items()
        for dep in sorted(deps)
        if dep != "docketbert" and (dep == "data_prep" or layer_of(dep) > layer_of(m))
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycles():
    graph = import_graph()
    # a package's __init__ is importable without its modules here: edges into a package name are its __init__'s
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep) :] + [dep] if dep in path else [node, dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_walk_sees_an_upward_import(tmp_path):
    """The check can fail: a core module importing the downstream layer is caught."""
    bad = tmp_path / "docketbert" / "core" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("from docketbert.downstream.tasks import TASKS\n")
    deps = imports_of(bad, {"docketbert.downstream.tasks", "docketbert.core.bad"})
    assert deps == {"docketbert.downstream.tasks"}
    assert layer_of("docketbert.downstream.tasks") > layer_of("docketbert.core.bad")
    assert layer_of("docketbert.train") == COMMAND_LINE and layer_of("docketbert.bench.__main__") == COMMAND_LINE


def test_data_prep_imports_only_docketbert():
    """data_prep holds the data stage's command lines: it imports docketbert, and docketbert never imports it."""
    for path in sorted((REPO / "data_prep").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("data_prep"), f"{path.name} imports {node.module}"
