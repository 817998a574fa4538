"""Add-on preferences: which NEURON is in use, and how to get one when there is none."""
import bpy
from bpy.props import FloatProperty, StringProperty

from .. import EXTENSION_PACKAGE
from ..engine.hosts import default_memory_limit
from ..engine.state import session
from ..install import neuron_setup
from ..scene import compat
from ..session import install


def _use_path(self, context):
    """Setting the folder is the action: make that NEURON importable now, say what happened."""
    if not self.neuron_path:
        return
    try:
        session.message = neuron_setup.use_existing_neuron(bpy.path.abspath(self.neuron_path)).summary()
    except FileNotFoundError as exc:
        session.message = str(exc)


def _use_memory_limit(self, context):
    session.hosts.memory_limit = int(self.memory_limit * GB)


GB = 1 << 30


class NEURONLIVE_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = EXTENSION_PACKAGE

    memory_limit: FloatProperty(
        name="Memory limit (GB)", default=round(default_memory_limit() / GB, 1), min=0.05, precision=2,
        update=_use_memory_limit,
        description="Memory a model's NEURON process may use before it is stopped with a message, so that "
                    "a model allocating without bound never makes the machine swap (default: 60 % of RAM)")

    neuron_path: StringProperty(
        name="Existing NEURON", subtype="DIR_PATH", update=_use_path,
        description="Folder of a NEURON installation (NEURONHOME, or the site-packages holding 'neuron')")

    def draw(self, context):
        layout = self.layout
        status = neuron_setup.neuron_status()  # find_spec only: cheap, and never stale
        box = layout.box()
        if status.found:
            box.label(text=f"NEURON {status.version or '?'}", icon="CHECKMARK")
            box.label(text=status.path)
        else:
            box.label(text="NEURON is not installed in Blender's Python", icon="ERROR")
            box.label(text="This happens on Windows (no NEURON wheel exists) or when the add-on")
            box.label(text="was installed from a source folder. Install it, or use an existing one:")
            if session.task is not None:
                compat.progress(box, session.task.progress, session.task.message[-60:] or "Installing…")
            else:
                box.operator("neuron_live.install_neuron", icon="IMPORT")
        box.label(text=f"C compiler for .mod files: {status.compiler or 'not found (install gcc/clang)'}",
                  icon="CHECKMARK" if status.compiler else "ERROR")
        layout.prop(self, "neuron_path")
        layout.prop(self, "memory_limit")
        if session.message:
            layout.label(text=session.message)


def apply_saved_paths():
    """At enable: make an installed or chosen NEURON importable again (cheap, no import)."""
    installed = compat.user_folder(EXTENSION_PACKAGE, "site-packages")
    if any(installed.iterdir()):
        neuron_setup.add_to_path(installed, first=False)
    prefs = bpy.context.preferences.addons.get(EXTENSION_PACKAGE)
    if prefs and prefs.preferences:
        _use_memory_limit(prefs.preferences, bpy.context)
    path = prefs.preferences.neuron_path if prefs and prefs.preferences else ""
    if path:
        try:
            neuron_setup.use_existing_neuron(path)
        except FileNotFoundError as exc:
            print(f"NEURON Live: {exc}")


def install_bundled_on_first_enable():
    """A legacy add-on (Blender before extensions) gets no wheels installed by Blender: on
    its first enable, install the bundled NEURON and seaborn into its own user folder in
    the background (the Install NEURON button's path: offline first). Later enables leave
    a failed attempt to that button."""
    if compat.EXTENSIONS or not any(neuron_setup.WHEELS_DIR.glob("neuron-*.whl")) or neuron_setup.neuron_status().found:
        return
    marker = compat.user_folder(EXTENSION_PACKAGE, "site-packages") / ".install-attempted"
    if marker.exists():
        return
    marker.touch()
    print("NEURON Live: installing the bundled NEURON and seaborn (first enable)")
    install.install_neuron(wait_done=False)


CLASSES = (NEURONLIVE_AP_preferences,)
