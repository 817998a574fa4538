"""Playback survives saving: reopen the .blend and the cells still play, with no button."""
import shutil

import bpy
import numpy as np
import pytest

from conftest import EXAMPLES


@pytest.fixture
def saved_run(nl, scene, tmp_path):
    """A run saved as tmp/run.blend with its cache beside it."""
    blend = tmp_path / "run.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    cache = nl.run(tstop=20)
    assert cache.folder.parent == tmp_path, "the cache of a saved .blend lives beside it"
    assert scene.neuron_live.cache_path.startswith("//"), "stored relative to the .blend"
    bpy.ops.wm.save_mainfile()
    return blend, np.array(cache.frames)


def cells(scene):
    return next(o for o in scene.objects if o.get("neuron_live_cells"))


def test_reopened_blend_plays_without_reload(nl, saved_run):
    blend, frames = saved_run
    bpy.ops.wm.open_mainfile(filepath=str(blend))  # fires the persistent load_post handler
    scene = bpy.context.scene
    obj = cells(scene)
    segment = nl.addon.scene.attributes.read(obj.data, "segment", "INT")
    for frame in (3, 30):
        scene.frame_set(frame)
        values = nl.addon.scene.attributes.read(obj.data, "voltage")
        np.testing.assert_array_equal(values, frames[frame - scene.frame_start][segment])


def test_moved_cache_gives_a_message_not_a_crash(nl, saved_run):
    blend, _ = saved_run
    shutil.rmtree(next(blend.parent.glob("*.nlcache")))
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    assert "gone" in scene.neuron_live.status and "run the simulation again" in scene.neuron_live.status
    scene.frame_set(5)  # playback with no cache is a no-op, not an error


def test_corrupt_cache_gives_a_message(nl, saved_run):
    blend, _ = saved_run
    folder = next(blend.parent.glob("*.nlcache"))
    (folder / "frames.npy").write_bytes(b"not numpy at all")
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert "corrupt" in bpy.context.scene.neuron_live.status


def test_frames_hold_after_the_run_and_nan_means_no_data(nl, scene):
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    cache = nl.run(tstop=5, variable="m_hh")
    obj = cells(scene)
    values = nl.frame_values(obj, 1000)
    segment = nl.addon.scene.attributes.read(obj.data, "segment", "INT")
    np.testing.assert_array_equal(values, cache.frames[-1][segment])
    assert np.isnan(values).any() and np.isfinite(values).any()
    assert obj.data.attributes.get("m_hh") is not None
