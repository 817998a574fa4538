"""Architecture rules a test can check: bpy-free layers, imports pointing down the layers,
no import cycles, small modules."""
import subprocess
import sys
import textwrap

from conftest import REPO, isolated_env


def run_python(code, tmp_path):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, env=isolated_env(tmp_path), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_model_loaders_and_engine_run_without_bpy(tmp_path):
    """They must run in plain Python (and under MPI): importing them must not import bpy."""
    (tmp_path / "neuron_live").symlink_to(REPO)
    out = run_python(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import neuron_live.model_loaders, neuron_live.addon.engine, neuron_live.addon.shapes.polylines
        import neuron_live.addon.shapes.tubes, neuron_live.addon.colour.palettes, neuron_live.addon.colour.plots
        import neuron_live.addon.install.neuron_setup, neuron_live.addon.engine.state
        print("bpy" in sys.modules)
    """, tmp_path)
    assert out.strip() == "False"


# -- the import graph ------------------------------------------------------------------------
import ast  # noqa: E402

# Layers of the package, bottom to top: a module may import its own layer and the ones below.
LAYERS = (
    ("model_loaders",),
    ("addon.engine", "addon.shapes", "addon.colour", "addon.install"),
    ("addon.scene",),
    ("addon.session",),
    ("addon.job",),
    ("addon.ui",),
    ("addon.api",),
)
BPY_FREE = ("model_loaders", "addon.engine", "addon.shapes", "addon.colour", "addon.install")


def _module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[0] == "tools":
        return parts[-1]  # tools are scripts: they import each other by their stems
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path):
    """Every module `path` imports (at the top or inside functions), as names in this repo."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" if module else alias.name for alias in node.names)
    return found


def import_graph():
    files = [p for folder in ("addon", "model_loaders", "tools") for p in (REPO / folder).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            while imported and imported not in modules:  # `from pkg import name` names no module
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)  # a package's own __init__ is not a dependency of its members
        graph[name] = targets
    return graph


def _layer(module):
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return None


def test_no_import_cycles():
    graph = import_graph()
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(target):] + [target]))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_imports_point_down_the_layers():
    wrong = []
    for module, targets in import_graph().items():
        layer = _layer(module)
        for target in targets:
            if target == "addon.api":
                wrong.append(f"{module} imports the API facade")
            elif layer is not None and _layer(target) is not None and _layer(target) > layer:
                wrong.append(f"{module} (layer {layer}) imports {target} (layer {_layer(target)})")
    assert not wrong, "\n".join(wrong)


def test_bpy_free_layers_never_name_bpy():
    for module, path in ((_module_name(p), p) for p in REPO.rglob("*.py")):
        if any(module == p or module.startswith(p + ".") for p in BPY_FREE):
            assert not {"bpy", "bpy_extras", "addon_utils"} & {i.split(".")[0] for i in _imports(path)}, path


def test_modules_stay_small():
    big = [f"{p.relative_to(REPO)}: {len(p.read_text().splitlines())} lines"
           for folder in ("addon", "model_loaders") for p in (REPO / folder).rglob("*.py")
           if len(p.read_text().splitlines()) > 420]
    assert not big, big


HOST_IMPLEMENTATIONS = ("addon.engine.host_process", "addon.engine.host_thread", "addon.engine.host_child",
                        "addon.engine.host_mpi", "addon.engine.engine")


def test_the_session_holds_a_host_without_knowing_which():
    """The session talks to `host_base.EngineHost` (chosen in `engine.hosts`), never to one
    implementation: a new host needs no change above the engine."""
    wrong = [f"{module} imports {target}" for module, targets in import_graph().items()
             if module.startswith("addon.session") for target in targets if target in HOST_IMPLEMENTATIONS]
    assert not wrong, "\n".join(wrong)
