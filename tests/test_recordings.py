"""Recordings made outside Blender: tools/record.py (same engine, plain Python) and
BlenderSpike pickles (opened through a restricted unpickler)."""
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLES, REPO, isolated_env


def cells(scene):
    return next(o for o in scene.objects if o.get("neuron_live_cells"))


def test_record_outside_blender_then_open(nl, scene, tmp_path):
    import neuron
    env = isolated_env(tmp_path)
    env["PYTHONPATH"] = str(Path(neuron.__file__).parent.parent)  # NEURON, as a cluster env has it
    out = tmp_path / "net.nlcache"
    result = subprocess.run([sys.executable, str(REPO / "tools" / "record.py"), str(EXAMPLES / "ball_and_stick.hoc"),
                             "--tstop", "20", "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    cache = nl.open_recording(out)
    assert cache.meta["complete"] and cache.frames_done == 41
    obj = cells(scene)
    segment = nl.addon.scene.attributes.read(obj.data, "segment", "INT")
    np.testing.assert_array_equal(nl.frame_values(obj, 25), cache.frames[24][segment])
    # The same model simulated inside Blender gives the same frames.
    nl.load_model(str(EXAMPLES / "ball_and_stick.hoc"))
    inside = nl.run(tstop=20)
    np.testing.assert_allclose(inside.frames, cache.frames, atol=1e-4)


def test_recording_cannot_be_rerun(nl, scene, tmp_path):
    path = tmp_path / "spike.pickle"
    path.write_bytes(pickle.dumps(blenderspike_sections()))
    nl.open_recording(path)
    with pytest.raises(RuntimeError, match="is a recording"):
        nl.run(tstop=10)


def blenderspike_sections(frames=5):
    """Sections as BlenderSpike's CellRecorder pickles them (ID, type, X/Y/Z/DIAM, Voltage)."""
    soma = {"ID": 0, "type": "soma", "X": np.array([0.0, 20.0]), "Y": np.zeros(2), "Z": np.zeros(2),
            "DIAM": np.array([20.0, 20.0]), "Voltage": {k: np.array([-65.0 + 20 * k]) for k in range(frames)}}
    dend = {"ID": 1, "type": "dend", "X": np.array([20.0, 120.0, 220.0]), "Y": np.array([0.0, 30.0, 60.0]),
            "Z": np.zeros(3), "DIAM": np.array([2.0, 1.5, 1.0]),
            "Voltage": {k: np.array([-65.0 - k, -66.0 - k, -67.0 - k]) for k in range(frames)}}
    return [soma, dend]


def test_blenderspike_pickle_opens_into_meshes_and_frames(nl, scene, tmp_path):
    path = tmp_path / "Simple AP.pickle"
    path.write_bytes(pickle.dumps(blenderspike_sections()))
    cache = nl.open_recording(path)
    assert cache.frames.shape == (5, 4) and nl.addon.session.tasks.session.model.n_sections == 2
    obj = cells(scene)
    values = nl.frame_values(obj, 3)  # frame 3 shows BlenderSpike frame 2
    segment = nl.addon.scene.attributes.read(obj.data, "segment", "INT")
    expected = np.array([-25.0, -67.0, -68.0, -69.0], dtype=np.float32)[segment]
    np.testing.assert_array_equal(values, expected)


class _RunsCode:
    def __reduce__(self):
        return (__import__("os").system, ("touch should-not-exist",))


def test_pickle_that_runs_code_is_refused(nl, scene, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps([{"ID": 0, "X": _RunsCode()}]))
    with pytest.raises(nl.model_loaders.ModelLoadError, match="refused to load posix.system"):
        nl.open_recording(path)
    assert not (tmp_path / "should-not-exist").exists()


def test_not_a_pickle_is_a_clear_error(nl, scene, tmp_path):
    path = tmp_path / "notes.pickle"
    path.write_text("hello")
    with pytest.raises(nl.model_loaders.ModelLoadError, match="not a BlenderSpike recording"):
        nl.open_recording(path)


def record(tmp_path, model, out, *extra, mpi_ranks=0):
    import neuron
    env = isolated_env(tmp_path)
    env["PYTHONPATH"] = str(Path(neuron.__file__).parent.parent)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    command = [sys.executable, str(REPO / "tools" / "record.py"), str(model), "--out", str(out), *extra]
    if mpi_ranks:
        command = ["mpiexec", "-n", str(mpi_ranks), *command, "--mpi"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def columns_by_name(model):
    return {(model.section_names[s], round(float(x), 4)): i
            for i, (s, x) in enumerate(zip(model.segment_section, model.segment_x))}


@pytest.mark.skipif(not __import__("shutil").which("mpiexec"),
                    reason="no mpiexec: make test installs Debian's OpenMPI when it runs as root")
def test_parallel_network_recorded_on_two_ranks_equals_one(nl, scene, tmp_path):
    serial, parallel = tmp_path / "serial.nlcache", tmp_path / "parallel.nlcache"
    record(tmp_path, EXAMPLES / "parallel_ring.py", serial, "--tstop", "30")
    out = record(tmp_path, EXAMPLES / "parallel_ring.py", parallel, "--tstop", "30", mpi_ranks=2)
    assert "from 2 ranks" in out
    one = nl.open_recording(serial)
    one_model, one_frames = nl.addon.session.tasks.session.model, np.array(one.frames)
    two = nl.open_recording(parallel)
    two_model = nl.addon.session.tasks.session.model
    assert two.meta["complete"] and two_model.n_segments == one_model.n_segments == 100
    assert len(two_model.cell_names) == 10
    assert len(two_model.netcon_weight) == len(one_model.netcon_weight) == 10, "every rank's NetCons are kept"
    a, b = columns_by_name(one_model), columns_by_name(two_model)
    order = [b[key] for key in a]
    np.testing.assert_allclose(np.asarray(two.frames)[:, order], one_frames, atol=1e-4)
    somas = [a[(f"cell{gid}_soma", 0.5)] for gid in range(10)]
    assert (one_frames[:, somas].max(axis=0) > 0).all(), "the spike travels around the whole ring"
