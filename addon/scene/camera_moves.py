"""The camera's two moves, a turntable (the camera parented to a spinning empty) and a path
through saved views (keys on the camera itself), and their removal: each move removes the
other first, so the two never drive the camera at once.

Keys are written with `keyframe_insert` and their interpolation set through the preference
for new keys: Blender 4.4+ moved F-curves into action layers, and this works on every
version. The path's key frames are kept in the scene, so removing it deletes only its own
keys (others the user put on the camera stay)."""
import json
from contextlib import contextmanager

import bpy

TURNTABLE = "NEURON Live turntable"
PATH = "neuron_live_camera_path"  # the scene's custom property: {"camera": name, "frames": [...]}
PATH_KEYS = (("location", False), ("rotation_quaternion", False), ("lens", True), ("ortho_scale", True))


@contextmanager
def new_keys(interpolation, handles="AUTO_CLAMPED"):
    """Keys inserted inside get `interpolation` (and, for Bezier, `handles`: clamped
    handles never overshoot a key); the user's preference comes back afterwards."""
    edit = bpy.context.preferences.edit
    saved = edit.keyframe_new_interpolation_type, edit.keyframe_new_handle_type
    edit.keyframe_new_interpolation_type, edit.keyframe_new_handle_type = interpolation, handles
    try:
        yield
    finally:
        edit.keyframe_new_interpolation_type, edit.keyframe_new_handle_type = saved


def remove_turntable(scene):
    """Drop the turntable's empty; the camera stays where it is now, unparented."""
    pivot = bpy.data.objects.get(TURNTABLE)
    if pivot is None:
        return
    camera = scene.camera
    if camera is not None and camera.parent is pivot:
        world = camera.matrix_world.copy()
        camera.parent = None
        camera.matrix_world = world
    bpy.data.objects.remove(pivot)


def remember_path(scene, camera, frames):
    scene[PATH] = json.dumps({"camera": camera.name, "frames": [float(f) for f in frames]})


def path_frames(scene):
    """The frames of the path's keys (empty without a path)."""
    return json.loads(scene.get(PATH, "{}")).get("frames", [])


def remove_path(scene):
    """Delete the path's keys (only those) from its camera; the camera keeps its current pose."""
    path = json.loads(scene.get(PATH, "{}"))
    if PATH in scene:
        del scene[PATH]
    camera = bpy.data.objects.get(path.get("camera", ""))
    if camera is None:
        return
    pose = camera.matrix_world.copy()
    for frame in path["frames"]:
        for data_path, on_data in PATH_KEYS:
            (camera.data if on_data else camera).keyframe_delete(data_path, frame=frame)
    camera.matrix_world = pose
