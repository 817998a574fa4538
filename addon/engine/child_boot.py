"""How a NEURON process of ours starts: the interpreter, its sys.path and the few lines
that import our bpy-free engine in it without the extension's (bpy) package. Shared by the
child host and the MPI ranks of a run across processes. No bpy."""
import importlib.util
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the extension's root folder
CHILD_PACKAGE = "neuron_live_host"
CHILD_ENV = {"NEURON_MODULE_OPTIONS": "-nogui", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}

# Imports the child's module without running the extension's (bpy) package __init__ files.
_BOOT = """
import importlib, json, sys, types
root, package, paths = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [p for p in paths if p not in sys.path]
for name, folder in ((package, root), (package + ".addon", root + "/addon")):
    module = types.ModuleType(name)
    module.__path__ = [folder]
    sys.modules[name] = module
importlib.import_module(package + ".addon.engine.host_child").main()
"""
# The same, for each MPI rank of a run across processes (`record.main_into`).
_MPI_BOOT = _BOOT.replace('".addon.engine.host_child").main()', '".addon.engine.record").main_into(sys.argv[4:])')


def child_command(*, mpi_args=None, python=None, paths=None):
    """The argv of a child host (or, with `mpi_args`, of one MPI rank); `paths`: its
    sys.path (default: this process's, `child_sys_path()`)."""
    boot = _BOOT if mpi_args is None else _MPI_BOOT
    return [python or child_python(), "-u", "-c", boot, str(ROOT), CHILD_PACKAGE,
            json.dumps(paths if paths is not None else child_sys_path()), *(mpi_args or ())]


SPARE_ENV = "NEURON_LIVE_SPARE"  # set for a spare child: one that cannot import NEURON ends at once


def child_environment(*, spare=False):
    return dict(os.environ, **CHILD_ENV, **({SPARE_ENV: "1"} if spare else {}))


def child_python():
    """Blender's own Python interpreter. Blender's `sys.executable` is its bundled python
    (or, for a distribution's Blender built on the system Python, whatever `python3.x` is
    first on PATH, e.g. a pyenv shim): prefer the interpreter in `sys.prefix`."""
    own = Path(sys.prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(own) if own.is_file() and os.access(own, os.X_OK) else sys.executable


def child_sys_path():
    """This process's sys.path, with the folder NEURON is imported from (found without
    importing it into Blender) first when it is not already there."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    spec = importlib.util.find_spec("neuron") if "neuron" not in sys.modules else None
    origin = sys.modules["neuron"].__file__ if "neuron" in sys.modules else (spec and spec.origin)
    if origin:
        site = str(Path(origin).resolve().parent.parent)
        if site not in paths:
            paths.insert(0, site)
    return paths
