"""Loading a model file: on the worker thread (compiling its mechanisms first), or in a
NEURON process of its own; then on the main thread the scene's settings, status line and
cell meshes."""
import dataclasses
import threading
from concurrent.futures import Future
from pathlib import Path

import bpy

from ...model_loaders import Clamp
from ...model_loaders import load_model as load
from ...model_loaders.errors import NeedsOwnProcess
from ...model_loaders.load import current_load
from ..engine.host_process import Cancelled, ProcessHost
from ..engine.state import Task, session
from ..scene import cache_files
from .meshes import build_mesh
from .tasks import start, wait


def load_model(path, *, scene=None, build=True, action=None, before="", after="", language="hoc",
               clamp=None, wait_done=True, on_progress=None, adopt_settings=True, host=None):
    """Load a model file into NEURON (on the engine thread) and show its cells.

    Its `.mod` files are compiled once (cached by content); the compiler's lines arrive as
    the task's progress message. `action`: a menu button (label or command) to run when
    the entry only builds a menu: such an entry raises `model_loaders.MenuOnlyModel`,
    whose `.actions` list the choices. `before`/`after`: statements (`language` "hoc" or
    "python") around the load. `clamp=True` (or a `model_loaders.Clamp`, or a dict of
    amp/delay/dur) adds an IClamp at the soma. Failures raise
    `model_loaders.ModelLoadError` and leave the scene as it was (when the failing file had
    already replaced the loaded model in NEURON, the scene keeps its cells and last run and
    the next Run reloads that model). `wait_done=False` returns the task at once (the pump
    finishes the load). `adopt_settings=False` keeps the scene's run settings instead of
    the model's own (a reload of the scene's model).

    `host`: where NEURON runs the model. "IN_BLENDER" (a thread in Blender: `h` stays at hand
    in the Python console) or "PROCESS" (a NEURON process of its own: a crash, quit() or an
    endless loop in the model cannot take Blender down, and Cancel kills it). None: the
    scene's choice (`host` in its settings), switching to a process of its own for a model
    that needs one (it may quit, or its mechanisms or templates collide with those NEURON
    in Blender already holds); the status line says why. Runs use the model's host.
    """
    scene = scene or bpy.context.scene
    session.check_idle()
    automatic = host is None
    host = host or getattr(scene.neuron_live, "host", "IN_BLENDER")
    if host not in HOSTS:
        raise ValueError(f"host must be one of {', '.join(HOSTS)}, not {host!r}")
    reason = ""
    if host == "IN_BLENDER" and session.stuck is not None and not session.stuck.done():
        if not automatic:
            raise RuntimeError("NEURON in Blender is still busy with a cancelled load: load with "
                               "host='PROCESS' (or restart Blender)")
        host, reason = "PROCESS", "NEURON in Blender is still busy with a cancelled load"
    task = Task(label=f"loading {Path(path).name}", future=None, message="Loading…")

    def compiler_line(text):
        task.message = f"Compiling mechanisms: {text.strip()[-80:]}"
        task.progress = min(0.9, task.progress + 0.02)  # nrnivmodl gives no total: creep forward

    options = dict(action=action or None, before=before, after=after, language=language,
                   clamp=_clamp(clamp), mechanisms_folder=cache_files.user_folder("mechanisms"))
    before = current_load()
    if host == "PROCESS":
        task.future = _in_process(task, path, options, compiler_line, reason)
    else:
        def job():
            try:
                return load(path, process="auto" if automatic else "shared", on_line=compiler_line, **options)
            except NeedsOwnProcess as exc:
                if not automatic:
                    raise
                return _in_process(task, path, options, compiler_line, str(exc)).result()
        task.future = session.worker.submit(job)
        task.on_cancel = lambda: _abandon(task, path)
    task.on_done = lambda task: _load_done(scene, path, task, build, before, adopt_settings)
    start(task)
    if not wait_done:
        return task
    return wait(task, on_progress=on_progress)


