"""The Experiment panel and its operators: probes and stimuli placed by pointing at a cell
(the tools in `experiment_tools`), parameter changes, the runs kept, and the export to a
plain-NEURON script.

Every operator is thin: it calls the function of the scripting API (`session.experiment`,
`session.experiment_runs`) and reports its outcome.
"""
import bpy
from bpy.app.handlers import persistent
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper

from ..engine.experiment_stimuli import STIMULI
from ..engine.state import session
from ..session import (
    experiment as scene_experiment,
    experiment_markers,
    experiment_pick,
    experiment_runs,
    experiment_views,
)
from ..session.experiment_export import export_experiment
from . import experiment_tools, text_fit
from .experiment_tools import call, parse_params


class NEURONLIVE_OT_edit_stimulus(bpy.types.Operator):
    """Change a stimulus's parameters (the next Run uses them)"""
    bl_idname = "neuron_live.edit_stimulus"
    bl_label = "Edit Stimulus"
    bl_options = {"REGISTER", "UNDO"}
    entry: IntProperty(options={"HIDDEN"})
    params: StringProperty(name="Parameters", description="e.g. amp=0.8")

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        handle = scene_experiment.StimulusHandle(self.entry, context.scene)
        return call(self, lambda: handle.set(**parse_params(self.params)), info=lambda h: f"{h!r} set")


class NEURONLIVE_OT_set_parameter(bpy.types.Operator):
    """Set or scale a parameter over part of the model, on top of the model's own values"""
    bl_idname = "neuron_live.set_parameter"
    bl_label = "Change Parameter"
    bl_options = {"REGISTER", "UNDO"}
    name: StringProperty(name="Parameter", default="gnabar_hh", description="e.g. gnabar_hh, g_pas, Ra, cm")
    how: EnumProperty(name="How", items=(("SCALE", "Scale by", "Multiply the model's value"),
                                         ("VALUE", "Set to", "Replace the model's value")))
    number: FloatProperty(name="Number", default=1.0)
    where: StringProperty(name="Where", default="all",
                          description="all, a section type (soma, axon, dend, apic), a cell, or section names")
    picked: BoolProperty(name="Picked sections", default=False, options={"SKIP_SAVE"},
                         description="Only the sections picked by clicking (Pick Sections)")

    def invoke(self, context, event):
        self.picked = bool(experiment_pick.picked_sections(context.scene))
        return context.window_manager.invoke_props_dialog(self)

    def draw(self, context):
        layout = self.layout
        for name in ("name", "how", "number"):
            layout.prop(self, name)
        count = len(experiment_pick.picked_sections(context.scene))
        if count:
            layout.prop(self, "picked", text=f"Only the {count} picked")
        if not (count and self.picked):
            layout.prop(self, "where")

    def execute(self, context):
        where = [w.strip() for w in self.where.split(",")] if "," in self.where else self.where.strip()
        where = experiment_pick.PICKED if self.picked else where
        key = "scale" if self.how == "SCALE" else "value"
        return call(self, scene_experiment.set_parameter, self.name, where=where, **{key: self.number},
                     info=lambda change: f"{self.name} changed")


class NEURONLIVE_OT_remove_entry(bpy.types.Operator):
    """Remove this probe, stimulus or parameter change (its marker goes too)"""
    bl_idname = "neuron_live.remove_entry"
    bl_label = "Remove"
    bl_options = {"REGISTER", "UNDO"}
    entry: IntProperty(options={"HIDDEN"})

    def execute(self, context):
        return call(self, scene_experiment.Entry(self.entry, context.scene).remove)


class NEURONLIVE_OT_play_run(bpy.types.Operator):
    """Play this run on the cells"""
    bl_idname = "neuron_live.play_run"
    bl_label = "Play Run"
    run: StringProperty()

    def execute(self, context):
        return call(self, experiment_runs.play_run, self.run, info=lambda cache: f"Playing {self.run}")


class NEURONLIVE_OT_delete_run(bpy.types.Operator):
    """Forget this run and delete its kept frames"""
    bl_idname = "neuron_live.delete_run"
    bl_label = "Delete Run"
    run: StringProperty()

    def execute(self, context):
        return call(self, experiment_runs.delete_run, self.run)


class NEURONLIVE_OT_plot_probes(bpy.types.Operator):
    """Plot the probes' traces (every time step) of the last run, or of every run kept, overlaid"""
    bl_idname = "neuron_live.plot_probes"
    bl_label = "Plot Probes"
    all_runs: bpy.props.BoolProperty(name="All runs", default=False)

    def execute(self, context):
        runs = [entry["name"] for entry in experiment_runs.runs(scene=context.scene)] if self.all_runs else None
        if not self.all_runs and not bpy.app.timers.is_registered(_live_plot_tick):
            bpy.app.timers.register(_live_plot_tick, first_interval=LIVE_TICK)  # it grows during the next runs
        return call(self, experiment_views.plot_probes, runs=runs, info=lambda plot: f"Plotted {plot.path}")


