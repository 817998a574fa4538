"""More cores for one run: NEURON threads in either host, MPI processes beside a model in
a process of its own. The frames equal the one-core run's; a model that cannot use the
cores runs on one and the status says why."""
import shutil
import sys

import numpy as np
import pytest

from conftest import EXAMPLES, REPO

sys.path.insert(0, str(REPO / "tools"))
from bench_models import write_network  # noqa: E402

UNSAFE_MOD = """NEURON {
    SUFFIX unsafe
    NONSPECIFIC_CURRENT i
    GLOBAL calls
}
PARAMETER { calls = 0 }
ASSIGNED { i (mA/cm2) }
BREAKPOINT {
    calls = calls + 1
    i = 0
}
"""


def frames(nl, **settings):
    cache = nl.run(**settings)
    assert cache.meta["complete"], cache.meta
    return np.array(cache.frames)


UNSAFE_HOC = "create a, b, c, d\nforall { L = 20 diam = 20 insert hh insert unsafe }\n"


@pytest.mark.parametrize("host", ["IN_BLENDER", "PROCESS"])  # (first: no threaded run before it)
def test_a_mechanism_that_is_not_thread_safe_runs_on_one_thread(nl, scene, tmp_path, host):
    (tmp_path / "unsafe.mod").write_text(UNSAFE_MOD)
    model = tmp_path / "cells.hoc"
    model.write_text(UNSAFE_HOC)
    nl.load_model(str(model), host=host, build=False)
    one = frames(nl, tstop=5, threads=1)
    two = frames(nl, tstop=5, threads=2)
    np.testing.assert_allclose(two, one, atol=1e-6)
    status = scene.neuron_live.status
    assert "ran on 1 thread, not 2" in status and "unsafe is not thread safe" in status, status


@pytest.mark.parametrize("host", ["IN_BLENDER", "PROCESS"])
def test_two_threads_give_the_frames_of_one(nl, scene, tmp_path, host):
    network = write_network(tmp_path, 4, dends=3, nseg=9)
    nl.load_model(str(network), host=host, build=False)
    one = frames(nl, tstop=10, threads=1)
    two = frames(nl, tstop=10, threads=2)
    np.testing.assert_allclose(two, one, atol=1e-6)
    assert scene.neuron_live.threads == 2 and "ran on 1 thread" not in scene.neuron_live.status
    assert "threads" in str(np.load(nl.addon.session.tasks.session.cache.folder / "spikes.npz")["error"])
    continued = nl.continue_run(tstop=15)  # on the run's two threads, as one run to 15 ms would
    assert continued.meta["complete"]


def load_ring(nl, tmp_path):
    """The example ring, in a process of its own (its template stays out of Blender)."""
    shutil.copy(EXAMPLES / "network" / "ring.hoc", tmp_path / "ring.hoc")
    nl.load_model(str(tmp_path / "ring.hoc"), build=False, host="PROCESS")


def test_the_ring_on_two_threads(nl, scene, tmp_path):
    load_ring(nl, tmp_path)
    one = frames(nl, tstop=40, threads=1, own_run=False)
    two = frames(nl, tstop=40, threads=2)
    np.testing.assert_allclose(two, one, atol=1e-6)
    assert np.nanmax(one) > 0, "the ring fires"
    assert "ran on 1 thread" not in scene.neuron_live.status


def test_the_models_own_run_uses_one_thread_and_says_why(nl, scene, tmp_path):
    """Its frames come from Python events: NEURON's threads would deadlock calling them."""
    load_ring(nl, tmp_path)
    one = frames(nl, tstop=20, threads=1, own_run=True)
    two = frames(nl, tstop=20, threads=2)
    np.testing.assert_allclose(two, one, atol=1e-6)
    assert "ran on 1 thread, not 2: the model's own run()" in scene.neuron_live.status


@pytest.mark.parametrize("value", [0, 65, 1.5, True])
def test_a_core_count_that_cannot_work_is_refused(nl, scene, value):
    nl.load_model(str(EXAMPLES / "ball_and_stick.hoc"), build=False)
    with pytest.raises(ValueError, match="threads must be a whole number from 1 to 64"):
        nl.run(tstop=1, threads=value)
    assert scene.neuron_live.threads == 1, "a refused value is not stored"


needs_mpi = pytest.mark.skipif(not shutil.which("mpiexec"), reason="no mpiexec (make mpi installs OpenMPI)")


@needs_mpi
def test_two_processes_give_the_frames_of_one(nl, scene, tmp_path):
    shutil.copy(EXAMPLES / "parallel_ring.py", tmp_path / "parallel_ring.py")
    nl.load_model(str(tmp_path / "parallel_ring.py"), host="PROCESS", build=False)
    one = frames(nl, tstop=20)
    two = frames(nl, tstop=20, processes=2)
    np.testing.assert_allclose(two, one, atol=1e-5)
    assert "one process" not in scene.neuron_live.status, scene.neuron_live.status


@needs_mpi
def test_a_model_without_gids_runs_in_one_process_and_says_why(nl, scene, tmp_path):
    network = write_network(tmp_path, 2, dends=2, nseg=3)
    nl.load_model(str(network), host="PROCESS", build=False)
    one = frames(nl, tstop=3)
    two = frames(nl, tstop=3, processes=2)
    np.testing.assert_allclose(two, one, atol=1e-6)
    assert "ran in one process, not 2" in scene.neuron_live.status
    assert "deals cells out by gid" in scene.neuron_live.status


def test_processes_without_mpiexec_run_in_one_process(nl, scene, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    nl.load_model(str(EXAMPLES / "ball_and_stick.hoc"), host="PROCESS", build=False)
    frames(nl, tstop=2, processes=2)
    assert "mpiexec is not on PATH" in scene.neuron_live.status


def test_a_load_after_a_threaded_run_starts_on_one_thread(nl, scene, tmp_path):
    nl.load_model(str(write_network(tmp_path, 2, dends=1, nseg=3)), host="IN_BLENDER", build=False)
    frames(nl, tstop=1, threads=2)
    (tmp_path / "unsafe2.mod").write_text(UNSAFE_MOD.replace("unsafe", "unsafe2"))  # (new to this NEURON)
    (tmp_path / "cells.hoc").write_text(UNSAFE_HOC.replace("unsafe", "unsafe2"))
    nl.load_model(str(tmp_path / "cells.hoc"), host="IN_BLENDER", build=False)
    assert nl.addon.session.tasks.session.host.kind == "IN_BLENDER", "loaded in Blender, where the threads were"
