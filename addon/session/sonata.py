"""SONATA in Blender: open a data set (config, or nodes with their morphologies, spikes
and a compartment report) as a recording that plays, and write the session's run as
SONATA files other tools read.

Opening checks everything and reads the morphologies (in a NEURON process of its own)
before the scene changes; a bad file leaves the scene as it was. The report is then
copied into the frame cache in the background, block by block, with progress: the cells
show the first block while the rest arrives (`wait_done=False`), or the call returns
once it is all there (the default, for scripts).
"""
from pathlib import Path

import bpy

from ..engine import sonata as engine_sonata
from ..engine.host_base import HostKind
from ..engine.state import Task, session
from ..scene import cache_files, playback
from .colouring import set_colormap
from .meshes import build_mesh
from .tasks import start, wait


def open_sonata(path, *, scene=None, population=None, spikes=None, report=None, morphologies=None,
                tube_cells=engine_sonata.TUBE_CELLS, wait_done=True):
    """Show the SONATA data set at `path`; returns the frame cache (or, with
    wait_done=False, the task copying the report in). Beyond `tube_cells` cells, those
    nearest the centre are tubes and the rest centre lines (`build_mesh(groups=...)`
    picks others)."""
    scene = scene or bpy.context.scene
    session.check_idle()
    path = Path(path)
    host, _ = session.hosts.open(HostKind.PROCESS, label=str(path))
    try:
        opened = engine_sonata.open_sonata(
            path, cache_files.cache_folder(str(path.resolve()), scene), lambda p: host.load(p, {}),
            population=population, spikes=spikes, report=report, morphologies=morphologies)
    finally:
        host.close()
        session.hosts.keep_spare()
    _show(scene, path, opened, tube_cells)
    task = _start_fill(scene, path, opened)
    if not wait_done:
        return task
    wait(task)
    return opened.cache


def _show(scene, path, opened, tube_cells):
    session.model, session.cache, session.recording = opened.model, opened.cache, True
    props = scene.neuron_live
    props.model_path, props.cache_path = str(path), cache_files.stored_path(opened.cache.folder)
    props.variable = opened.cache.meta["variable"]
    scene.frame_start = 1
    scene.frame_end = playback.frame_of_sample(scene, opened.cache.meta["n_frames"] - 1)
    build_mesh(scene=scene, groups=engine_sonata.detail_groups(opened.model, tube_cells))
    if opened.cache.meta["variable"] == "spikes":  # no report: somata flash (0 → 1) at their spikes
        set_colormap(vmin=0.0, vmax=1.0, scene=scene)


def _start_fill(scene, path, opened):
    worker = session.worker
    holder = {}

    def progress(done, total):
        worker.post("progress", fraction=done / total, message=f"reading {path.name}: {done} of {total} frames")

    def job():
        return engine_sonata.fill(opened, progress=progress, cancelled=holder["task"].cancel.is_set)

    def done(task):
        error = task.future.exception()
        cache = opened.cache
        scene.neuron_live.status = (f"Opening {path.name} failed after {cache.frames_done} frames: {error}" if error
                                    else f"Opened SONATA {path.name}: {opened.model.summary()}, "
                                         f"{cache.frames_done} frames, {opened.n_spikes} spikes")
        playback.refresh(scene)
    task = Task(label=f"Reading {path.name}", future=None, on_done=done, cache=opened.cache)
    holder["task"] = task
    task.future = worker.submit(job)
    return start(task)


def write_sonata(folder, *, population="neuron_live"):
    """Write the session's run (or recording) as SONATA into `folder`: nodes.h5 and
    node_types.csv, spikes.h5 and report.h5 (the cached variable on every segment).
    Returns {name: path}."""
    from ..engine.sonata_write import write_sonata as write

    session.check_idle()
    if session.model is None or session.cache is None or session.cache.frames_done == 0:
        raise RuntimeError("Nothing to write: run a simulation (or open a recording) first")
    return write(session.cache, session.model, folder, population=population)
