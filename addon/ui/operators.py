"""Thin operators: each one calls a function of the session layer (the same functions the
scripting API offers) and reports its outcome."""
import bpy
from bpy.props import CollectionProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from ...model_loaders import SUFFIXES, MenuOnlyModel
from ...model_loaders.sonata import SONATA_SUFFIXES
from ..engine.errors import Cancelled
from ..engine.state import session
from ..session import colouring, install, loading, meshes, plotting, recordings, running
from .examples import example_of

FILTER = ";".join(f"*{suffix}" for suffix in sorted(SUFFIXES | SONATA_SUFFIXES))  # SONATA: a recording


def _call(operator, fn, *args, info=None, **kwargs):
    """Run `fn` for an operator: report `info(result)`, or the failure as a Blender error
    report instead of a traceback. Returns the operator's result set."""
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # shown to the user, never swallowed
        operator.report({"ERROR"}, str(exc))
        return {"CANCELLED"}
    if info is not None:
        operator.report({"INFO"}, info(result))
    return {"FINISHED"}


class _ReportsOutcome:
    """For an operator whose work goes on in the background: it stays modal until the task
    ends, then puts the whole status line in the Info log (the panel shows it wrapped, the
    status bar its start), as an error when the task failed."""

    def watch(self, context, task):
        self._task = task
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.25, window=context.window)  # events while the mouse rests
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def task_ended(self):
        return session.task is not self._task

    def report_outcome(self, context):
        context.window_manager.event_timer_remove(self._timer)
        error = self._task.future.exception() if self._task.future.done() else None
        level = "INFO" if error is None else "WARNING" if isinstance(error, (Cancelled, MenuOnlyModel)) else "ERROR"
        self.report({level}, context.scene.neuron_live.status or self._task.label)
        return {"FINISHED"}


class NEURONLIVE_OT_load_model(_ReportsOutcome, bpy.types.Operator, ImportHelper):
    """Load a NEURON model (hoc, Python) or a morphology (SWC, ASC, MorphML) and show its cells;
    or open a SONATA data set (config .json, nodes .h5) recorded by BMTK, neurodamus or NEURON"""
    bl_idname = "neuron_live.load_model"
    bl_label = "Load NEURON Model"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: StringProperty(default=FILTER, options={"HIDDEN"})
    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={"HIDDEN", "SKIP_SAVE"})
    directory: StringProperty(subtype="DIR_PATH", options={"HIDDEN", "SKIP_SAVE"})
    action: StringProperty(name="Menu button", options={"SKIP_SAVE"},
                           description="Label of the menu button to run when the file only builds a menu")
    before: StringProperty(name="Before", description="Statement(s) to run before the model loads")
    after: StringProperty(name="After", description="Statement(s) to run after the model loads")
    language: bpy.props.EnumProperty(name="Statements in", default="hoc",
                                     description="The language of the Before and After statements",
                                     items=(("hoc", "hoc", "Run the statements as hoc"),
                                            ("python", "Python", "Run the statements as Python "
                                             "(a Python model's globals are visible)")))
    add_clamp: bpy.props.BoolProperty(name="Add current clamp at soma", default=False,
                                      description="An IClamp at the soma, so a model whose stimuli "
                                      "died with its script still shows activity")
    clamp_amp: bpy.props.FloatProperty(name="Amplitude (nA)", default=0.0, min=0.0,
                                       description="0: found for the cell (1.5 × its rheobase)")
    clamp_delay: bpy.props.FloatProperty(name="Delay (ms)", default=1.0, min=0.0,
                                         description="When the clamp's current starts")
    clamp_dur: bpy.props.FloatProperty(name="Duration (ms)", default=20.0, min=0.0,
                                       description="How long the clamp's current lasts")

    @classmethod
    def description(cls, context, properties):
        """An example's tooltip says what it shows; a menu button's, what it does."""
        example = example_of(properties.filepath)
        if example is not None:
            return f"Load the bundled example {example.path}: {example.description}"
        if properties.action:
            return f"Run the menu button '{properties.action}' of {bpy.path.basename(properties.filepath)}"
        return cls.__doc__

    def invoke(self, context, event):
        if self.filepath:  # dropped on the 3D view (FileHandler) or given by a menu button
            return self.execute(context)
        return super().invoke(context, event)

    def execute(self, context):
        clamp = dict(amp=self.clamp_amp or None, delay=self.clamp_delay, dur=self.clamp_dur) if self.add_clamp else None
        # In a window the load runs in the background (compiling .mod files can take half a
        # minute): progress in the panel and the status bar, the outcome in the status line.
        background = context.window is not None and not bpy.app.background
        if bpy.path.abspath(self.filepath).lower().endswith(tuple(SONATA_SUFFIXES)):
            return self._open_sonata(context, background)
        try:
            task = loading.load_model(self.filepath, scene=context.scene, action=self.action, before=self.before,
                                      after=self.after, language=self.language, clamp=clamp,
                                      wait_done=not background)
        except MenuOnlyModel as exc:  # not a failure: the user picks a button (panel or popup)
            self.report({"WARNING"}, str(exc))
            if context.window and exc.actions and not bpy.app.background:  # no popups headless
                def draw(menu, _context, path=exc.path, actions=exc.actions):
                    for choice in actions:
                        button = menu.layout.operator(NEURONLIVE_OT_load_model.bl_idname, text=choice.label)
                        button.filepath, button.action = path, choice.label
                context.window_manager.popup_menu(draw, title="This file builds a menu: run one of its buttons")
            return {"CANCELLED"}
        except Exception as exc:  # shown to the user, never swallowed
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if background:
            self.report({"INFO"}, task.label.capitalize() + "…")
            return self.watch(context, task)
        self.report({"INFO"}, context.scene.neuron_live.status)
        return {"FINISHED"}

    def _open_sonata(self, context, background):
        """A SONATA data set opens as a recording; its report is read in the background."""
        try:
            task = recordings.open_recording(self.filepath, scene=context.scene, wait_done=not background)
        except Exception as exc:  # shown to the user, never swallowed
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if background:
            return self.watch(context, task)
        self.report({"INFO"}, context.scene.neuron_live.status)
        return {"FINISHED"}

    def modal(self, context, event):
        return self.report_outcome(context) if self.task_ended() else {"PASS_THROUGH"}


