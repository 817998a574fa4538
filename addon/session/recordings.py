"""Recordings made outside Blender (tools/record.py caches, BlenderSpike pickles, SONATA
data sets) shown as if they had run here, and the values an object shows at a frame."""
from pathlib import Path

import bpy

from ...model_loaders.blenderspike import load_blenderspike
from ...model_loaders.model_io import load_model_file
from ...model_loaders.sonata import SONATA_SUFFIXES
from ..engine import CacheError, FrameCache
from ..engine.record import MODEL_FILE
from ..engine.state import session
from ..scene import attributes, cache_files, playback
from .meshes import build_mesh
from .sonata import open_sonata


def open_recording(path, *, scene=None, **sonata):
    """Show a recording made outside Blender: a `.nlcache` folder written by
    tools/record.py, a BlenderSpike `.pickle`, or SONATA (a simulation or circuit config
    `.json`, or a nodes `.h5`; `sonata`: population, spikes, report, morphologies,
    wait_done, see `open_sonata`). Returns the frame cache."""
    scene = scene or bpy.context.scene
    session.check_idle()
    path = Path(path)
    if path.suffix.lower() in SONATA_SUFFIXES:
        return open_sonata(path, scene=scene, **sonata)
    if sonata:
        raise TypeError(f"open_recording() options {', '.join(sonata)} are for SONATA files only")
    if path.suffix == ".pickle":
        model, frames = load_blenderspike(path)
        cache = FrameCache.create(cache_files.cache_folder(str(path), scene), len(frames), model.n_segments,
                                  variable="v", frames_per_ms=1.0, model=str(path), source="BlenderSpike",
                                  section_names=model.section_names)
        cache.frames[:] = frames
        cache.meta["frames_done"] = len(frames)
        cache.finish(complete=True)
    else:
        cache = FrameCache.open(path)
        try:
            model = load_model_file(path / MODEL_FILE)
        except (OSError, ValueError, KeyError) as exc:
            raise CacheError(f"{path} has no readable {MODEL_FILE}: record it with tools/record.py") from exc
    session.model, session.cache, session.recording = model, cache, True
    props = scene.neuron_live
    props.model_path, props.cache_path = str(path), cache_files.stored_path(cache.folder)
    props.variable = cache.meta["variable"]
    scene.frame_start = 1
    scene.frame_end = playback.frame_of_sample(scene, cache.meta["n_frames"] - 1)
    build_mesh(scene=scene)
    playback.refresh(scene)
    props.status = f"Opened recording {path.name}: {model.summary()}, {cache.frames_done} frames"
    return cache


def frame_values(obj, frame=None):
    """The per-vertex values `obj` shows at `frame` (default: the current frame)."""
    scene = bpy.context.scene
    if frame is not None:
        scene.frame_set(frame)
    variable = session.cache.meta["variable"] if session.cache else scene.neuron_live.variable
    return attributes.read(obj.data, playback.attribute_name(variable))

