"""Runs: simulate the loaded model on the worker thread into a frame cache, continue a
run, cancel; the outcome goes to the scene's status line and colours."""
import time
from pathlib import Path

import bpy

from ..engine import FrameCache, RunSettings
from ..engine.cache import file_sha256
from ..engine.errors import Cancelled
from ..engine.outcome import run_outcome
from ..engine.run_settings import RUN_SETTINGS
from ..engine.settings_check import check_settings
from ..engine.state import Task, session
from ..scene import cache_files, materials, playback
from . import experiment_runs, plotting, rendering
from .loading import load_model
from .tasks import start, wait


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


def start_run(settings, cache_folder, on_done, *, extend=False, hooks=None):
    """Simulate the loaded model on the worker thread into a new cache, or (extend=True)
    continue the last run into the same cache up to the new tstop.

    A new cache is made on the worker thread (a big one takes seconds to allocate) in a
    sibling of `cache_folder`, and replaces the previous cache there only once it holds its
    first frame: a run that fails before that leaves the previous run playing. `hooks`:
    (before(host), after(host, cache)) around the simulation, on the worker thread (the
    experiment goes to the host, its probe traces come back)."""
    model = session.model
    if model is None:
        raise RuntimeError("No model loaded: load a .hoc, .py, .swc or .asc file first")
    session.check_idle()
    if extend:
        cache = session.cache
        if cache is None or cache.meta.get("model") != model.path or cache.frames_done == 0:
            raise RuntimeError("Nothing to continue: run the simulation first")
        if settings.n_frames <= cache.frames_done:
            raise RuntimeError(f"Continue needs a tstop beyond {settings.time_of(cache.frames_done - 1):g} ms")
        if cache.meta["variable"] != settings.variable or cache.meta["frames_per_ms"] != settings.frames_per_ms:
            raise RuntimeError("Continue keeps the variable and frames per ms of the run; run from 0 to change them")
    first_frame = session.cache.frames_done if extend else 0
    previous = session.cache
    host = session.host  # wherever the model was loaded: its process, or Blender's NEURON
    task = Task(label="simulation", future=None, on_done=on_done, host=host)
    report = _progress_reporter(host, settings, first_frame)

    def new_cache():
        host.post("progress", fraction=0.0, message=f"Allocating the frame cache ({settings.n_frames} frames)…")
        return FrameCache.create(cache_folder, settings.n_frames, model.n_segments,
                                 segments=(model.segment_section, model.segment_x), staged=True,
                                 variable=settings.variable, frames_per_ms=settings.frames_per_ms,
                                 model=model.path, model_sha256=file_sha256(model.path),
                                 settings=settings.as_dict(), section_names=model.section_names)

    def job():
        if extend:
            cache = session.cache
            cache.extend(settings.n_frames)
            cache.meta["settings"] = settings.as_dict()
        else:
            cache = new_cache()
        task.cache = session.cache = cache  # the pump plays the frames as they arrive

        def progress(t, frame):
            if cache.staged:  # its first frame is in: it replaces the previous run's cache
                cache.promote()
            report(t, frame)
        before, after = hooks or (lambda host: None, lambda host, cache: None)
        try:
            before(host)
            done = host.simulate(settings, cache, start_frame=first_frame, extend=extend, progress=progress)
            after(host, cache)
            if host.run_note:  # the status says why the cores asked for were not all used
                cache.meta["note"] = host.run_note
        except Cancelled:  # a run that did not stop by itself: its process was killed
            cache.finish(complete=False, cancelled=True)
            return cache.frames_done
        except Exception as exc:
            cache.finish(complete=False, error=str(exc))
            raise
        finally:
            if cache.staged:  # not a single frame: the previous run stays
                cache.discard()
                session.cache = previous
        cache.finish(complete=done == settings.n_frames, cancelled=task.cancel.is_set())
        return done

    task.future = host.submit(job)
    task.on_cancel = host.cancel
    return start(task)


