"""Run by tests/test_install.py in a fresh Python with its own Blender profile.

    python install_probe.py MODE ARG MODEL

MODE is one of:
  zip ZIP MODEL          install a built zip like a user, then simulate MODEL
  toggle ZIP MODEL       enable / disable / re-enable: what the add-on leaves registered
  install SOURCE MODEL   link a source copy without bundled wheels, "Install NEURON", simulate

The caller sets BLENDER_USER_RESOURCES (and no PYTHONPATH) so the only NEURON this process
can get is the add-on's. Steps print as they go; the last line is `PROBE-RESULT {json}`,
which the test reads. Anything unexpected raises, so the exit status is non-zero.
"""
import importlib
import json
import os
import sys
import time
from pathlib import Path

import bpy
import addon_utils

PACKAGE = "bl_ext.user_default.neuron_live"
HEAVY = ("neuron", "seaborn", "matplotlib")
result = {}


def step(message):
    print(f"[probe {time.monotonic() - STARTED:6.2f} s] {message}", flush=True)


def submodule(name):
    return importlib.import_module(f"{PACKAGE}.{name}")


def can_import_neuron():
    try:
        import neuron  # noqa: F401
    except ImportError as exc:
        return f"ImportError: {exc}"
    return f"imported from {sys.modules['neuron'].__file__}"