class NEURONLIVE_OT_run(_ReportsOutcome, bpy.types.Operator):
    """Simulate the loaded model from 0 to tstop in the background (Esc cancels)"""
    bl_idname = "neuron_live.run"
    bl_label = "Run"

    extend: bpy.props.BoolProperty(name="Continue", default=False, options={"SKIP_SAVE"},
                                   description="Continue the last run to the new tstop instead of starting at 0")

    def execute(self, context):
        if _call(self, running.run, scene=context.scene, wait_done=False, extend=self.extend) != {"FINISHED"}:
            return {"CANCELLED"}
        # Stay modal to catch Esc where there is a window (not in the bpy module).
        if context.window and not bpy.app.background and session.task is not None:
            return self.watch(context, session.task)
        return {"FINISHED"}

    def modal(self, context, event):
        if self.task_ended():
            return self.report_outcome(context)
        if event.type == "ESC":
            running.cancel()
            self.report({"INFO"}, "Cancelling: the frames done so far stay")
        return {"PASS_THROUGH"}


class NEURONLIVE_OT_cancel(bpy.types.Operator):
    """Stop the simulation; the frames done so far stay"""
    bl_idname = "neuron_live.cancel"
    bl_label = "Cancel"

    def execute(self, context):
        running.cancel()
        return {"FINISHED"}


class NEURONLIVE_OT_show_colours(bpy.types.Operator):
    """Show this 3D view in Material Preview, where the cells' activity colours show (Solid
    shading draws every cell in one flat colour)"""
    bl_idname = "neuron_live.show_colours"
    bl_label = "Show Colours"

    def execute(self, context):
        space = context.space_data
        if space is None or space.type != "VIEW_3D":
            self.report({"ERROR"}, "Show Colours works from a 3D view's sidebar")
            return {"CANCELLED"}
        space.shading.type = "MATERIAL"
        return {"FINISHED"}


class NEURONLIVE_OT_install_neuron(bpy.types.Operator):
    """Install NEURON into Blender's Python from the bundled wheels (offline), else from PyPI"""
    bl_idname = "neuron_live.install_neuron"
    bl_label = "Install NEURON"

    def execute(self, context):
        return _call(self, install.install_neuron, wait_done=False,
                     info=lambda _task: "Installing NEURON… (progress in the status bar)")


class NEURONLIVE_OT_fit_limits(bpy.types.Operator):
    """Set Min and Max to the range of the simulated values (no-data NaN ignored)"""
    bl_idname = "neuron_live.fit_limits"
    bl_label = "Fit to Data"
    bl_options = {"REGISTER", "UNDO"}

    robust: bpy.props.BoolProperty(name="Robust", default=False,
                                   description="Use the 2nd and 98th percentiles, ignoring outliers")

    def execute(self, context):
        return _call(self, colouring.fit_limits, scene=context.scene, robust=self.robust,
                     info=lambda limits: f"Colour limits {limits[0]:.4g} to {limits[1]:.4g}")