def run(*, scene=None, wait_done=True, on_progress=None, extend=False, **settings):
    """Simulate the loaded model from 0 to tstop into a new frame cache.

    Keyword settings (tstop, dt, v_init, celsius, cvode, frames_per_ms, variable, threads,
    processes)
    update the scene's settings first. Returns the cache (or the task when
    `wait_done=False`; `neuron_live.cancel()` stops it, keeping the frames done).
    `on_progress(task)` is called while waiting (task.progress, task.message).
    """
    scene = scene or bpy.context.scene
    props = scene.neuron_live
    unknown = [key for key in settings if key not in RUN_SETTINGS]
    if unknown:
        raise TypeError(f"run() got an unknown setting {unknown[0]!r} (known: {', '.join(RUN_SETTINGS)})")
    values = {key: _exact(getattr(props, key)) for key in RUN_SETTINGS} | settings
    check_settings(values)  # before anything is stored: a bad value never stays in the scene
    for key, value in settings.items():
        setattr(props, key, value)
    if session.recording:
        raise RuntimeError(f"{Path(props.model_path).name} is a recording: load its model to run it again")
    _scene_model(scene)
    settings = RunSettings(**{key: _exact(getattr(props, key)) for key in RUN_SETTINGS})
    folder = cache_files.cache_folder(session.model.path, scene)
    spec, skipped = experiment_runs.spec_for_run(scene)
    settings, single = experiment_runs.one_process(settings, spec)
    skipped += single

    def done(task):
        _run_done(scene, task)
        name = experiment_runs.record(scene, task.cache, settings.as_dict(), spec, extend)
        if name or skipped:
            scene.neuron_live.status += "".join(f" | {text}" for text in ([name] if name else []) + skipped)
    task = start_run(settings, folder, on_done=done, extend=extend,
                     hooks=experiment_runs.job_hooks(spec, extend, experiment_runs.live_path(
                         session.cache.folder if extend and session.cache else folder)))
    scene.frame_start = 1
    scene.frame_end = playback.frame_of_sample(scene, settings.n_frames - 1)
    props.cache_path = cache_files.stored_path(session.cache.folder if extend else folder)
    props.status = f"Simulating {Path(session.model.path).name} to {settings.tstop:g} ms…"
    if not wait_done:
        return task
    wait(task, on_progress=on_progress)
    return session.cache


def _scene_model(scene):
    """Make NEURON hold this scene's model: the session's model may be another scene's
    (File › New, another .blend opened) or gone (a failed load replaced it)."""
    props = scene.neuron_live
    wanted = Path(bpy.path.abspath(props.model_path)).resolve() if props.model_path else None
    model = session.model
    if model is not None and wanted is not None and Path(model.path).resolve() == wanted and (
            session.host is not None and session.host.alive):  # (a model may end its own process)
        return
    if wanted is None:
        raise RuntimeError("No model loaded in this scene: load a .hoc, .py, .swc or .asc file first")
    if session.busy:
        raise RuntimeError(f"NEURON Live is busy: {session.task.label} is still running")
    playing = session.cache
    load_model(str(wanted), scene=scene, build=not playback.cell_objects(scene), adopt_settings=False)
    if playing is not None and Path(str(playing.meta.get("model"))).resolve() == wanted:
        session.cache = playing  # this model's run (e.g. reopened after a crash): Continue goes on from it


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
    error = task.future.exception()
    cache = task.cache
    if cache is None or cache.frames_done == 0:  # nothing of this run: the previous one stays
        kept = "; the previous run still plays" if session.cache else ""
        props.status = run_outcome({"n_frames": 0, "frames_done": 0}, error) + kept
        return
    meta = cache.meta
    props.status = run_outcome(meta, error)
    if meta.get("note"):
        props.status += f" ({meta['note']})"
    materials.refresh_all(scene)  # the material reads this run's variable
    newest = playback.frame_of_sample(scene, cache.frames_done - 1)
    if props.follow and scene.frame_current != newest:
        scene.frame_set(newest)  # the pump's last turn may have come frames before the end
    else:
        playback.refresh(scene)
    plotting.refresh_plots(scene)  # redraw the plots asked for before (none: nothing to do)
    rendering.refresh_overlays(scene, report=True)  # the inset traces show this run


def cancel():
    """Stop the work in flight within one chunk; the frames done stay usable. Work in a
    NEURON process of its own that does not stop within a second is killed."""
    task = session.task
    if task is not None:
        task.cancel.set()
        if task.on_cancel is not None:
            task.on_cancel()

