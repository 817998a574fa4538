"""The session keeps its promises: a failed load, a bad setting or another scene's model
never runs the wrong cells or shows one model's data under another's name."""
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import bpy
import numpy as np
import pytest

from conftest import EXAMPLES, REPO, isolated_env

GOOD = EXAMPLES / "ball_and_stick.hoc"


def session_of(nl):
    return nl.addon.session.tasks.session


@pytest.mark.in_blender
def test_failed_load_after_a_good_model_never_runs_the_debris(nl, scene, tmp_path):
    model = nl.load_model(str(GOOD))
    first = np.array(nl.run(tstop=5).frames)
    broken = tmp_path / "broken.hoc"
    broken.write_text("create a, b, c\na { L = 10 diam = 10 }\nthis is not hoc\n")
    with pytest.raises(Exception, match="broken.hoc"):
        nl.load_model(str(broken))
    status = scene.neuron_live.status
    assert "NEURON no longer holds ball_and_stick.hoc" in status and "Run reloads it" in status
    assert session_of(nl).model is None, "the old Model must not stand for the broken file's cells"
    np.testing.assert_array_equal(session_of(nl).cache.frames, first, err_msg="the last good run still plays")

    cache = nl.run(tstop=5)  # reloads ball_and_stick.hoc, then simulates it
    assert Path(cache.meta["model"]).name == "ball_and_stick.hoc"
    assert session_of(nl).model.n_segments == model.n_segments
    np.testing.assert_allclose(np.asarray(cache.frames), first, atol=1e-4)


def test_a_refused_load_keeps_the_model(nl, scene, tmp_path):
    model = nl.load_model(str(GOOD))
    (tmp_path / "quits.hoc").write_text("create soma\nquit()\n")
    with pytest.raises(Exception, match="quit"):
        nl.load_model(str(tmp_path / "quits.hoc"), host="IN_BLENDER")
    assert session_of(nl).model is model, "refused before anything ran: the model is still loaded"
    assert nl.run(tstop=2).frames_done == 5


def test_same_file_names_in_two_folders_never_share_a_cache(nl, scene, tmp_path):
    paths = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "cell.hoc"
        path.write_text(GOOD.read_text())
        paths.append(path)
    nl.load_model(str(paths[0]))
    first = nl.run(tstop=3)
    nl.load_model(str(paths[1]))
    second = nl.run(tstop=4)
    assert first.folder != second.folder and first.folder.is_dir(), "the first run's cache is intact"
    assert len(first.frames) == 7 and len(second.frames) == 9


def test_caches_differ_per_scene(nl, scene):
    nl.load_model(str(GOOD))
    one = nl.run(tstop=2).folder
    other = bpy.data.scenes.new("Other")
    other.neuron_live.model_path = scene.neuron_live.model_path
    two = nl.run(tstop=2, scene=other).folder
    assert one != two and one.is_dir() and two.is_dir()


@pytest.mark.parametrize("setting, value, reason", [
    ("tstop", 0.0, "tstop must be at least 0.001 ms"),
    ("tstop", -5.0, "tstop must be at least 0.001 ms"),
    ("tstop", float("nan"), "tstop must be a finite number"),
    ("tstop", float("inf"), "tstop must be a finite number"),
    ("dt", 0.0, "dt must be at least 1e-06 ms"),
    ("dt", 10.0, "dt 10 ms is longer than the time between frames"),
    ("frames_per_ms", 0.0, "frames_per_ms must be at least 0.001"),
    ("v_init", float("nan"), "v_init must be a finite number"),
    ("variable", "not a name", "not a NEURON range variable name"),
])
def test_bad_settings_are_refused_with_the_reason_and_never_stored(nl, scene, setting, value, reason):
    nl.load_model(str(GOOD))
    before = getattr(scene.neuron_live, setting)
    with pytest.raises(ValueError, match=reason):
        nl.run(**{setting: value})
    assert getattr(scene.neuron_live, setting) == before
    assert not session_of(nl).busy
    assert nl.run(tstop=2).frames_done == 5, "the next normal run works"