class NEURONLIVE_OT_plot_traces(bpy.types.Operator):
    """Plot the traces of the selected vertices (Edit Mode) or cells as an image (Image Editor) and PNG"""
    bl_idname = "neuron_live.plot_traces"
    bl_label = "Plot Traces"

    sections: StringProperty(name="Sections", default="", options={"SKIP_SAVE"},
                             description="Comma-separated section names (empty: the selection)")

    def execute(self, context):
        names = [n.strip() for n in self.sections.split(",") if n.strip()] or None
        return _call(self, plotting.plot_traces, sections=names, scene=context.scene,
                     info=lambda plot: f"Traces of {', '.join(plot.labels)} in the image "
                                       f"'{plot.image.name}' ({plot.path})")


class NEURONLIVE_OT_colour_bar(bpy.types.Operator):
    """Draw the palette and limits as a colour bar image (Image Editor) and PNG"""
    bl_idname = "neuron_live.colour_bar"
    bl_label = "Colour Bar"

    def execute(self, context):
        return _call(self, plotting.colour_bar, scene=context.scene,
                     info=lambda plot: f"Colour bar in the image '{plot.image.name}' ({plot.path})")


class NEURONLIVE_OT_plot_spikes(bpy.types.Operator):
    """Plot the last run's spike raster (NetCon sources, or the soma of cells without one) as an image and PNG"""
    bl_idname = "neuron_live.plot_spikes"
    bl_label = "Spike Raster"

    def execute(self, context):
        return _call(self, plotting.plot_spikes, scene=context.scene,
                     info=lambda plot: f"{len(plot.spikes['time'])} spikes in the image "
                                       f"'{plot.image.name}' ({plot.path})")


# -- geometry ----------------------------------------------------------------------------------

class NEURONLIVE_OT_build_mesh(bpy.types.Operator):
    """Rebuild the cells' objects with the geometry settings and groups of the panel"""
    bl_idname = "neuron_live.build_mesh"
    bl_label = "Rebuild Mesh"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        return _call(self, meshes.build_mesh, scene=context.scene,
                     info=lambda objects: f"Built {len(objects)} object(s), "
                                          f"{sum(len(obj.data.vertices) for obj in objects):,} vertices")


class NEURONLIVE_OT_add_group(bpy.types.Operator):
    """Add a cell group with its own objects and colour detail (Rebuild Mesh shows it)"""
    bl_idname = "neuron_live.add_group"
    bl_label = "Add Group"
    bl_options = {"REGISTER", "UNDO"}

    name: StringProperty(name="Name", default="", options={"SKIP_SAVE"},
                         description="The group's name (empty: Group 1, Group 2, ...)")
    cells: StringProperty(name="Cells", default="", options={"SKIP_SAVE"},
                          description="Cell indices, e.g. '0-4, 7' (empty: every cell)")

    def execute(self, context):
        return _call(self, meshes.add_group, self.name or None, cells=self.cells, scene=context.scene)


class NEURONLIVE_OT_remove_group(bpy.types.Operator):
    """Remove the selected cell group"""
    bl_idname = "neuron_live.remove_group"
    bl_label = "Remove Group"
    bl_options = {"REGISTER", "UNDO"}

    index: bpy.props.IntProperty(name="Index", default=-1, options={"SKIP_SAVE"},
                                 description="Group to remove (-1: the selected one)")

    def execute(self, context):
        index = None if self.index < 0 else self.index
        return _call(self, meshes.remove_group, index, scene=context.scene)


class NEURONLIVE_OT_frame_camera(bpy.types.Operator):
    """Aim the scene camera at the cells, all of them in view"""
    bl_idname = "neuron_live.frame_camera"
    bl_label = "Frame Camera"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        return _call(self, meshes.frame_camera, scene=context.scene)


CLASSES = (
    NEURONLIVE_OT_load_model,
    NEURONLIVE_OT_run,
    NEURONLIVE_OT_cancel,
    NEURONLIVE_OT_show_colours,
    NEURONLIVE_OT_install_neuron,
    NEURONLIVE_OT_fit_limits,
    NEURONLIVE_OT_plot_traces,
    NEURONLIVE_OT_colour_bar,
    NEURONLIVE_OT_plot_spikes,
    NEURONLIVE_OT_build_mesh,
    NEURONLIVE_OT_add_group,
    NEURONLIVE_OT_remove_group,
    NEURONLIVE_OT_frame_camera,
)
