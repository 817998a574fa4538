"""Saved camera views and a camera path through them: a figure's fly-through made from a
few framings picked by eye, instead of keying the camera by hand.

A view is the camera's world matrix, lens, orthographic scale and type, kept as JSON in the
scene (saved with the .blend). The path keys the camera itself (location, a quaternion
rotation: no euler flips between views, and lens / ortho scale) with clamped Bezier keys,
so it eases in and out of each view and stops exactly on it; a turntable is removed first,
and a turntable removes the path (scene/camera_moves.py).
"""
import json

import bpy
from mathutils import Matrix

from ..scene import camera_moves, framing

VIEWS = "neuron_live_views"  # the scene's custom property: [{"name", "matrix", "lens", "ortho_scale", "type"}]


def _stored(scene):
    return json.loads(scene.get(VIEWS, "[]"))


def _store(scene, stored):
    scene[VIEWS] = json.dumps(stored)


def views(scene=None):
    """The saved views' names, in the order the path visits them."""
    return [view["name"] for view in _stored(scene or bpy.context.scene)]


def save_view(name=None, *, scene=None):
    """Keep the scene camera's view (framing one on the cells when there is no camera) as
    `name` (default "View N"); a name already saved is replaced in its place. Returns the name."""
    scene = scene or bpy.context.scene
    camera = framing.camera_of(scene)
    stored = _stored(scene)
    names = [view["name"] for view in stored]
    if name is None:
        name = next(f"View {k}" for k in range(len(stored) + 1, 2 * len(stored) + 2) if f"View {k}" not in names)
    view = {"name": str(name), "matrix": [list(row) for row in camera.matrix_world], "lens": camera.data.lens,
            "ortho_scale": camera.data.ortho_scale, "type": camera.data.type}
    if view["name"] in names:
        stored[names.index(view["name"])] = view
    else:
        stored.append(view)
    _store(scene, stored)
    return view["name"]


def delete_view(name, *, scene=None):
    """Forget the view `name`. Returns the names left."""
    scene = scene or bpy.context.scene
    stored = _stored(scene)
    if name not in [view["name"] for view in stored]:
        raise ValueError(f"No view {name!r}; the views are: {', '.join(views(scene)) or 'none yet'}")
    _store(scene, [view for view in stored if view["name"] != name])
    return views(scene)


def camera_path(seconds_per_view=None, *, scene=None):
    """Move the camera through the saved views in order: over the scene's frame range, or
    `seconds_per_view` of movie from one view to the next, from the first frame.
    `camera_path(0)` removes the path. Returns the key frames ([] when removed)."""
    scene = scene or bpy.context.scene
    if seconds_per_view == 0:
        camera_moves.remove_path(scene)
        return []
    stored = _stored(scene)
    if len(stored) < 2:
        raise ValueError(f"A camera path needs at least 2 saved views ({len(stored)} saved): Save View first")
    kinds = sorted({view["type"] for view in stored})
    if len(kinds) > 1:
        raise ValueError(f"The views mix camera types ({', '.join(kinds)}): a path cannot blend them")
    frames = _key_frames(scene, len(stored), seconds_per_view)
    camera = framing.camera_of(scene)
    camera_moves.remove_turntable(scene)
    camera_moves.remove_path(scene)
    _key_views(camera, stored, frames)
    camera_moves.remember_path(scene, camera, frames)
    scene.frame_set(scene.frame_current)
    return frames


def _key_frames(scene, count, seconds_per_view):
    """Evenly spaced key frames (fractional where the range does not divide) from the first frame."""
    first = scene.frame_start
    if seconds_per_view is None:
        step = (scene.frame_end - first) / (count - 1)
    elif seconds_per_view < 0:
        raise ValueError(f"seconds per view must be positive (it is {seconds_per_view:g})")
    else:
        step = seconds_per_view * scene.render.fps / scene.render.fps_base
    if step <= 0:
        raise ValueError("The scene's frame range is a single frame: no room for a camera path")
    return [first + k * step for k in range(count)]


def _key_views(camera, stored, frames):
    """Key each view at its frame; each quaternion is taken on the side nearer the one before
    (q and −q are one rotation), so the path turns the short way."""
    camera.rotation_mode = "QUATERNION"
    camera.data.type = stored[0]["type"]
    previous = None
    with camera_moves.new_keys("BEZIER"):
        for frame, view in zip(frames, stored):
            camera.matrix_world = Matrix(view["matrix"])
            if previous is not None and camera.rotation_quaternion.dot(previous) < 0:
                camera.rotation_quaternion = -camera.rotation_quaternion
            previous = camera.rotation_quaternion.copy()
            camera.data.lens, camera.data.ortho_scale = view["lens"], view["ortho_scale"]
            for data_path, on_data in camera_moves.PATH_KEYS:
                (camera.data if on_data else camera).keyframe_insert(data_path, frame=frame)
