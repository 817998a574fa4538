"""The main thread's side of work in flight: start a task, pump its progress, wait for it.

`pump()` is what `bpy.app.timers` calls while work is in flight; tests call the same
function (timers never fire in the bpy module).
"""
import time

import bpy

from ..engine.state import session
from ..scene import playback

PUMP_INTERVAL = 0.05


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
    done = task.cache.frames_done if task.cache is not None else 0
    if (task.progress, done) == task.shown:  # nothing new: leave the GIL to NEURON at once
        return PUMP_INTERVAL
    task.shown = (task.progress, done)
    wm.progress_update(task.progress)
    scene = bpy.context.scene
    if done:
        newest = playback.frame_of_sample(scene, done - 1)
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
