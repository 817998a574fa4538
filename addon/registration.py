"""Register the add-on: classes in order forward, in reverse back; handlers; menus."""
import bpy

from . import operators, panels, playback, preferences, properties
from .session import pump, session

CLASSES = (*properties.CLASSES, *preferences.CLASSES, *operators.CLASSES, *panels.CLASSES)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    properties.register_properties()
    bpy.types.TOPBAR_MT_file_import.append(panels.menu_import)
    playback.add_handlers()
    preferences.apply_saved_paths()


def unregister():
    if bpy.app.timers.is_registered(pump):
        bpy.app.timers.unregister(pump)
    if session.task is not None:
        session.task.cancel.set()
    playback.remove_handlers()
    bpy.types.TOPBAR_MT_file_import.remove(panels.menu_import)
    properties.unregister_properties()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
