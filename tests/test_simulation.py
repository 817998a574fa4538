"""Simulation through the scripting API and the operators, checked against NEURON's own
recordings (h.Vector().record), never against what our code wrote."""
import bpy
import numpy as np
import pytest

from conftest import EXAMPLES, neuron_site, plain_neuron_json


def record_independently(h, dt):
    """Record soma(0.5).v and the last dendrite segment every dt, NEURON's own way."""
    soma = next(sec for sec in h.allsec() if sec.name().endswith("soma"))
    dend = next(sec for sec in h.allsec() if sec.name().endswith("dend"))
    vectors = [h.Vector().record(seg._ref_v, dt) for seg in (soma(0.5), dend(0.99))]
    return vectors


def segment_index(model, section_suffix, x):
    section = next(i for i, name in enumerate(model.section_names) if name.endswith(section_suffix))
    nseg = model.section_nseg[section]
    return int(model.section_segment_start[section] + min(int(x * nseg), nseg - 1))


@pytest.mark.in_blender
@pytest.mark.parametrize("example", ["ball_and_stick.py", "ball_and_stick.hoc"])
def test_cache_equals_neuron_recording(nl, scene, example):
    from neuron import h

    model = nl.load_model(str(EXAMPLES / example))
    frames_per_ms = 2.0
    vectors = record_independently(h, 1 / frames_per_ms)
    cache = nl.run(tstop=30, dt=0.025, frames_per_ms=frames_per_ms)

    assert cache.meta["complete"] and cache.frames_done == 61
    frames = np.asarray(cache.frames)
    assert frames.dtype == np.float32 and frames.shape == (61, model.n_segments)
    for vector, (suffix, x) in zip(vectors, [("soma", 0.5), ("dend", 0.99)]):
        expected = vector.as_numpy()  # Vector.record(Dt) stops one sample short of tstop
        assert len(expected) >= 60
        ours = frames[:len(expected), segment_index(model, suffix, x)]
        np.testing.assert_allclose(ours, expected, atol=1e-3)
    assert frames[:, segment_index(model, "soma", 0.5)].max() > 0, "the current clamp makes the soma spike"


# The same recording in a plain-NEURON process running the example (the oracle of the
# default host, whose NEURON is not the test's).
PLAIN_RECORDING = """
import json, os, runpy, sys
os.chdir({folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file("stdrun.hoc")
if {entry!r}.endswith(".py"):
    kept = runpy.run_path({entry!r}, run_name="model")  # its globals hold its sections
else:
    h.load_file({entry!r})
soma = next(sec for sec in h.allsec() if sec.name().endswith("soma"))
dend = next(sec for sec in h.allsec() if sec.name().endswith("dend"))
vectors = [h.Vector().record(seg._ref_v, 0.5) for seg in (soma(0.5), dend(0.99))]
h.dt, h.tstop = 0.025, 30
h.run()
print(json.dumps([list(v) for v in vectors]))
"""


@pytest.mark.parametrize("example", ["ball_and_stick.py", "ball_and_stick.hoc"])
def test_cache_equals_plain_neurons_recording_in_the_default_host(nl, scene, example, tmp_path):
    expected = plain_neuron_json(PLAIN_RECORDING.format(folder=str(EXAMPLES), site=neuron_site(), entry=example),
                                 tmp_path)
    model = nl.load_model(str(EXAMPLES / example))
    assert nl.addon.session.tasks.session.host.kind == "PROCESS"
    cache = nl.run(tstop=30, dt=0.025, frames_per_ms=2.0)
    assert cache.meta["complete"] and cache.frames_done == 61
    frames = np.asarray(cache.frames)
    for vector, (suffix, x) in zip(expected, [("soma", 0.5), ("dend", 0.99)]):
        assert len(vector) >= 60
        np.testing.assert_allclose(frames[:len(vector), segment_index(model, suffix, x)], vector, atol=1e-3)


def test_mesh_shows_cached_values(nl, scene):
    model = nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    cache = nl.run(tstop=20)
    obj = next(o for o in scene.objects if o.get("neuron_live_cells"))
    segment = nl.addon.scene.attributes.read(obj.data, "segment", "INT")
    assert segment.min() == 0 and segment.max() == model.n_segments - 1
    for frame in (1, 15, 41):
        values = nl.frame_values(obj, frame)
        np.testing.assert_array_equal(values, cache.frames[frame - scene.frame_start][segment])
    # Beyond the simulated range the last frame holds.
    np.testing.assert_array_equal(nl.frame_values(obj, 500), cache.frames[-1][segment])


def test_rerun_with_new_tstop_without_reloading(nl, scene):
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    first = nl.run(tstop=10)
    assert first.meta["n_frames"] == 21 and scene.frame_end == 21
    second = nl.run(tstop=25)
    assert second.meta["n_frames"] == 51 and second.meta["complete"] and scene.frame_end == 51
    np.testing.assert_allclose(second.frames[:21], first.frames[:21], atol=1e-4)