def test_run_after_file_new_does_not_simulate_the_invisible_model(nl, scene):
    nl.load_model(str(GOOD))
    bpy.ops.wm.read_homefile(use_empty=True)
    with pytest.raises(RuntimeError, match="No model loaded in this scene"):
        nl.run(tstop=2)
    assert bpy.ops.neuron_live.run.poll() in (True, False)  # drawing the panel must not fail


def test_follow_ends_on_the_last_frame(nl, scene):
    nl.load_model(str(GOOD))
    scene.neuron_live.follow = True
    cache = nl.run(tstop=40, frames_per_ms=4)
    assert scene.frame_current == scene.frame_end == cache.meta["n_frames"]


@pytest.mark.in_blender
def test_cells_show_no_data_before_any_run(nl, scene):
    nl.load_model(str(GOOD))
    [obj] = [o for o in scene.objects if o.get("neuron_live_cells")]
    values = nl.addon.scene.attributes.read(obj.data, "voltage")
    assert (values < -1e30).all(), "grey 'no data', not the colour of 0 mV"
    assert obj.data.validate() is False
    cache = nl.run(tstop=2)
    np.testing.assert_allclose(nl.frame_values(obj, frame=scene.frame_end).max(),
                               np.nanmax(cache.frames[-1]), atol=1e-4)


FAILS_AT_INIT = """
from neuron import h
soma = h.Section(name="soma")
soma.insert("hh")
h("fail_at_init = 0")


def init():
    if h.fail_at_init:
        raise RuntimeError("init failed on purpose")


handler = h.FInitializeHandler(init)
"""


@pytest.mark.in_blender
def test_a_rerun_failing_before_its_first_frame_keeps_the_previous_cache(nl, scene, tmp_path):
    from neuron import h
    path = tmp_path / "fails_at_init.py"
    path.write_text(FAILS_AT_INIT)
    nl.load_model(str(path))
    first = nl.run(tstop=3)
    frames = np.array(first.frames)
    h.fail_at_init = 1
    with pytest.raises(nl.addon.engine.SimulationError, match="init failed on purpose"):
        nl.run(tstop=3)
    status = scene.neuron_live.status
    assert "before its first frame" in status and "previous run still plays" in status
    assert session_of(nl).cache.folder == first.folder and first.folder.is_dir()
    np.testing.assert_array_equal(session_of(nl).cache.frames, frames)
    assert not [p for p in first.folder.parent.iterdir() if p.name.startswith(".")], "no staged folder left"
    h.fail_at_init = 0
    assert nl.run(tstop=2).frames_done == 5


