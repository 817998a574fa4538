"""The engine: Continue, cancel-then-run, plain Python without bpy, and a main thread
that keeps getting turns while NEURON runs."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import EXAMPLES, REPO, isolated_env


def test_continue_matches_one_long_run(nl, scene):
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    straight = np.array(nl.run(tstop=30).frames)
    nl.run(tstop=12)
    extended = nl.continue_run(tstop=30)
    assert extended.meta["complete"] and extended.frames.shape == straight.shape
    assert scene.frame_end == straight.shape[0]
    np.testing.assert_allclose(extended.frames, straight, atol=1e-4)


def test_continue_after_cancel_and_refusals(nl, scene):
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    session = nl.addon.session.tasks
    with pytest.raises(RuntimeError, match="Nothing to continue"):
        nl.continue_run(tstop=20)
    nl.run(tstop=10)
    with pytest.raises(RuntimeError, match="tstop beyond 10"):
        nl.continue_run(tstop=5)
    task = nl.run(tstop=100000, frames_per_ms=0.5, wait_done=False)
    session.pump()
    nl.cancel()
    session.wait(task, timeout=30)
    cancelled = session.session.cache
    done = cancelled.frames_done
    assert cancelled.meta["cancelled"] and done >= 1
    # The engine is ready again: Continue from where the cancel stopped.
    resumed = nl.continue_run(tstop=(done + 4) / 0.5)
    assert resumed.meta["complete"] and resumed.frames_done == done + 5
    assert np.isfinite(resumed.frames[:done + 5]).all()


def test_cache_metadata_and_segment_table(nl, scene):
    model = nl.load_model(str(EXAMPLES / "ball_and_stick.hoc"))
    cache = nl.run(tstop=5)
    meta = json.loads((cache.folder / "meta.json").read_text())
    assert meta["format"] == "neuron_live.frame_cache" and meta["version"] == 1
    assert meta["units"] == "mV" and meta["complete"] and meta["frames_done"] == meta["n_frames"] == 11
    import hashlib
    assert meta["model_sha256"] == hashlib.sha256((EXAMPLES / "ball_and_stick.hoc").read_bytes()).hexdigest()
    table = np.load(cache.folder / "segments.npz")
    np.testing.assert_array_equal(table["section"], model.segment_section)
    np.testing.assert_allclose(table["x"], model.segment_x)
    assert meta["section_names"] == model.section_names
    reopened = type(cache).open(cache.folder)
    np.testing.assert_array_equal(reopened.frames, cache.frames)


def test_main_thread_gets_many_turns_during_a_run(nl, scene):
    """NEURON holds the GIL for each call: chunking must let the pump run often."""
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    session = nl.addon.session.tasks
    task = nl.run(tstop=3000, frames_per_ms=1, wait_done=False)
    turns = 0
    while session.session.task is task:
        session.pump()
        turns += 1
    assert task.future.result() == 3001
    assert turns > 50, f"the main thread got only {turns} turns during the run"


def test_engine_runs_in_plain_python_without_bpy(tmp_path):
    """Same engine, same cache, no Blender: what a cluster recording will run."""
    import neuron
    (tmp_path / "neuron_live").symlink_to(REPO)
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        sys.path.append({str(__import__('pathlib').Path(neuron.__file__).parent.parent)!r})
        from neuron_live.model_loaders import load_model
        from neuron_live.addon.engine import FrameCache, RunSettings, Worker, simulate
        worker = Worker()
        model = worker.submit(load_model, {str(EXAMPLES / 'ball_and_stick.py')!r}).result()
        settings = RunSettings(tstop=10, v_init=-65)
        cache = FrameCache.create({str(tmp_path / 'run.nlcache')!r}, settings.n_frames, model.n_segments, variable="v")
        done = worker.submit(simulate, settings, cache).result()
        cache.finish(complete=done == settings.n_frames)
        print(done, "bpy" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=isolated_env(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["21", "False"]
    from importlib import import_module
    cache = import_module("bl_ext.user_default.neuron_live.addon.engine").FrameCache.open(tmp_path / "run.nlcache")
    assert cache.meta["complete"] and np.isfinite(cache.frames).all()


def test_cache_moves_beside_the_blend_on_save(nl, scene, tmp_path):
    import bpy
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    cache = nl.run(tstop=5)
    user_cache = cache.folder
    assert not bpy.data.filepath and user_cache.is_dir(), "unsaved: the cache is in the user cache folder"
    frames = np.array(cache.frames)
    blend = tmp_path / "saved.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    [beside] = tmp_path.glob("saved_Scene_ball_and_stick-*.nlcache")
    assert beside.is_dir() and not user_cache.exists(), "moved, not copied, from the user folder"
    assert scene.neuron_live.cache_path == f"//{beside.name}"
    # Save as elsewhere: the first .blend keeps its cache (copied, never taken away).
    other = tmp_path / "other" / "copy.blend"
    other.parent.mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(other))
    assert beside.is_dir() and len(list(other.parent.glob("copy_Scene_ball_and_stick-*.nlcache"))) == 1
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    reopened = nl.addon.session.tasks.session.cache
    assert reopened.folder.resolve() == beside.resolve()
    np.testing.assert_array_equal(reopened.frames, frames)


@pytest.mark.in_blender
def test_models_own_advance_is_honoured(nl, scene, tmp_path):
    """A model whose stimulus lives in its own `proc advance()` shows it with own_run."""
    path = tmp_path / "own_advance.hoc"
    path.write_text("create soma\nsoma { L = 20 diam = 20 insert pas }\n"
                    "proc advance() { fadvance() if (t > 2) { soma.v(0.5) = 10 } }\n")
    nl.load_model(str(path))
    assert scene.neuron_live.own_run, "a model defining its own advance() runs through it by default"
    plain = nl.run(tstop=5, own_run=False)
    assert np.nanmax(plain.frames) < 0
    from neuron import h
    reference = h.Vector().record(h.soma(0.5)._ref_v, 0.5)  # NEURON's own recording of the same run
    own = nl.run(tstop=5, own_run=True)
    expected = reference.as_numpy()
    assert expected.max() > 5, "the model's advance() drove the soma"
    np.testing.assert_allclose(own.frames[:len(expected), 0], expected, atol=1e-4)


def test_nan_in_the_state_stops_with_a_message_and_keeps_frames(nl, scene, tmp_path):
    path = tmp_path / "unstable.py"
    path.write_text("from neuron import h\nsoma = h.Section(name='soma')\nsoma.insert('hh')\n"
                    "stim = h.IClamp(soma(0.5))\nstim.delay, stim.dur, stim.amp = 1, 1, float('nan')\n")
    nl.load_model(str(path))
    session = nl.addon.session.tasks
    with pytest.raises(nl.addon.engine.SimulationError, match=r"NaN or inf in 'v' at t = 1"):
        nl.run(tstop=5)
    cache = session.session.cache
    assert cache.meta["error"] and not cache.meta["complete"] and cache.frames_done >= 2
    assert np.isfinite(cache.frames[:cache.frames_done]).all()
    assert "Simulation failed" in scene.neuron_live.status


@pytest.mark.in_blender
def test_changed_nseg_after_a_run_asks_to_reload(nl, scene):
    """Reruns reuse the segment pointers, but never across a changed segment count."""
    from neuron import h
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    nl.run(tstop=2)
    dend = next(sec for sec in h.allsec() if sec.name().endswith("dend"))
    dend.nseg = 21
    with pytest.raises(nl.addon.engine.SimulationError, match="reload it"):
        nl.run(tstop=2)