def test_run_operator_in_background_and_cancel(nl, scene):
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    assert bpy.ops.neuron_live.run() in ({"FINISHED"}, {"RUNNING_MODAL"})  # modal: Esc cancels
    session = nl.addon.session.tasks
    task = session.session.task
    assert task is not None, "Run returns at once and simulates in the background"
    with pytest.raises(RuntimeError, match="busy"):
        nl.run(tstop=5)  # a second Run while one is going is refused
    nl.cancel()
    session.wait(task, timeout=60)
    cache = session.session.cache
    assert cache.meta["cancelled"] or cache.meta["complete"]
    assert "Cancelled" in scene.neuron_live.status or "Simulated" in scene.neuron_live.status


def test_long_run_is_cancelled_within_a_chunk(nl, scene):
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    task = nl.run(tstop=100000, frames_per_ms=0.1, wait_done=False)
    session = nl.addon.session.tasks
    for _ in range(20):
        session.pump()
    nl.cancel()
    session.wait(task, timeout=30)
    cache = session.session.cache
    assert cache.meta["cancelled"] and not cache.meta["complete"]
    done = cache.frames_done
    assert 0 < done < cache.meta["n_frames"]
    assert np.isfinite(cache.frames[:done]).all(), "the frames done stay usable"
    assert np.isnan(cache.frames[done:]).all()


def test_run_without_model_is_a_clear_error(nl, scene):
    nl.addon.session.tasks.session.model = None
    with pytest.raises(RuntimeError, match="No model loaded"):
        nl.run()
    bpy.ops.wm.read_homefile(use_empty=True)
    with pytest.raises(RuntimeError, match="No model loaded"):
        bpy.ops.neuron_live.run()  # the operator reports the same message as an error


def test_missing_variable_gives_nan_not_a_crash(nl, scene):
    model = nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    cache = nl.run(tstop=5, variable="m_hh")
    soma = segment_index(model, "soma", 0.5)
    dend = segment_index(model, "dend", 0.5)
    assert np.isfinite(cache.frames[:, soma]).all() and np.isnan(cache.frames[:, dend]).all()
    assert cache.meta["variable"] == "m_hh"


def test_unwritable_cache_folder_is_a_clear_error(nl, scene, tmp_path):
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would go")
    from importlib import import_module
    engine = import_module(nl.__name__ + ".addon.engine")
    with pytest.raises(engine.CacheError, match="Cannot write the frame cache"):
        engine.FrameCache.create(blocked / "sub.nlcache", 3, 4, variable="v")


def _run_until(tasks, task, frames, *, pump=True):
    """Let `task` simulate (pumping, as Blender's timer does) until it has `frames` frames."""
    import time

    deadline = time.monotonic() + 60
    while task.cache is None or task.cache.frames_done < frames:
        assert time.monotonic() < deadline and not task.future.done(), "the run made no frames"
        if pump:
            tasks.pump()
        time.sleep(0.005)


def test_cells_colour_live_during_a_run(nl, scene):
    model = nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    tasks = nl.addon.session.tasks
    task = nl.run(tstop=100000, frames_per_ms=1, wait_done=False)
    try:
        _run_until(tasks, task, 5)
        _run_until(tasks, task, task.cache.frames_done + 5)  # the pump has shown a frame since
        shown = task.shown_frames
        assert shown >= 5 and scene.frame_current == scene.frame_start + shown - 1, "it follows the run"
        obj = next(o for o in scene.objects if o.get("neuron_live_cells"))
        segment = nl.addon.scene.attributes.read(obj.data, "segment", "INT")
        live = nl.addon.scene.attributes.read(obj.data, "voltage")
        np.testing.assert_array_equal(live, task.cache.frames[shown - 1][segment])
        assert segment.max() == model.n_segments - 1
    finally:
        nl.cancel()
        tasks.wait(task, timeout=30)


@pytest.mark.in_blender
@pytest.mark.parametrize("own_run", [False, True], ids=["chunks", "own run()"])
def test_run_waits_while_blender_colours_the_cells(nl, scene, own_run):
    """numpy and frame_set let go of the GIL in the middle of colouring the cells: NEURON
    must not take a chunk each time (the main thread's turn would last many chunks)."""
    import time

    nl.load_model(str(EXAMPLES / "ball_and_stick.hoc"))
    tasks = nl.addon.session.tasks
    task = nl.run(tstop=100000, frames_per_ms=1, own_run=own_run, wait_done=False)
    try:
        _run_until(tasks, task, 3, pump=False)
        with tasks.session.main_turn:
            time.sleep(0.05)  # the worker reaches its next NEURON call and waits there
            held = task.cache.frames_done
            time.sleep(0.3)  # the GIL is free: NEURON would simulate hundreds of frames
            assert task.cache.frames_done == held, "NEURON ran during the main thread's turn"
        _run_until(tasks, task, held + 10, pump=False)  # and goes on once the turn is over
    finally:
        nl.cancel()
        tasks.wait(task, timeout=30)
