"""Frame changes write cached values into the meshes' attributes.

One persistent `frame_change_post` handler serves every NEURON Live object; a persistent
`load_post` handler reattaches the cache when a .blend is opened, so playback survives
saving without a "reload animation data" button. Between samples values interpolate
linearly; beyond the simulated range the last sample holds (see `frame_row`). The
per-vertex gather (`_Map`) is read from the mesh attributes once and reused every frame.
"""
import traceback
from pathlib import Path

import bpy
import numpy as np
from bpy.app.handlers import persistent

from ..engine import CacheError, FrameCache
from ..engine.outcome import run_outcome
from ..engine.state import session
from . import attributes

OBJECT_TAG = "neuron_live_cells"
# Before any run a mesh shows "no data" (the material's grey, like NaN): a huge finite value,
# since Mesh.validate() treats NaN in an attribute as damage and rewrites it.
NO_DATA = np.float32(-3e38)
_maps = {}  # mesh name -> _Map


class _Map:
    """What one mesh gathers from a cache row, read once from its attributes."""

    def __init__(self, obj):
        mesh = obj.data
        self.n_vertices = len(mesh.vertices)
        mean_of = obj.get("neuron_live_mean_of")
        self.mean_of = np.asarray(mean_of, np.int64) if mean_of is not None else None
        names = mesh.attributes
        self.source = attributes.read(mesh, ".nl_source" if ".nl_source" in names else "segment", "INT")
        self.blend = None
        if ".nl_blend_source" in names:
            self.blend = (attributes.read(mesh, ".nl_blend_source", "INT"),
                          attributes.read(mesh, ".nl_blend_weight"))
        self.out = np.empty(self.n_vertices, np.float32)
        self.scratch = np.empty(self.n_vertices, np.float32)

    def gather(self, row):
        """Per-vertex values for one cache row, into a preallocated float32 array."""
        if self.mean_of is not None:
            picked = row[self.mean_of]
            finite = picked[np.isfinite(picked)]
            self.out.fill(finite.mean() if len(finite) else np.nan)
            return self.out
        np.take(row, self.source, out=self.out)
        if self.blend is not None:
            other, weight = self.blend
            np.take(row, other, out=self.scratch)
            self.scratch -= self.out
            self.scratch *= weight
            self.out += self.scratch
        return self.out


def attribute_name(variable):
    return "voltage" if variable == "v" else variable


def cell_objects(scene):
    return [obj for obj in scene.objects if obj.get(OBJECT_TAG) and obj.type == "MESH"]


def forget_maps():
    _maps.clear()


def frame_of_sample(scene, sample):
    """The scene frame that shows cache sample `sample` (inverse of `frame_row`'s mapping)."""
    per_sample = getattr(scene.neuron_live, "frames_per_sample", 1.0) or 1.0
    return scene.frame_start + int(round(sample * per_sample))


def frame_row(cache, scene, frame=None):
    """The values shown at `frame` (default: the current frame, subframe included).

    Sample k of the cache shows at frame `frame_start + k × frames_per_sample`; frames in
    between interpolate linearly between the two samples around them (NaN stays NaN: no
    data). Before the first sample the first holds; beyond the simulated range the last
    simulated sample holds (also while a run is still filling the cache), so a render
    past the end shows the final state rather than a grey cell.
    """
    frame = scene.frame_current_final if frame is None else frame
    done = cache.frames_done
    if done == 0:
        return None
    per_sample = getattr(scene.neuron_live, "frames_per_sample", 1.0) or 1.0
    position = min(max((frame - scene.frame_start) / per_sample, 0.0), done - 1.0)
    low = int(position)
    weight = position - low
    if weight < 1e-6 or low + 1 >= done:
        return cache.frames[low]
    return (cache.frames[low] * np.float32(1 - weight) + cache.frames[low + 1] * np.float32(weight))


def _map(obj):
    mesh = obj.data
    known = _maps.get(mesh.name)
    if known is None or known.n_vertices != len(mesh.vertices):
        known = _maps[mesh.name] = _Map(obj)
    return known


def refresh(scene, frame=None):
    """Write the values of `frame` (default: the current one) into every cell mesh; meshes
    with nothing to show yet get NaN, the material's grey "no data" look."""
    cache = session.cache
    row = frame_row(cache, scene, frame) if cache is not None else None
    if row is None:
        _show_no_data(scene)
        return
    row = np.ascontiguousarray(row, dtype=np.float32)
    name = attribute_name(cache.meta["variable"])
    with session.main_turn:  # a run in flight waits: else it takes a chunk at every numpy call
        for obj in cell_objects(scene):
            mesh = obj.data
            try:
                values = _map(obj).gather(row)
            except (KeyError, IndexError) as exc:  # a mesh from another model or edited by hand
                scene.neuron_live.status = f"{obj.name} does not match the frame cache ({exc}); rebuild the mesh"
                continue
            attributes.write(mesh, name, values)
            mesh.update()


def _show_no_data(scene):
    name = attribute_name(scene.neuron_live.variable)
    for obj in cell_objects(scene):
        if name not in obj.data.attributes:
            attributes.write(obj.data, name, np.full(len(obj.data.vertices), NO_DATA, np.float32))
            obj.data.update()


def attach_cache(scene):
    """Open the scene's cache (after loading a .blend); the status says what plays."""
    props = scene.neuron_live
    session.cache = None
    if not props.cache_path:
        return None
    try:
        session.cache = FrameCache.open(bpy.path.abspath(props.cache_path))
    except CacheError as exc:
        props.status = f"Nothing plays: {exc}"
        return None
    props.status = describe(session.cache)
    return session.cache


def describe(cache):
    """One line on what a cache holds: whose run, how far, and whether it ended well."""
    model = Path(str(cache.meta.get("model") or "a recording")).name
    return f"Playing {model}: {run_outcome(dict(cache.meta, frames_done=cache.frames_done))}"


def _reported(handler):
    """Handlers must never raise (Blender prints the traceback on every frame and the
    status goes stale): the error goes to the status line and, in full, to the console."""
    def run(scene=None, *args):
        try:
            return handler(scene, *args)
        except Exception as exc:  # shown in the panel; the traceback goes to the console
            traceback.print_exc()
            for target in ([scene] if isinstance(scene, bpy.types.Scene) else bpy.data.scenes):
                if hasattr(target, "neuron_live"):
                    target.neuron_live.status = f"Playback stopped: {type(exc).__name__}: {exc}"
    run.__name__, run.__doc__ = handler.__name__, handler.__doc__
    return persistent(run)


@_reported
def on_frame_change(scene, depsgraph=None):
    refresh(scene)


@_reported
def on_load(_filepath=None, *_args):
    _maps.clear()
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
