"""Loading a model file: on the worker thread (compiling its mechanisms first), then on the
main thread the scene's settings, status line and cell meshes."""
import threading
from pathlib import Path

import bpy

from ...model_loaders import Clamp
from ...model_loaders import load_model as load
from ...model_loaders.load import current_load
from ..engine.state import Task, session
from ..scene import cache_files
from .meshes import build_mesh
from .tasks import start, wait


def load_model(path, *, scene=None, build=True, action=None, before="", after="", language="hoc",
               clamp=None, wait_done=True, on_progress=None, adopt_settings=True):
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
    """
    scene = scene or bpy.context.scene
    session.check_idle()
    _import_colour_libraries_early()
    task = Task(label=f"loading {Path(path).name}", future=None, message="Loading…")

    def compiler_line(text):
        task.message = f"Compiling mechanisms: {text.strip()[-80:]}"
        task.progress = min(0.9, task.progress + 0.02)  # nrnivmodl gives no total: creep forward

    options = dict(action=action or None, before=before, after=after, language=language,
                   clamp=_clamp(clamp), mechanisms_folder=cache_files.user_folder("mechanisms"),
                   on_line=compiler_line)
    before = current_load()
    task.future = session.worker.submit(load, path, **options)
    task.on_done = lambda task: _load_done(scene, path, task, build, before, adopt_settings)
    start(task)
    if not wait_done:
        return task
    return wait(task, on_progress=on_progress)


# The model's own settings the scene adopts at load: a model runs as its author set it up.
MODEL_SETTINGS = ("tstop", "dt", "v_init", "celsius", "cvode", "atol", "rtol", "secondorder")


def _load_done(scene, path, task, build, load_before, adopt_settings):
    """Main thread, when the engine thread finished loading: show the result or the error."""
    props = scene.neuron_live
    error = task.future.exception()
    if error is not None:
        _show_menu(props, path, getattr(error, "actions", None))
        props.status = f"Loading {Path(path).name} failed: {error}"
        if current_load() != load_before and session.model is not None and not session.recording:
            # The file got as far as replacing the loaded model's sections: NEURON no longer
            # holds that model, so a Run must reload it rather than simulate the debris.
            props.status += (f" | NEURON no longer holds {Path(session.model.path).name}: the scene shows "
                             "its cells and last run; Run reloads it")
            session.model = None
        return
    model = task.future.result()
    _show_menu(props, path, None)
    session.model, session.cache, session.recording = model, None, False
    props.model_path = str(Path(path).resolve())
    if adopt_settings:
        for key in MODEL_SETTINGS:
            if key in model.settings:  # recordings made by older versions carry fewer
                setattr(props, key, model.settings[key])
    props.status = "; ".join([f"Loaded {Path(path).name}: {model.summary()}", *model.notes])
    if build:
        build_mesh(scene=scene)


def _import_colour_libraries_early():
    """seaborn + matplotlib take ~2 s to import: do it once, on a helper thread while NEURON
    loads, so the first colour refresh on the main thread finds them imported."""
    global _colour_import
    if _colour_import is None:
        _colour_import = threading.Thread(target=_import_colour_libraries, name="neuron-live-colour-import",
                                          daemon=True)
        _colour_import.start()


def _import_colour_libraries():
    try:
        import matplotlib.figure  # noqa: F401
        import seaborn  # noqa: F401
    except ImportError as exc:  # the palette code reports a missing library where it is used
        print(f"NEURON Live: colour libraries not importable yet ({exc})")


_colour_import = None


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

