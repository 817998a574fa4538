"""Register the add-on: classes in order forward, in reverse back; handlers; menus."""
import bpy

from ..engine.state import session
from ..job import cli as job_cli  # `blender -b --command neuron_live` (standard library only)
from ..scene import cache_files, compat, legend, playback
from ..session.tasks import pump, wait
from . import file_handler, operators, panel_experiment, panel_render, panels, preferences, properties

CLASSES = (*properties.CLASSES, *preferences.CLASSES, *operators.CLASSES, *panels.CLASSES,
           *file_handler.CLASSES, *panel_render.CLASSES, *panel_experiment.CLASSES)
# Handles of our `--command` ids while enabled: registering an id twice makes it unusable.
CLI_COMMANDS = []


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    properties.register_properties()
    panel_render.register()  # the overlays' settings and per-frame handlers
    panel_experiment.register()  # markers moved or deleted in the viewport follow (experiment)
    bpy.types.TOPBAR_MT_file_import.append(panels.menu_import)
    playback.add_handlers()
    legend.add_handlers()  # the in-scene legend follows the render's camera/aspect
    bpy.app.handlers.save_pre.append(cache_files.on_save_pre)
    preferences.apply_saved_paths()
    preferences.install_bundled_on_first_enable()
    CLI_COMMANDS.append(compat.register_cli_command("neuron_live", job_cli.blender_command))
    session.hosts.keep_spare()  # the first load need not wait for a NEURON process to start


def unregister():
    while CLI_COMMANDS:
        compat.unregister_cli_command(CLI_COMMANDS.pop())
    if bpy.app.timers.is_registered(pump):
        bpy.app.timers.unregister(pump)
    if session.task is not None:  # stop work in flight; the module outlives a disable
        task = session.task
        task.cancel.set()  # the worker stops within one chunk (pip at its next line)
        try:
            wait(task, timeout=5)  # pumps, so on_done runs while our properties still exist
        except Exception as exc:  # a failed or slow task must not block disabling
            print(f"NEURON Live: {task.label} ended with {exc!r}")
        session.task = None
    session.hosts.close()  # the spare process
    playback.remove_handlers()
    legend.remove_handlers()
    while cache_files.on_save_pre in bpy.app.handlers.save_pre:
        bpy.app.handlers.save_pre.remove(cache_files.on_save_pre)
    bpy.types.TOPBAR_MT_file_import.remove(panels.menu_import)
    panel_render.unregister()
    panel_experiment.unregister()
    properties.unregister_properties()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
