"""The main thread's side of work in flight: start a task, pump its progress, wait for it.

`pump()` is what `bpy.app.timers` calls while work is in flight; tests call the same
function (timers never fire in the bpy module).
"""
import time

import bpy

from ..engine.state import session
from ..scene import playback

PUMP_INTERVAL = 0.05
LIVE_SHARE = 0.05  # at most this share of a run's time goes to colouring the cells live


def start(task):
    """Track `task` and make sure the pump runs until it finishes."""
    session.check_idle()
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
    for kind, data in session.drain():
        if kind == "progress":
            task.progress, task.message = data["fraction"], data["message"]
    wm = bpy.context.window_manager
    if task.future.done():
        session.task = None
        wm.progress_end()
        if task.on_done:
            task.on_done(task)
        return None
    if task.progress != task.shown_progress:
        task.shown_progress = task.progress
        wm.progress_update(task.progress)
    done = task.cache.frames_done if task.cache is not None else 0
    if done != task.shown_frames and time.perf_counter() >= task.show_after:
        task.shown_frames = done
        started = time.perf_counter()
        with session.main_turn:  # frame_set lets go of the GIL: NEURON waits out this turn
            _show_newest(bpy.context.scene, done)
        task.show_after = started + (time.perf_counter() - started) / LIVE_SHARE
    return PUMP_INTERVAL


def _show_newest(scene, done):
    """Colour the cells with the newest frame (and go to it when following the run)."""
    newest = playback.frame_of_sample(scene, done - 1)
    if scene.neuron_live.follow and scene.frame_current != newest:
        scene.frame_set(newest)  # the frame handler writes the colours
    else:
        playback.refresh(scene)  # colours update live at the current frame


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