HOSTS = ("IN_BLENDER", "PROCESS")


def _in_process(task, path, options, on_line, reason):
    """Load in a fresh NEURON process (`task.host`); a Future of the Model, whose notes say why
    it went there. Cancel kills the process at once (a load cannot stop half-way)."""
    host = ProcessHost(label=str(Path(path).resolve()))
    task.on_cancel = host.kill
    if task.cancel.is_set():
        host.kill()
    options = dict(options, mechanisms_folder=str(options["mechanisms_folder"]),
                   clamp=dataclasses.asdict(options["clamp"]) if options["clamp"] else None)

    def job():
        try:
            model, _ended = host.load(path, options, on_line=on_line)  # (its notes say how)
        except BaseException:
            host.close()
            raise
        if reason:
            model.notes.append(f"runs in a NEURON process of its own: {reason}")
        task.host = host
        return model
    return host.submit(job)


def _abandon(task, path):
    """Cancel of a load in Blender's NEURON: the model's Python is interrupted at its next
    line, but hoc code cannot be, so the task lets go of it at once (Blender is free again)
    and loads run in processes of their own until it has ended."""
    session.stuck = task.future
    session.worker.interrupt()
    task.future = Future()
    task.future.set_exception(Cancelled(f"Cancelled loading {Path(path).name}; until NEURON in Blender has "
                                        "stopped it, loads run in a NEURON process of their own"))


# The model's own settings the scene adopts at load: a model runs as its author set it up.
MODEL_SETTINGS = ("tstop", "dt", "v_init", "celsius", "cvode", "atol", "rtol", "secondorder", "own_run")


def _load_done(scene, path, task, build, load_before, adopt_settings):
    """Main thread, when the engine thread finished loading: show the result or the error."""
    props = scene.neuron_live
    error = task.future.exception()
    if error is not None:
        _show_menu(props, path, getattr(error, "actions", None))
        props.status = f"Loading {Path(path).name} failed: {error}"
        if isinstance(error, Cancelled):
            props.status = str(error)
        abandoned = session.stuck is not None and not session.stuck.done() and isinstance(error, Cancelled)
        in_blender = session.process is None
        if ((current_load() != load_before or (abandoned and in_blender)) and session.model is not None
                and not session.recording and in_blender):
            # The file got as far as replacing the loaded model's sections: NEURON no longer
            # holds that model, so a Run must reload it rather than simulate the debris.
            props.status += (f" | NEURON no longer holds {Path(session.model.path).name}: the scene shows "
                             "its cells and last run; Run reloads it")
            session.model = None
        return
    model, host = task.future.result(), task.host
    _show_menu(props, path, None)
    if session.process is not None and session.process is not host:
        # The previous model's process: let it go without making the UI wait for it.
        threading.Thread(target=session.process.close, name="neuron-live-host-close", daemon=True).start()
    session.process = host
    session.model, session.cache, session.recording = model, None, False
    props.model_path = str(Path(path).resolve())
    if adopt_settings:
        for key in MODEL_SETTINGS:
            if key in model.settings:  # recordings made by older versions carry fewer
                setattr(props, key, model.settings[key])
    props.status = "; ".join([f"Loaded {Path(path).name}: {model.summary()}", *model.notes])
    if build:
        build_mesh(scene=scene)


def _clamp(clamp):
    """`clamp` as the loader takes it: None, or a Clamp (from True or a dict)."""
    if not clamp:
        return None
    if isinstance(clamp, dict):
        return Clamp(**clamp)
    return clamp if isinstance(clamp, Clamp) else Clamp()


def _show_menu(props, path, actions):
    """Remember a menu-only entry's buttons for the panel (cleared by any other load)."""
    props.menu_path = str(Path(path).resolve()) if actions else ""
    props.menu_actions = "\n".join(action.label for action in actions or ())

