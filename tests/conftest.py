"""Run every test against the real bpy module and real NEURON, with Blender's user
folders in a temporary directory (set before bpy is imported).

The add-on is enabled from this source folder (tools/headless.py), so Blender installs
the bundled wheels itself and NEURON comes from them, as it does for users.
"""
import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from headless import PACKAGE, enable_from_source, isolate_profile  # noqa: E402

EXAMPLES = REPO / "examples"
MORPHOLOGIES = REPO.parent / "shared" / "morphologies"

isolate_profile(tempfile.mkdtemp(prefix="neuron-live-tests-"))
import bpy  # noqa: E402  (after the profile is isolated)
import addon_utils  # noqa: E402


def isolated_env(tmp_path):
    """Environment for a subprocess with its own Blender profile and no NEURON of ours."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NEURONHOME")}
    env["BLENDER_USER_RESOURCES"] = str(tmp_path / "blender")
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    return env


@pytest.fixture(scope="session")
def nl():
    """The enabled add-on package (its scripting API: nl.load_model, nl.run, ...)."""
    module = enable_from_source()
    yield module
    addon_utils.disable(PACKAGE, default_set=True)


HOSTS = ("PROCESS", "IN_BLENDER")  # where NEURON runs: the default first


def pytest_configure(config):
    config.addinivalue_line("markers", "in_blender: the test looks at NEURON in Blender's own process (`h`), "
                                       "so its scene loads models there (the default is a process of their own)")


@pytest.fixture
def scene(nl, request):
    """An empty scene for each test; no simulation left running. Tests marked `in_blender`
    get a scene whose models load into Blender's own NEURON."""
    from importlib import import_module
    session = import_module(PACKAGE + ".addon.session.tasks").session
    if session.task is not None:
        nl.cancel()
        import_module(PACKAGE + ".addon.session.tasks").wait(session.task, timeout=60)
    bpy.ops.wm.read_homefile(use_empty=True)
    if request.node.get_closest_marker("in_blender"):
        bpy.context.scene.neuron_live.host = "IN_BLENDER"
    return bpy.context.scene


@pytest.fixture
def model_copy(tmp_path):
    """Copy an example into tmp_path (models write beside themselves) and return its path."""
    def copy(name):
        import shutil
        source = EXAMPLES / name
        target = tmp_path / name
        shutil.copy(source, target)
        return target
    return copy


def write(folder, name, text):
    """Write a model file (and its folders) for a test; returns its path."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def session_of(nl):
    """The add-on's session: the model, its host, the task in flight."""
    return nl.addon.session.tasks.session


def neuron_site():
    """The folder plain-NEURON subprocesses import NEURON from (the bundled one)."""
    import neuron
    return str(Path(neuron.__file__).parent.parent)


def plain_neuron_json(code, tmp_path):
    """Run `code` (a script printing one JSON line last) in a plain-NEURON subprocess: the
    independent oracle the add-on's frames are compared with."""
    import json
    import subprocess
    import textwrap
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env={**isolated_env(tmp_path), "NEURON_MODULE_OPTIONS": "-nogui"}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def crossings(trace, per_ms):
    """Times (ms) where `trace` crosses 0 mV upwards: its spikes."""
    import numpy as np
    above = np.asarray(trace) >= 0
    return np.flatnonzero(above[1:] & ~above[:-1]) / per_ms
