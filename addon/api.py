"""The scripting API: plain functions that the operators call, usable from any script.

    import neuron_live  # or bl_ext.user_default.neuron_live inside Blender
    neuron_live.load_model("cell.hoc")
    neuron_live.run(tstop=100)          # blocks; run(wait=False) returns the task
"""
from pathlib import Path

import bpy
import numpy as np

from . import attributes, cache_files, geometry, materials, neuron_setup, playback
from .engine import RunSettings
from .session import Task, session, start, start_run, wait

RUN_SETTINGS = ("tstop", "dt", "v_init", "celsius", "cvode", "atol", "frames_per_ms", "variable", "own_run")


def neuron_status():
    """Which NEURON Blender's Python would import (without importing it)."""
    return neuron_setup.neuron_status()


def install_neuron(*, wait_done=True, on_line=None):
    """Install NEURON into the extension's user folder: bundled wheels first, then PyPI."""
    target = cache_files.user_folder("site-packages")
    task = Task(label="NEURON installation", future=None)

    def line(text):
        task.message = text[-120:]
        if on_line:
            on_line(text)

    task.future = session.worker.submit(neuron_setup.install_neuron, target, on_line=line,
                                        cancelled=task.cancel.is_set)
    task.on_done = _install_done
    start(task)
    return wait(task) if wait_done else task


def _install_done(task):
    error = task.future.exception()
    session.message = f"Installing NEURON failed: {error}" if error else f"Installed {task.future.result().summary()}"


def use_existing_neuron(folder):
    """Use a NEURON installed elsewhere (site-packages folder or NEURONHOME)."""
    return neuron_setup.use_existing_neuron(folder)


def _scene(scene):
    return scene or bpy.context.scene


def load_model(path, *, scene=None, build=True):
    """Load a model file into NEURON (on the engine thread) and show its cells."""
    from ..model_loaders import load_model as load

    scene = _scene(scene)
    if session.busy:
        raise RuntimeError(f"NEURON Live is busy: {session.task.label} is still running")
    model = session.worker.submit(load, path).result()
    session.model, session.cache = model, None
    props = scene.neuron_live
    props.model_path = str(Path(path).resolve())
    for key in ("tstop", "dt", "v_init", "celsius"):
        setattr(props, key, model.settings[key])
    props.status = f"Loaded {Path(path).name}: {model.summary()}"
    if build:
        build_mesh(scene=scene)
    return model


def build_mesh(*, scene=None, sides=8, scale=0.01):
    """(Re)build the mesh of the loaded model's cells; returns the object."""
    scene = _scene(scene)
    model = session.model
    if model is None:
        raise RuntimeError("No model loaded: load a .hoc, .py, .swc or .asc file first")
    tube = geometry.tube_mesh(model, sides=sides, scale=scale)
    name = f"NEURON {Path(model.path).stem}"[:63]
    old = bpy.data.objects.get(name)
    if old is not None:
        old_mesh = old.data
        bpy.data.objects.remove(old)
        bpy.data.meshes.remove(old_mesh)
    mesh = bpy.data.meshes.new(name)
    attributes.write_mesh(mesh, tube.positions, tube.loop_vertices, tube.face_starts)
    for key in ("segment", "section", "cell"):
        attributes.write(mesh, key, getattr(tube, key), "INT")
    mesh.materials.append(materials.activity_material(
        "NEURON Live activity", playback.attribute_name(scene.neuron_live.variable)))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    obj = bpy.data.objects.new(name, mesh)
    obj[playback.OBJECT_TAG] = True
    obj["neuron_live_model"] = model.path
    scene.collection.objects.link(obj)
    return obj


def run(*, scene=None, wait_done=True, on_progress=None, extend=False, **settings):
    """Simulate the loaded model from 0 to tstop into a new frame cache.

    Keyword settings (tstop, dt, v_init, celsius, cvode, frames_per_ms, variable)
    update the scene's settings first. Returns the cache (or the task when
    `wait_done=False`; `neuron_live.cancel()` stops it, keeping the frames done).
    `on_progress(task)` is called while waiting (task.progress, task.message).
    """
    scene = _scene(scene)
    props = scene.neuron_live
    for key, value in settings.items():
        if key not in RUN_SETTINGS:
            raise TypeError(f"run() got an unknown setting {key!r} (known: {', '.join(RUN_SETTINGS)})")
        setattr(props, key, value)
    if session.model is None and props.model_path and not session.busy:
        load_model(bpy.path.abspath(props.model_path), scene=scene, build=False)
    settings = RunSettings(**{key: _exact(getattr(props, key)) for key in RUN_SETTINGS})
    folder = cache_files.cache_folder(session.model.path) if session.model else None
    task = start_run(settings, folder, on_done=lambda task: _run_done(scene, task), extend=extend)
    scene.frame_start, scene.frame_end = 1, settings.n_frames
    props.cache_path = cache_files.stored_path(session.cache.folder)
    if not wait_done:
        return task
    wait(task, on_progress=on_progress)
    return session.cache


def continue_run(*, tstop, scene=None, wait_done=True, on_progress=None):
    """Extend the last run from where it stopped (finished or cancelled) to a later tstop;
    the result equals one run straight to that tstop."""
    return run(scene=scene, wait_done=wait_done, on_progress=on_progress, tstop=tstop, extend=True)


def _exact(value):
    """Blender stores floats as float32: 0.025 comes back as 0.0250000004, which NEURON
    would step with. Keep the 7 significant digits float32 actually holds."""
    return float(f"{value:.7g}") if isinstance(value, float) else value


def _run_done(scene, task):
    props = scene.neuron_live
    meta = session.cache.meta
    error = task.future.exception()
    if error is not None:
        props.status = f"Simulation failed: {error}"
    elif meta["cancelled"]:
        props.status = f"Cancelled after {meta['frames_done']} of {meta['n_frames']} frames"
    else:
        props.status = f"Simulated {meta['n_frames']} frames to {meta['settings']['tstop']:g} ms"
    playback.refresh(scene)


def cancel():
    """Stop the work in flight within one chunk; the frames done stay usable."""
    if session.task is not None:
        session.task.cancel.set()


def frame_values(obj, frame=None):
    """The per-vertex values `obj` shows at `frame` (default: the current frame)."""
    scene = bpy.context.scene
    if frame is not None:
        scene.frame_set(frame)
    variable = session.cache.meta["variable"] if session.cache else scene.neuron_live.variable
    return attributes.read(obj.data, playback.attribute_name(variable))
