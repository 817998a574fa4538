"""Frame changes write cached values into the meshes' attributes.

One persistent `frame_change_post` handler serves every NEURON Live object; a persistent
`load_post` handler reattaches the cache when a .blend is opened, so playback survives
saving without a "reload animation data" button.
"""
import numpy as np
import bpy
from bpy.app.handlers import persistent

from . import attributes
from .engine import CacheError, FrameCache

OBJECT_TAG = "neuron_live_cells"
_segment_maps = {}  # mesh name -> (vertex count, per-vertex segment index)


def attribute_name(variable):
    return "voltage" if variable == "v" else variable


def cell_objects(scene):
    return [obj for obj in scene.objects if obj.get(OBJECT_TAG) and obj.type == "MESH"]


def frame_row(cache, scene, frame=None):
    """The cached values shown at `frame`: hold the last simulated frame beyond the run."""
    frame = scene.frame_current if frame is None else frame
    done = cache.frames_done
    if done == 0:
        return None
    return cache.frames[int(np.clip(frame - scene.frame_start, 0, done - 1))]


def _segment_map(mesh):
    known = _segment_maps.get(mesh.name)
    if known is None or known[0] != len(mesh.vertices):
        known = (len(mesh.vertices), attributes.read(mesh, "segment", "INT"))
        _segment_maps[mesh.name] = known
    return known[1]


def refresh(scene, frame=None):
    """Write the values of `frame` (default: the current one) into every cell mesh."""
    from .session import session
    cache = session.cache
    if cache is None:
        return
    row = frame_row(cache, scene, frame)
    if row is None:
        return
    name = attribute_name(cache.meta["variable"])
    for obj in cell_objects(scene):
        mesh = obj.data
        attributes.write(mesh, name, np.take(row, _segment_map(mesh)))
        mesh.update()


def attach_cache(scene):
    """Open the scene's cache (after loading a .blend); report what went wrong."""
    from .session import session
    props = scene.neuron_live
    session.cache = None
    if not props.cache_path:
        return None
    try:
        session.cache = FrameCache.open(bpy.path.abspath(props.cache_path))
    except CacheError as exc:
        props.status = str(exc)
        return None
    return session.cache


@persistent
def on_frame_change(scene, depsgraph=None):
    refresh(scene)


@persistent
def on_load(_filepath=None, *_args):
    _segment_maps.clear()
    for scene in bpy.data.scenes:
        if hasattr(scene, "neuron_live") and attach_cache(scene):
            refresh(scene)
            break


HANDLERS = ((bpy.app.handlers.frame_change_post, on_frame_change),
            (bpy.app.handlers.load_post, on_load))


def add_handlers():
    for handlers, fn in HANDLERS:
        if fn not in handlers:
            handlers.append(fn)


def remove_handlers():
    """Remove only our own handlers (never another add-on's)."""
    for handlers, fn in HANDLERS:
        while fn in handlers:
            handlers.remove(fn)
