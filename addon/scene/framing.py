"""Camera and 3D views on the cells, a dark world, a locked interface while rendering."""
import math

import bpy
import numpy as np

from . import attributes, compat, playback

CAMERA = "NEURON Live camera"
WORLD = "NEURON Live world"


def bounds(objects):
    """World-space (min, max) corners of `objects`' vertices (numpy, no per-vertex loop)."""
    lows, highs = [], []
    for obj in objects:
        if obj.type != "MESH" or not len(obj.data.vertices):
            continue
        co = attributes.read_positions(obj.data)
        matrix = np.array(obj.matrix_world, dtype=np.float64)
        co = co @ matrix[:3, :3].T + matrix[:3, 3]
        lows.append(co.min(axis=0))
        highs.append(co.max(axis=0))
    if not lows:
        return None
    return np.min(lows, axis=0), np.max(highs, axis=0)


# Looking along the axis where the cells are thinnest, tilted a little so depth still reads:
# a cell flat in the XY plane (most 2-D models) is seen from above, not edge-on.
VIEW_DIRECTIONS = (np.array([1.0, 0.0, 0.35]), np.array([0.0, -1.0, 0.35]), np.array([0.0, -0.35, 1.0]))


def frame_camera(scene, objects, *, margin=1.1):
    """Point the scene camera (created when missing) at the cells, all of them in view."""
    box = bounds(objects)
    if box is None:
        return None
    low, high = box
    centre = (low + high) / 2
    radius = max(float(np.linalg.norm(high - low)) / 2, 1e-3)
    camera = scene.camera
    if camera is None:
        camera = bpy.data.objects.get(CAMERA) or bpy.data.objects.new(CAMERA, bpy.data.cameras.new(CAMERA))
        if camera.name not in scene.collection.objects:
            scene.collection.objects.link(camera)
        scene.camera = camera
    fov = min(camera.data.angle_x, camera.data.angle_y) if camera.data.type == "PERSP" else math.radians(40)
    distance = radius * margin / math.sin(fov / 2)
    direction = VIEW_DIRECTIONS[int(np.argmin(high - low))]  # face the cells' widest side
    direction = direction / np.linalg.norm(direction)
    camera.location = tuple(centre + direction * distance)
    camera.rotation_mode = "XYZ"
    camera.rotation_euler = (math.atan2(math.hypot(direction[0], direction[1]), direction[2]), 0.0,
                             math.atan2(direction[0], -direction[1]))
    camera.data.clip_start = max(distance - radius * 2, distance * 1e-3)
    camera.data.clip_end = distance + radius * 4
    return camera


def camera_of(scene):
    """The scene's camera, or a new one framed on the cells; an error when there is nothing
    to frame (an overlay needs a camera to sit in front of)."""
    if scene.camera is not None:
        return scene.camera
    camera = frame_camera(scene, playback.cell_objects(scene))
    if camera is None:
        raise RuntimeError("No camera and no cells to frame one on: load a model first")
    return camera


def dark_world(scene, colour=(0.005, 0.005, 0.008)):
    """A plain near-black world so the emissive cells stand out."""
    world = bpy.data.worlds.get(WORLD) or bpy.data.worlds.new(WORLD)
    world.color = colour
    compat.use_nodes(world)
    background = next((n for n in world.node_tree.nodes if n.type == "BACKGROUND"), None)
    if background is None:
        background = world.node_tree.nodes.new("ShaderNodeBackground")
        output = next((n for n in world.node_tree.nodes if n.type == "OUTPUT_WORLD"), None) \
            or world.node_tree.nodes.new("ShaderNodeOutputWorld")
        world.node_tree.links.new(background.outputs["Background"], output.inputs["Surface"])
    background.inputs["Color"].default_value = (*colour, 1.0)
    background.inputs["Strength"].default_value = 1.0
    scene.world = world
    return world


def lock_interface_while_rendering(scene):
    """The frame handler writes mesh attributes during `render(animation=True)`; with the
    interface locked the UI cannot touch the same data meanwhile."""
    scene.render.use_lock_interface = True


def frame_views(objects, *, margin=1.3):
    """Centre every open 3D view on the cells and zoom so all of them show (the camera is
    framed apart); the user's selection and view angle stay. Returns the views framed:
    none without windows (Blender as a Python module)."""
    views = [area.spaces.active.region_3d for window in bpy.context.window_manager.windows
             for area in window.screen.areas if area.type == "VIEW_3D"]
    box = bounds(objects) if views else None
    if box is None:
        return 0
    low, high = box
    radius = max(float(np.linalg.norm(high - low)) / 2, 1e-3)
    for view in views:
        view.view_location = tuple((low + high) / 2)
        view.view_distance = radius * margin / math.tan(math.radians(25))  # the default lens' half angle
    return len(views)