class NEURONLIVE_OT_show_difference(bpy.types.Operator):
    """Colour the cells by run B − run A (a diverging palette, symmetric limits); default: the
    last run minus the one before"""
    bl_idname = "neuron_live.show_difference"
    bl_label = "Show Difference"
    a: StringProperty(name="Run A")
    b: StringProperty(name="Run B")

    def execute(self, context):
        history = experiment_runs.runs(scene=context.scene)
        if len(history) < 2 and not (self.a and self.b):
            self.report({"ERROR"}, "Two runs are needed for a difference")
            return {"CANCELLED"}
        a, b = self.a or history[-2]["name"], self.b or history[-1]["name"]
        return call(self, experiment_views.show_difference, a, b, info=lambda cache: f"Showing {b} − {a}")


class NEURONLIVE_OT_export_experiment(bpy.types.Operator, ExportHelper):
    """Write a Python script that reproduces this experiment in plain NEURON (it saves the
    probes' traces in an npz beside itself)"""
    bl_idname = "neuron_live.export_experiment"
    bl_label = "Export Experiment"
    filename_ext = ".py"
    filter_glob: StringProperty(default="*.py", options={"HIDDEN"})

    def execute(self, context):
        return call(self, export_experiment, self.filepath, info=lambda path: f"Wrote {path}")


class NEURONLIVE_PT_experiment(bpy.types.Panel):
    """Probes, stimuli and parameter changes on the loaded model, and the runs kept."""
    bl_space_type, bl_region_type, bl_category = "VIEW_3D", "UI", "NEURON"
    bl_label = "Experiment"
    bl_order = 3  # panels.ORDER["experiment"]: after Settings, before Colour

    def draw(self, context):
        layout = self.layout
        if session.model is None:
            text_fit.draw_wrapped(layout, context, "Load a model to place probes and stimuli on it.")
            return
        row = layout.row(align=True)
        row.operator("neuron_live.add_probe", text="Probe", icon="CURSOR")
        row.menu(NEURONLIVE_MT_stimulus.bl_idname, text="Stimulus", icon="FORCE_CHARGE")
        layout.menu(NEURONLIVE_MT_parameters.bl_idname, text="Change Parameter", icon="MODIFIER")
        picked = experiment_pick.picked_sections(context.scene)
        row = layout.row(align=True)
        row.operator("neuron_live.pick_sections", text=f"Pick Sections ({len(picked)})" if picked else "Pick Sections",
                     icon="RESTRICT_SELECT_OFF")
        if picked:
            row.operator("neuron_live.clear_picked", text="", icon="X")
        self.draw_entries(layout, context)
        self.draw_runs(layout, context)
        layout.operator("neuron_live.export_experiment", text="Export Experiment", icon="EXPORT")

    @staticmethod
    def draw_entries(layout, context):
        """Each entry's text wrapped to the sidebar, its buttons under it (nothing is cut)."""
        current = scene_experiment.experiment(context.scene)
        rows = [(p.id, f"{p.label}: {', '.join(p.variables)}", "CURSOR", False) for p in current.probes]
        rows += [(s.id, f"{s.kind} {s.label} " + " ".join(f"{k}={v:g}" for k, v in s.params.items()),
                  "FORCE_CHARGE", True) for s in current.stimuli]
        rows += [(c.id, c.describe(), "MODIFIER", False) for c in current.changes]
        stale = {entry.id for entry in current.stale(session.model.section_names)}
        rows = [(i, f"{text} (its section is gone: skipped)", "ERROR", edit) if i in stale else (i, text, icon, edit)
                for i, text, icon, edit in rows]
        if not rows:
            text_fit.draw_wrapped(layout, context, "Click Probe or Stimulus, then click on a cell.")
        for ident, text, icon, editable in rows:
            col = layout.column(align=True)
            text_fit.draw_wrapped(col, context, text, icon=icon)
            row = col.row(align=True)
            if editable:
                row.operator("neuron_live.edit_stimulus", text="Edit", icon="PREFERENCES").entry = ident
            row.operator("neuron_live.remove_entry", text="Remove", icon="X").entry = ident

    @staticmethod
    def draw_runs(layout, context):
        history = experiment_runs.runs(scene=context.scene)
        if not history:
            return
        total = sum(entry["bytes"] for entry in history)
        layout.label(text=f"Runs ({total / 1e6:.1f} MB)", icon="TIME")
        row = layout.row(align=True)
        row.operator("neuron_live.plot_probes", text="Probes", icon="GRAPH").all_runs = False
        row.operator("neuron_live.plot_probes", text="All runs", icon="GRAPH").all_runs = True
        layout.operator("neuron_live.show_difference", text="Last − previous", icon="ARROW_LEFTRIGHT")
        for entry in reversed(history):
            col = layout.column(align=True)
            text_fit.draw_wrapped(col, context, entry["name"], icon="DOT")
            row = col.row(align=True)
            row.operator("neuron_live.play_run", text="Play", icon="PLAY").run = entry["name"]
            row.operator("neuron_live.delete_run", text="Delete", icon="TRASH").run = entry["name"]


