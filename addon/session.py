"""The main thread's side of the engine: the loaded model, the run in flight, the pump.

`pump()` is what `bpy.app.timers` calls while work is in flight; tests call the same
function (timers never fire in the bpy module).
"""
import threading
import time
from dataclasses import dataclass, field

import bpy

from . import playback
from .engine import FrameCache, Worker, simulate
from .engine.cache import file_sha256
from .engine import spikes  # issue 6

PUMP_INTERVAL = 0.05


@dataclass
class Task:
    """Work in flight on another thread, seen from the main thread."""
    label: str
    future: object
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: float = 0.0
    message: str = ""
    on_done: object = None  # callable(task) run on the main thread when finished


class Session:
    def __init__(self):
        self._worker = None
        self.model = None
        self.recording = False  # the model came from a recording: NEURON does not hold it
        self.cache = None
        self.task = None
        self.message = ""  # outcome of the last task without a scene to report to

    @property
    def worker(self):
        if self._worker is None:
            self._worker = Worker()
        return self._worker

    @property
    def busy(self):
        return self.task is not None


session = Session()


def start(task):
    """Track `task` and make sure the pump runs until it finishes."""
    if session.busy:
        raise RuntimeError(f"NEURON Live is busy: {session.task.label} is still running")
    session.task = task
    bpy.context.window_manager.progress_begin(0.0, 1.0)  # the cursor shows progress even while blocked
    if not bpy.app.timers.is_registered(pump):
        bpy.app.timers.register(pump, first_interval=PUMP_INTERVAL)
    return task


def pump():
    """Apply progress from the worker to Blender; finish the task when it is done."""
    task = session.task
    if task is None:
        return None
    for kind, data in session._worker.drain() if session._worker else ():
        if kind == "progress":
            task.progress, task.message = data["fraction"], data["message"]
    wm = bpy.context.window_manager
    if task.future.done():
        session.task = None
        wm.progress_end()
        if task.on_done:
            task.on_done(task)
        return None
    wm.progress_update(task.progress)
    scene = bpy.context.scene
    if task.label == "simulation" and session.cache is not None:
        newest = playback.frame_of_sample(scene, session.cache.frames_done - 1)
        if scene.neuron_live.follow and scene.frame_current != newest:
            scene.frame_set(newest)  # the frame handler writes the colours
        else:
            playback.refresh(scene)  # colours update live at the current frame
    return PUMP_INTERVAL


def wait(task, timeout=None, on_progress=None):
    """Block the caller, pumping, until `task` ends (scripts and tests)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while session.task is task:
        pump()
        if on_progress:
            on_progress(task)
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{task.label} did not finish within {timeout} s")
        time.sleep(0.01)
    return task.future.result()


def _progress_reporter(worker, settings, first_frame):
    """Progress events with simulated ms, ms per wall second and the time left, at most
    every 50 ms: a small model samples thousands of frames a second."""
    started = time.monotonic()
    posted = [0.0]

    def progress(t, frame):
        now = time.monotonic()
        if now - posted[0] < 0.05 and frame < settings.n_frames - 1:
            return
        posted[0] = now
        elapsed = now - started
        done = frame + 1 - first_frame
        rate = (done / settings.frames_per_ms) / elapsed if elapsed > 0 else 0.0
        left = (settings.n_frames - frame - 1) / settings.frames_per_ms / rate if rate else 0.0
        worker.post("progress", fraction=(frame + 1) / settings.n_frames,
                    message=f"t = {t:.1f} / {settings.tstop:g} ms · {rate:.0f} ms/s · {left:.0f} s left")
    return progress


def start_run(settings, cache_folder, on_done, *, extend=False):
    """Simulate the loaded model on the worker thread into a new cache, or (extend=True)
    continue the last run into the same cache up to the new tstop."""
    model = session.model
    if model is None:
        raise RuntimeError("No model loaded: load a .hoc, .py, .swc or .asc file first")
    if session.busy:
        raise RuntimeError(f"NEURON Live is busy: {session.task.label} is still running")
    if extend:
        cache = session.cache
        if cache is None or cache.meta.get("model") != model.path or cache.frames_done == 0:
            raise RuntimeError("Nothing to continue: run the simulation first")
        if settings.n_frames <= cache.frames_done:
            raise RuntimeError(f"Continue needs a tstop beyond {(cache.frames_done - 1) / settings.frames_per_ms:g} ms")
        if cache.meta["variable"] != settings.variable or cache.meta["frames_per_ms"] != settings.frames_per_ms:
            raise RuntimeError("Continue keeps the variable and frames per ms of the run; run from 0 to change them")
        first_frame = cache.frames_done
        cache.extend(settings.n_frames)
        cache.meta["settings"] = settings.as_dict()
    else:
        first_frame = 0
        cache = FrameCache.create(cache_folder, settings.n_frames, model.n_segments,
                                  segments=(model.segment_section, model.segment_x),
                                  variable=settings.variable, frames_per_ms=settings.frames_per_ms,
                                  model=model.path, model_sha256=file_sha256(model.path),
                                  settings=settings.as_dict(), section_names=model.section_names)
    session.cache = cache
    worker = session.worker
    task = Task(label="simulation", future=None, on_done=on_done)
    progress = _progress_reporter(worker, settings, first_frame)

    def job():
        try:
            with spikes.recording(model, cache.folder, extend=extend):  # issue 6: spikes.npz for the raster
                done = simulate(settings, cache, start_frame=first_frame, cancelled=task.cancel.is_set,
                                progress=progress)
        except Exception as exc:
            cache.finish(complete=False, error=str(exc))
            raise
        cache.finish(complete=done == settings.n_frames, cancelled=task.cancel.is_set())
        return done

    task.future = worker.submit(job)
    return start(task)
