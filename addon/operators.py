"""Thin operators: each one calls a function of `api` and reports its outcome."""
import bpy
from bpy.props import CollectionProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from . import api
from .session import session
from ..model_loaders.load import SUFFIXES

FILTER = ";".join(f"*{suffix}" for suffix in sorted(SUFFIXES))


def _report_errors(operator, fn, *args, **kwargs):
    """Run `fn`; turn any failure into a Blender error report instead of a traceback."""
    try:
        return fn(*args, **kwargs), True
    except Exception as exc:  # shown to the user, never swallowed
        operator.report({"ERROR"}, str(exc))
        return None, False


class NEURONLIVE_OT_load_model(bpy.types.Operator, ImportHelper):
    """Load a NEURON model (hoc, Python) or a morphology (SWC, ASC, MorphML) and show its cells"""
    bl_idname = "neuron_live.load_model"
    bl_label = "Load NEURON Model"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: StringProperty(default=FILTER, options={"HIDDEN"})
    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={"HIDDEN", "SKIP_SAVE"})
    directory: StringProperty(subtype="DIR_PATH", options={"HIDDEN", "SKIP_SAVE"})

    def execute(self, context):
        model, ok = _report_errors(self, api.load_model, self.filepath, scene=context.scene)
        if not ok:
            return {"CANCELLED"}
        self.report({"INFO"}, context.scene.neuron_live.status)
        return {"FINISHED"}


class NEURONLIVE_OT_run(bpy.types.Operator):
    """Simulate the loaded model from 0 to tstop in the background (Esc cancels)"""
    bl_idname = "neuron_live.run"
    bl_label = "Run"

    extend: bpy.props.BoolProperty(name="Continue", default=False, options={"SKIP_SAVE"},
                                   description="Continue the last run to the new tstop instead of starting at 0")

    def execute(self, context):
        _, ok = _report_errors(self, api.run, scene=context.scene, wait_done=False, extend=self.extend)
        if not ok:
            return {"CANCELLED"}
        # Stay modal to catch Esc where there is a window (not in the bpy module).
        if context.window and context.window_manager.modal_handler_add(self):
            return {"RUNNING_MODAL"}
        return {"FINISHED"}

    def modal(self, context, event):
        if session.task is None:
            return {"FINISHED"}
        if event.type == "ESC":
            api.cancel()
            self.report({"INFO"}, "Cancelling: the frames done so far stay")
        return {"PASS_THROUGH"}


class NEURONLIVE_OT_cancel(bpy.types.Operator):
    """Stop the simulation; the frames done so far stay"""
    bl_idname = "neuron_live.cancel"
    bl_label = "Cancel"

    def execute(self, context):
        api.cancel()
        return {"FINISHED"}


class NEURONLIVE_OT_install_neuron(bpy.types.Operator):
    """Install NEURON into Blender's Python from the bundled wheels (offline), else from PyPI"""
    bl_idname = "neuron_live.install_neuron"
    bl_label = "Install NEURON"

    def execute(self, context):
        _, ok = _report_errors(self, api.install_neuron, wait_done=False)
        if ok:
            self.report({"INFO"}, "Installing NEURON… (progress in the status bar)")
        return {"FINISHED"} if ok else {"CANCELLED"}


CLASSES = (
    NEURONLIVE_OT_load_model,
    NEURONLIVE_OT_run,
    NEURONLIVE_OT_cancel,
    NEURONLIVE_OT_install_neuron,
)