class NEURONLIVE_OT_read_catalogue(bpy.types.Operator):
    """Read the model's mechanisms, their parameters and point processes from NEURON"""
    bl_idname = "neuron_live.read_catalogue"
    bl_label = "Read Parameters from NEURON"

    def execute(self, context):
        return call(self, scene_experiment.catalogue,
                     info=lambda found: f"{len(found['mechanisms'])} mechanisms, "
                                        f"{len(found['point_processes'])} point processes")


class NEURONLIVE_MT_parameters(bpy.types.Menu):
    """The model's mechanisms and parameters (from NEURON): one click changes one."""
    bl_idname = "NEURONLIVE_MT_parameters"
    bl_label = "Parameters"

    def draw(self, context):
        layout = self.layout
        found = scene_experiment.known.of(session.model).catalogue if session.model is not None else None
        if found is None:
            layout.operator("neuron_live.read_catalogue", icon="FILE_REFRESH")
            return
        for name in ("Ra", "cm"):
            layout.operator("neuron_live.set_parameter", text=name).name = name
        for mechanism, parameters in sorted(found["mechanisms"].items()):
            layout.separator()
            layout.label(text=mechanism)
            for parameter, info in parameters.items():
                units = f" ({info['units']})" if info["units"] else ""
                layout.operator("neuron_live.set_parameter", text=f"{parameter}{units}").name = parameter


class NEURONLIVE_MT_stimulus(bpy.types.Menu):
    """The stimulus kinds the next click places."""
    bl_idname = "NEURONLIVE_MT_stimulus"
    bl_label = "Stimulus"

    def draw(self, context):
        for kind in STIMULI:
            self.layout.operator("neuron_live.add_stimulus", text=kind).kind = kind


CLASSES = (*experiment_tools.CLASSES, NEURONLIVE_OT_edit_stimulus,
           NEURONLIVE_OT_set_parameter, NEURONLIVE_OT_remove_entry, NEURONLIVE_OT_play_run,
           NEURONLIVE_OT_delete_run, NEURONLIVE_OT_plot_probes, NEURONLIVE_OT_show_difference,
           NEURONLIVE_OT_export_experiment, NEURONLIVE_OT_read_catalogue, NEURONLIVE_MT_parameters,
           NEURONLIVE_MT_stimulus, NEURONLIVE_PT_experiment)


SETTLE = 0.4  # s a moved marker must rest before it snaps (never during the user's drag)
LIVE_TICK = 0.25  # s between looks at the probes' traces for the plot that grows during a run


def _live_plot_tick():
    """While the probe plot is shown: swap in the newest traces (drawn off the main thread)."""
    if bpy.data.images.get(experiment_views.IMAGE) is None:
        return None  # the user removed the plot: stop looking
    experiment_views.live_plot.refresh(bpy.context.scene)
    return LIVE_TICK
_watch = {"locations": None}


@persistent
def on_depsgraph_update(scene, depsgraph):
    """A marker moved or deleted: look again once it has come to rest (a timer)."""
    ours = any(isinstance(update.id, bpy.types.Object) and experiment_markers.ENTRY in update.id
               or isinstance(update.id, bpy.types.Collection) and update.id.name == experiment_markers.COLLECTION
               for update in depsgraph.updates)
    if ours and not bpy.app.timers.is_registered(_settle):
        _watch["locations"] = None
        bpy.app.timers.register(_settle, first_interval=SETTLE)


def _settle():
    """Snap the markers once they have not moved for one interval (the drag is over)."""
    scene = bpy.context.scene
    locations = [tuple(obj.location) for obj in experiment_markers.marker_objects(scene)]
    if locations != _watch["locations"]:
        _watch["locations"] = locations
        return SETTLE
    changed = scene_experiment.follow_markers(scene)
    if changed:
        scene.neuron_live.status = "Experiment: " + "; ".join(changed)
    return None


def register():
    bpy.app.handlers.depsgraph_update_post.append(on_depsgraph_update)


def unregister():
    while on_depsgraph_update in bpy.app.handlers.depsgraph_update_post:
        bpy.app.handlers.depsgraph_update_post.remove(on_depsgraph_update)
    for timer in (_settle, _live_plot_tick):
        if bpy.app.timers.is_registered(timer):
            bpy.app.timers.unregister(timer)