def extensions_local_site_packages():
    """Where Blender unpacks the wheels of enabled extensions (put at the end of sys.path)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(Path(os.environ["BLENDER_USER_RESOURCES"], "extensions", ".local", "lib", version,
                    "site-packages").resolve())


def install_zip(path, *, enable):
    started = time.monotonic()
    outcome = bpy.ops.extensions.package_install_files(
        filepath=str(path), repo="user_default", enable_on_install=enable)
    result["install_seconds"] = round(time.monotonic() - started, 2)
    step(f"package_install_files -> {sorted(outcome)} in {result['install_seconds']} s")


def simulate(nl, model_path):
    """Load the example, run 10 ms through the add-on and summarise the cache."""
    import numpy as np

    started = time.monotonic()
    model = nl.load_model(str(model_path))
    cache = nl.run(tstop=10)
    soma = int(np.flatnonzero(model.section_type == 1)[0])  # model_loaders.model.SECTION_TYPES
    first = int(model.section_segment_start[soma])
    frames = np.asarray(cache.frames)
    summary = {
        "seconds": round(time.monotonic() - started, 2),
        "complete": bool(cache.meta["complete"]),
        "cancelled": bool(cache.meta.get("cancelled")),
        "error": cache.meta.get("error"),
        "shape": list(frames.shape),
        "dtype": str(frames.dtype),
        "n_segments": model.n_segments,
        "section_names": list(model.section_names),
        "all_finite": bool(np.isfinite(frames).all()),
        "v_init": float(cache.meta["settings"]["v_init"]),
        "soma_v_frame0": float(frames[0, first]),
        "soma_v_max": float(frames[:, first].max()),
    }
    step(f"simulation: {summary}")
    return summary


def registered_state():
    """Everything of ours that enabling registers, counted (0 = nothing left behind)."""
    def ours(functions):
        return sum(getattr(fn, "__module__", "").startswith(PACKAGE) for fn in functions)

    registration = sys.modules.get(f"{PACKAGE}.addon.ui.registration")
    session = sys.modules.get(f"{PACKAGE}.addon.session.tasks")
    try:
        run_poll = bool(bpy.ops.neuron_live.run.poll())
    except (AttributeError, RuntimeError, KeyError) as exc:
        run_poll = f"{type(exc).__name__}: {exc}"
    return {
        "addon_enabled": bpy.context.preferences.addons.get(PACKAGE) is not None,
        "frame_change_post": ours(bpy.app.handlers.frame_change_post),
        "load_post": ours(bpy.app.handlers.load_post),
        "import_menu": ours(getattr(bpy.types.TOPBAR_MT_file_import.draw, "_draw_funcs", ())),
        "scene_property": hasattr(bpy.types.Scene, "neuron_live"),
        "panel_type": hasattr(bpy.types, "NEURONLIVE_PT_main"),
        "registered_classes": sorted(cls.__name__ for cls in registration.CLASSES if cls.is_registered)
        if registration else [],
        "operators": sorted(dir(bpy.ops.neuron_live)),
        "run_poll": run_poll,
        "pump_timer": bool(session and bpy.app.timers.is_registered(session.pump)),
    }


def record(label):
    result.setdefault("states", {})[label] = state = registered_state()
    step(f"{label}: {state}")


def timed_enable(label):
    """Blender's wheel sync and the add-on's own enable, timed apart."""
    started = time.monotonic()
    addon_utils.extensions_refresh(addon_modules_pending=[PACKAGE])
    wheels = time.monotonic() - started
    started = time.monotonic()
    module = addon_utils.enable(PACKAGE, default_set=True, refresh_handled=True, handle_error=on_error)
    enable = time.monotonic() - started
    if module is None:
        raise RuntimeError(f"addon_utils.enable({PACKAGE!r}) failed (see above)")
    result.setdefault("timings", {})[label] = {"wheel_sync_s": round(wheels, 3), "enable_s": round(enable, 3)}
    step(f"{label}: Blender's wheel sync {wheels:.3f} s, addon_utils.enable {enable:.3f} s")
    return module


def on_error(exc):
    raise exc


def mode_zip(zip_path, model_path):
    result["neuron_before_install"] = can_import_neuron()
    install_zip(zip_path, enable=True)
    result["module_loaded"] = PACKAGE in sys.modules
    result["addon_enabled"] = bpy.context.preferences.addons.get(PACKAGE) is not None
    if not result["module_loaded"]:
        raise RuntimeError(f"{PACKAGE} is not in sys.modules after installing {zip_path}")
    nl = sys.modules[PACKAGE]
    result["heavy_after_enable"] = [name for name in HEAVY if name in sys.modules]
    result["local_site_packages"] = extensions_local_site_packages()
    result["local_on_sys_path"] = any(
        Path(p).resolve() == Path(result["local_site_packages"]) for p in sys.path if p)
    status = nl.neuron_status()
    result["status"] = {"found": status.found, "version": status.version, "path": status.path}
    import neuron
    import seaborn
    result["neuron_file"] = str(Path(neuron.__file__).resolve())
    result["neuron_version"] = neuron.__version__
    result["seaborn_file"] = str(Path(seaborn.__file__).resolve())
    result["simulation"] = simulate(nl, model_path)


def mode_toggle(zip_path, model_path):
    install_zip(zip_path, enable=False)
    record("installed")
    timed_enable("enable")
    result["heavy_after_enable"] = [name for name in HEAVY if name in sys.modules]
    classes = submodule("addon.ui.registration").CLASSES
    result["classes"] = sorted(cls.__name__ for cls in classes)
    result["operator_ids"] = sorted(cls.bl_idname.partition(".")[2] for cls in classes
                                    if issubclass(cls, bpy.types.Operator))
    record("enabled")
    addon_utils.disable(PACKAGE, default_set=True, handle_error=on_error)
    record("disabled")
    timed_enable("re-enable")
    record("re-enabled")

    # Disabling while a simulation runs, then enabling again: the add-on must be usable.
    # (Wheels stay installed here: refresh_handled skips Blender's wheel sync, not ours.)
    nl = sys.modules[PACKAGE]
    session = submodule("addon.session.tasks")
    nl.load_model(str(model_path))
    task = nl.run(tstop=5000, wait_done=False)
    for _ in range(5):
        session.pump()
        time.sleep(0.02)
    result["mid_run_timer_before_disable"] = bpy.app.timers.is_registered(session.pump)
    addon_utils.disable(PACKAGE, default_set=True, refresh_handled=True, handle_error=on_error)
    result["mid_run_timer_after_disable"] = bpy.app.timers.is_registered(session.pump)
    result["mid_run_task_stopped"] = _finished_within(task.future, 10)
    addon_utils.enable(PACKAGE, default_set=True, refresh_handled=True, handle_error=on_error)
    try:
        cache = nl.run(tstop=5)
        result["run_after_mid_run_disable"] = {"ok": bool(cache.meta["complete"])}
    except Exception as exc:  # the outcome is what the test checks
        result["run_after_mid_run_disable"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    step(f"run after disabling mid-run: {result['run_after_mid_run_disable']}")

    addon_utils.disable(PACKAGE, default_set=True, handle_error=on_error)
    record("disabled again")


def _finished_within(future, seconds):
    deadline = time.monotonic() + seconds
    while not future.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    return future.done()


def mode_install(source, model_path):
    repo = Path(bpy.utils.user_resource("EXTENSIONS", path="user_default", create=True))
    (repo / "neuron_live").symlink_to(Path(source), target_is_directory=True)
    result["neuron_before_enable"] = can_import_neuron()
    timed_enable("enable")
    nl = sys.modules[PACKAGE]
    status = nl.neuron_status()
    result["status_before"] = {"found": status.found, "version": status.version, "path": status.path}
    result["preferences_registered"] = submodule("addon.ui.preferences").NEURONLIVE_AP_preferences.is_registered
    result["preferences_in_addons"] = bpy.context.preferences.addons[PACKAGE].preferences is not None

    session = submodule("addon.session.tasks")
    started = time.monotonic()
    outcome = bpy.ops.neuron_live.install_neuron()
    task = session.session.task
    step(f"install_neuron operator -> {sorted(outcome)}, task {task and task.label!r}")
    if task is None:
        raise RuntimeError("the install_neuron operator started no task")
    result["pump_timer_while_installing"] = bpy.app.timers.is_registered(session.pump)
    session.wait(task, timeout=240)
    result["install_seconds"] = round(time.monotonic() - started, 2)
    step(f"installed in {result['install_seconds']} s; last pip line: {task.message!r}")

    status = nl.neuron_status()
    result["status_after"] = {"found": status.found, "version": status.version, "path": status.path}
    result["user_site_packages"] = str(Path(bpy.utils.extension_path_user(PACKAGE, path="site-packages")).resolve())
    import neuron
    result["neuron_file"] = str(Path(neuron.__file__).resolve())
    result["neuron_version"] = neuron.__version__
    result["simulation"] = simulate(nl, model_path)


MODES = {"zip": mode_zip, "toggle": mode_toggle, "install": mode_install}

if __name__ == "__main__":
    STARTED = time.monotonic()
    mode, argument, model = sys.argv[1:4]
    MODES[mode](Path(argument), Path(model))
    print("PROBE-RESULT " + json.dumps(result, default=str), flush=True)
    sys.stdout.flush()
    # Skip interpreter teardown: NEURON and Blender's atexit work add nothing here.
    os._exit(0)