LONG_RUN_MS = 60000  # far longer than saving the .blend takes on a slow machine
KILLED_RUN = """
import os, signal, sys, time
sys.path.insert(0, {tools!r})
from headless import enable_from_source, isolate_profile
isolate_profile({profile!r})
import bpy
nl = enable_from_source()
nl.load_model({model!r}, build=True)
bpy.ops.wm.save_as_mainfile(filepath={blend!r})
tasks = nl.addon.session.tasks
task = nl.run(tstop={tstop}, frames_per_ms=1, wait_done=False)
while task.cache is None or task.cache.frames_done < 50:
    tasks.pump()
    time.sleep(0.005)
bpy.ops.wm.save_mainfile()  # saved during the run
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_reopening_after_a_crash_mid_run_says_incomplete(nl, scene, tmp_path):
    blend = tmp_path / "crash.blend"
    code = KILLED_RUN.format(tools=str(REPO / "tools"), profile=str(tmp_path / "profile"), tstop=LONG_RUN_MS,
                             model=str(GOOD), blend=str(blend))
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=isolated_env(tmp_path),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stdout[-2000:] + result.stderr[-2000:]
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    status = bpy.context.scene.neuron_live.status
    assert "incomplete" in status and "the run was interrupted" in status, status
    cache = session_of(nl).cache
    assert cache is not None and 50 <= cache.frames_done < LONG_RUN_MS + 1
    assert np.isfinite(np.asarray(cache.frames[:cache.frames_done])).all()
    written = np.array(cache.frames[:cache.frames_done])

    # Continue from there: the scene's model is loaded again and the run goes on; the result
    # equals one straight run (the frames done are replayed, not trusted blindly).
    done = cache.frames_done
    continued = nl.continue_run(tstop=done + 20)
    assert continued.meta["complete"] and continued.frames_done == done + 21
    np.testing.assert_allclose(np.asarray(continued.frames[:done]), written, atol=1e-4)
    straight = nl.run(tstop=done + 20, frames_per_ms=1)
    np.testing.assert_allclose(np.asarray(continued.frames), np.asarray(straight.frames), atol=1e-4)


@pytest.mark.in_blender
def test_settings_never_leak_into_the_next_model(nl, scene):
    from neuron import h
    nl.load_model(str(GOOD))
    nl.run(tstop=1, dt=0.0001, celsius=30.0, cvode=True)
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    props = scene.neuron_live
    assert props.dt == pytest.approx(0.025) and props.celsius == pytest.approx(6.3)
    assert h.dt == pytest.approx(0.025) and not h.CVode().active()


@pytest.mark.in_blender
def test_a_python_models_stimuli_are_gone_once_the_next_model_loads(nl, scene, tmp_path):
    """Its globals sit in reference cycles; a stimulus left behind would count for the next model."""
    from neuron import h
    path = tmp_path / "global_stimulus.py"
    path.write_text("from neuron import h\nsoma = h.Section(name='soma')\nsoma.insert('hh')\n"
                    "stim = h.IClamp(soma(0.5))\ncycle = {}\ncycle['self'] = cycle\n"
                    "def helper():\n    return stim\n")
    quiet = tmp_path / "quiet.py"
    quiet.write_text("from neuron import h\nsoma = h.Section(name='soma')\n")
    nl.load_model(str(quiet), build=False)
    before = h.List("IClamp").count()  # (a hoc model's objrefs may keep its own, on no section)
    nl.load_model(str(path), build=False)
    assert h.List("IClamp").count() == before + 1
    nl.load_model(str(quiet), build=False)
    assert h.List("IClamp").count() == before


@pytest.mark.in_blender
def test_cvodes_own_settings_never_leak_into_the_next_model(nl, scene, tmp_path):
    """Local time steps, order, stiffness and step bounds a model sets stay with it."""
    from neuron import h
    path = tmp_path / "local_steps.py"
    path.write_text("from neuron import h\nsoma = h.Section(name='soma')\nsoma.insert('hh')\n"
                    "cvode = h.CVode()\ncvode.active(1)\ncvode.use_local_dt(1)\ncvode.maxorder(2)\n"
                    "cvode.maxstep(0.5)\ncvode.condition_order(2)\n")
    nl.load_model(str(path), build=False)
    cvode = h.CVode()
    assert cvode.use_local_dt() and cvode.maxorder() == 2, "the model's own run keeps them"
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"), build=False)
    assert not cvode.use_local_dt() and cvode.maxorder() == 5 and cvode.maxstep() > 1e8
    assert cvode.condition_order() == 1


def test_an_unknown_variable_names_the_ones_the_model_has(nl, scene):
    nl.load_model(str(GOOD))
    first = nl.run(tstop=2)
    with pytest.raises(Exception, match="No segment of the model has 'cai'.*m_hh"):
        nl.run(tstop=2, variable="cai")
    assert session_of(nl).cache.folder == first.folder, "the previous run still plays"
    assert "before its first frame" in scene.neuron_live.status


def test_a_damaged_cache_on_reopen_says_so_and_plays_nothing(nl, scene, tmp_path):
    nl.load_model(str(GOOD))
    nl.run(tstop=2)
    blend = tmp_path / "damaged.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    folder = Path(bpy.path.abspath(scene.neuron_live.cache_path))
    (folder / "meta.json").write_text("[]")
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    status = bpy.context.scene.neuron_live.status
    assert status.startswith("Nothing plays") and "meta.json" in status
    assert session_of(nl).cache is None
    bpy.context.scene.frame_set(3)  # the frame handler must not raise without a cache
    nl.load_model(str(GOOD))
    assert nl.run(tstop=2).frames_done == 5
