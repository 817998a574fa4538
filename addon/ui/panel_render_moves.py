"""The Render panel's camera path (saved views, a path through them) and side-by-side parts:
thin operators over session/render_views.py and session/render_compare.py, and the rows
ui/panel_render.py draws for them."""
import bpy
from bpy.props import BoolProperty, StringProperty

from ..session import experiment_runs, render_compare, render_views

ERRORS = (RuntimeError, ValueError, OSError)  # ExperimentError is a ValueError
_RUN_ITEMS = []  # Blender keeps no copy of a dynamic enum's strings: they must outlive the call


def run_items(self, context):
    """The run history as enum items: "Run N" (the whole name in the tooltip), value N."""
    _RUN_ITEMS[:] = [(str(e["index"]), f"Run {e['index']}", e["name"], e["index"])
                     for e in experiment_runs.runs(scene=context.scene)] or [("NONE", "No runs", "Run first", 0)]
    return _RUN_ITEMS


def _done(operator, call, message=None):
    """Run `call`; an error goes to the status bar, never a traceback."""
    try:
        result = call()
    except ERRORS as exc:
        operator.report({"ERROR"}, str(exc))
        return {"CANCELLED"}
    if message:
        operator.report({"INFO"}, message(result))
    return {"FINISHED"}


class NEURONLIVE_OT_save_view(bpy.types.Operator):
    """Keep the camera's view (place, aim, lens) as the next stop of a camera path"""
    bl_idname = "neuron_live.save_view"
    bl_label = "Save View"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        return _done(self, lambda: render_views.save_view(scene=context.scene), lambda name: f"Saved {name}")


class NEURONLIVE_OT_delete_view(bpy.types.Operator):
    """Forget this saved view"""
    bl_idname = "neuron_live.delete_view"
    bl_label = "Delete View"
    bl_options = {"REGISTER", "UNDO"}
    name: StringProperty(name="View", options={"SKIP_SAVE"}, description="The saved view to forget")

    def execute(self, context):
        return _done(self, lambda: render_views.delete_view(self.name, scene=context.scene))


class NEURONLIVE_OT_camera_path(bpy.types.Operator):
    """Move the camera smoothly through the saved views in order (0 s: over the whole animation)"""
    bl_idname = "neuron_live.camera_path"
    bl_label = "Camera Path"
    bl_options = {"REGISTER", "UNDO"}
    remove: BoolProperty(default=False, options={"SKIP_SAVE"}, description="Remove the camera path")

    def execute(self, context):
        seconds = context.scene.neuron_live_overlays.path_seconds or None
        return _done(self, lambda: render_views.camera_path(0 if self.remove else seconds, scene=context.scene))


class NEURONLIVE_OT_side_by_side(bpy.types.Operator):
    """Render run A | run B, same camera and colour limits, each titled with its run: an MP4,
    or a PNG of this frame"""
    bl_idname = "neuron_live.side_by_side"
    bl_label = "Render Side by Side"

    def execute(self, context):
        props = context.scene.neuron_live_overlays
        runs = [int(props.compare_a) if props.compare_a.isdigit() else None,
                int(props.compare_b) if props.compare_b.isdigit() else None]
        if None in runs:
            self.report({"ERROR"}, "Pick two runs (run the model twice first)")
            return {"CANCELLED"}
        return _done(self, lambda: render_compare.render_side_by_side(*runs, props.compare_path, scene=context.scene),
                     lambda paths: f"Wrote {', '.join(str(p) for p in paths.values())}")


def draw(layout, context):
    """The Camera path and Side by side parts: buttons on rows of their own (the sidebar is narrow)."""
    props = context.scene.neuron_live_overlays
    col = layout.column(align=True)
    col.label(text="Camera path:")
    col.operator(NEURONLIVE_OT_save_view.bl_idname, icon="ADD")
    for name in render_views.views(context.scene):
        row = col.row(align=True)
        row.label(text=name, icon="VIEW_CAMERA")
        row.operator(NEURONLIVE_OT_delete_view.bl_idname, text="", icon="X").name = name
    layout.prop(props, "path_seconds")
    row = layout.row(align=True)
    row.operator(NEURONLIVE_OT_camera_path.bl_idname, icon="ANIM")
    row.operator(NEURONLIVE_OT_camera_path.bl_idname, text="", icon="X").remove = True
    col = layout.column(align=True)
    col.label(text="Side by side:")
    for key, label in (("compare_a", "Left"), ("compare_b", "Right")):
        row = col.row(align=True)
        row.label(text=label)
        row.prop(props, key, text="")
    layout.prop(props, "compare_path", text="")
    layout.operator(NEURONLIVE_OT_side_by_side.bl_idname, icon="RENDER_ANIMATION")


CLASSES = (NEURONLIVE_OT_save_view, NEURONLIVE_OT_delete_view, NEURONLIVE_OT_camera_path,
           NEURONLIVE_OT_side_by_side)
