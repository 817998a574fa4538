"""Loading a model file into a host (compiling its mechanisms first): a NEURON process of
its own by default, or Blender's NEURON thread; then on the main thread the scene's
settings, status line and cell meshes."""
import dataclasses
import threading
from pathlib import Path

import bpy

from ...model_loaders import Clamp
from ...model_loaders.errors import NeedsOwnProcess
from ..engine.errors import Cancelled
from ..engine.hosts import HostKind
from ..engine.run_settings import MODEL_SETTINGS  # a model runs as its author set it up
from ..engine.state import Task, session
from ..scene import cache_files
from .meshes import build_mesh
from .tasks import start, wait


def load_model(path, *, scene=None, build=True, action=None, before="", after="", language="hoc",
               clamp=None, wait_done=True, on_progress=None, adopt_settings=True, host=None):
    """Load a model file into NEURON and show its cells.

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

    `host`: where NEURON runs the model (a `HostKind` or its name). "PROCESS", the default:
    a NEURON process of its own; a crash, quit() or endless loop in the model cannot take
    Blender down, hoc work at load never freezes Blender, and Cancel always stops it.
    "IN_BLENDER": a thread in Blender, with `h` at hand in the Python console. None: the
    scene's choice, where a model that cannot run in Blender's NEURON (it may quit, or its
    mechanisms or templates collide with those NEURON in Blender already holds) goes to a
    process of its own; the status line says why. Runs use the model's host.
    """
    scene = scene or bpy.context.scene
    session.check_idle()
    forced = host is not None
    kind = _host_kind(host if forced else scene.neuron_live.host)
    label = str(Path(path).resolve())
    target, reason = session.hosts.open(kind, label=label)
    if reason and forced:
        target.close()
        raise RuntimeError(f"{reason}: load with host='{HostKind.PROCESS}' (or restart Blender)")
    task = Task(label=f"loading {Path(path).name}", future=None, message="Loading…", host=target)

    def compiler_line(text):
        task.message = f"Compiling mechanisms: {text.strip()[-80:]}"
        task.progress = min(0.9, task.progress + 0.02)  # nrnivmodl gives no total: creep forward

    clamp = _clamp(clamp)
    options = dict(action=action or None, before=before, after=after, language=language,
                   clamp=dataclasses.asdict(clamp) if clamp else None,
                   mechanisms_folder=str(cache_files.user_folder("mechanisms")))

    def job():
        try:
            model = _load_into(task.host, path, options, compiler_line, may_move=not forced)
        except NeedsOwnProcess as exc:
            if forced:
                raise
            task.host, _ = session.hosts.open(HostKind.PROCESS, label=label)
            task.on_cancel = task.host.cancel
            if task.cancel.is_set():
                task.host.cancel()
            model = _load_into(task.host, path, options, compiler_line)
            reason_moved = str(exc)
        else:
            reason_moved = reason
        if reason_moved:
            model.notes.append(f"runs in a NEURON process of its own: {reason_moved}")
        return model
    task.future = target.submit(job)
    task.on_cancel = target.cancel
    task.on_done = lambda task: _load_done(scene, path, task, build, adopt_settings)
    start(task)
    if not wait_done:
        return task
    return wait(task, on_progress=on_progress)


def _host_kind(name):
    try:
        return HostKind(name)
    except ValueError:
        raise ValueError(f"host must be one of {', '.join(HostKind)}, not {name!r}") from None


def _load_into(host, path, options, on_line, *, may_move=False):
    """Load on `host` (blocks the job's thread); a host that fails to load lets go of it
    (a process ends; Blender's own NEURON stays)."""
    try:
        return host.load(path, options, on_line=on_line, may_move=may_move)
    except BaseException:
        if host is not session.host:
            host.close()
        raise




def _load_done(scene, path, task, build, adopt_settings):
    """Main thread, when the engine thread finished loading: show the result or the error."""
    props = scene.neuron_live
    error = task.future.exception()
    if error is not None:
        _show_menu(props, path, getattr(error, "actions", None))
        props.status = f"Loading {Path(path).name} failed: {error}"
        if isinstance(error, Cancelled):
            props.status = str(error)
        if task.host is session.host and task.host.model_lost and session.model is not None \
                and not session.recording:
            # The file got as far as replacing the loaded model's sections: NEURON no longer
            # holds that model, so a Run must reload it rather than simulate the debris.
            props.status += (f" | NEURON no longer holds {Path(session.model.path).name}: the scene shows "
                             "its cells and last run; Run reloads it")
            session.model = None
        return
    model, host = task.future.result(), task.host
    _show_menu(props, path, None)
    if session.host is not None and session.host is not host:
        # The previous model's host: let it go without making the UI wait for it.
        threading.Thread(target=session.host.close, name="neuron-live-host-close", daemon=True).start()
    session.host = host
    session.hosts.keep_spare()  # the next load starts without waiting for Python and NEURON
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

