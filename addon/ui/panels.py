"""The NEURON Live panels (3D View › Sidebar › NEURON), read top to bottom as a session
goes: Model (what to load, what loaded), Run (how long, Run/Continue, progress, outcome),
Settings (NEURON's own, collapsed), Colour, Geometry; and the File › Import entry.

Every text a panel writes itself is wrapped to the region's width (text_fit), and every
property sits in Blender's property split, so no label is cut off at the default sidebar
width (tests/test_gui.py checks it in a real window).
"""
import bpy

from ..engine.state import session
from ..scene import compat
from ..scene.playback import cell_objects
from . import text_fit
from .examples import NEURONLIVE_MT_examples

# Where each panel sits in the tab (bl_order): panels of other modules take their number
# from here, so the tab keeps reading in the order a session goes.
ORDER = {"model": 0, "run": 1, "settings": 2, "experiment": 3, "colour": 4, "geometry": 5, "render": 6}

EMPTY = "Load a model file or an example above, then press Run to see it fire."


class _Sidebar:
    """Where every NEURON Live panel lives: 3D View › Sidebar › NEURON, one top-level
    panel per step (sub-panels would narrow the rows that must fit)."""
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "NEURON"


_SubPanel = _Sidebar  # the older name: panels of the tab are top level, placed by ORDER


def _split(layout):
    layout.use_property_split, layout.use_property_decorate = True, False
    return layout


def _progress(layout, context, task):
    """The task's progress bar; a message too long for the bar goes under it, wrapped."""
    text = task.message or task.label
    if text_fit.measure(context)(text) <= text_fit.label_width(context):
        compat.progress(layout, task.progress, text)
    else:
        compat.progress(layout, task.progress, f"{100 * task.progress:.0f} %")
        text_fit.draw_wrapped(layout, context, text)


def _loading():
    task = session.task
    return task if task is not None and task.label.startswith("loading") else None


def colours_hidden(context):
    """Why the 3D view this sidebar belongs to shows no activity colours ("" if it does):
    Solid and Wireframe shading, and Workbench renders, draw no material colours."""
    space = context.space_data
    if space is None or space.type != "VIEW_3D":
        return ""
    kind = space.shading.type
    if kind in ("SOLID", "WIREFRAME"):
        return f"{kind.title()} shading shows no activity colours: the cells look grey."
    if kind == "RENDERED" and context.scene.render.engine == "BLENDER_WORKBENCH":
        return "Workbench renders show no activity colours."
    return ""


def draw_colour_hint(layout, context):
    """Say why the cells look grey and offer the one click that shows their colours (the
    view is never switched without that click)."""
    why = colours_hidden(context) if cell_objects(context.scene) else ""
    if why:
        box = layout.box()
        text_fit.draw_wrapped(box, context, why, icon="INFO")
        box.operator("neuron_live.show_colours", icon="MATERIAL")


class NEURONLIVE_PT_main(_Sidebar, bpy.types.Panel):
    """The Model panel: load a file or an example, pick a menu's button, see what loaded
    (its id is the single panel's from before the panels split)."""
    bl_label = "Model"
    bl_order = ORDER["model"]

    def draw(self, context):
        props, layout = context.scene.neuron_live, self.layout
        col = layout.column(align=True)
        col.operator("neuron_live.load_model", text="Load Model…", icon="FILEBROWSER")
        col.menu(NEURONLIVE_MT_examples.bl_idname, icon="PRESET")
        loading = _loading()
        if loading is not None:
            _progress(layout, context, loading)
            layout.operator("neuron_live.cancel", icon="CANCEL")
        if props.menu_actions:
            self.draw_menu(layout, context, props)
        elif props.status.startswith("Loading"):  # a load that failed or was cancelled
            text_fit.draw_wrapped(layout, context, props.status, icon="ERROR")
        if props.model_path:
            self.draw_loaded(layout, context, props)
        elif not props.menu_actions and loading is None:
            text_fit.draw_wrapped(layout, context, EMPTY)

    @staticmethod
    def draw_menu(layout, context, props):
        """The buttons of an entry that only builds a menu: one click runs one."""
        box = layout.box()
        text_fit.draw_wrapped(box, context, f"{bpy.path.basename(props.menu_path)} builds a menu: "
                              "pick one of its buttons.", icon="QUESTION")
        col = box.column(align=True)
        for label in props.menu_actions.splitlines():
            button = col.operator("neuron_live.load_model", text=text_fit.fitted_lines(context, label)[0])
            button.filepath, button.action = props.menu_path, label

    @staticmethod
    def draw_loaded(layout, context, props):
        """The file, what NEURON built from it and what the loader wants the user to know."""
        name = bpy.path.basename(props.model_path)
        model = session.model
        if model is None or bpy.path.basename(str(model.path)) != name:
            text_fit.draw_wrapped(layout, context, f"{name} (NEURON loads it again when you press Run)",
                                  icon="FILE_SCRIPT")
            return
        text_fit.draw_wrapped(layout, context, f"{name}: {model.summary()}", icon="FILE_SCRIPT")
        for note in model.notes:
            text_fit.draw_wrapped(layout, context, note, icon="DOT")


class NEURONLIVE_PT_run(_Sidebar, bpy.types.Panel):
    """How long to simulate, Run / Continue / Cancel, the progress and what came of it."""
    bl_label = "Run"
    bl_order = ORDER["run"]

    def draw(self, context):
        props, layout = context.scene.neuron_live, self.layout
        col = _split(layout.column())
        col.prop(props, "tstop")
        col.prop(props, "variable")
        task = session.task
        if task is not None and task is not _loading():
            _progress(layout, context, task)
            layout.operator("neuron_live.cancel", icon="CANCEL")
        else:
            row = layout.row(align=True)
            row.scale_y = 1.4  # the step a session comes back to
            row.operator("neuron_live.run", icon="PLAY")
            row.operator("neuron_live.run", text="Continue", icon="FF").extend = True
        layout.prop(props, "follow", text="Follow the newest frame")
        if props.status and not props.status.startswith("Load"):  # the Model panel shows those
            failed = props.status.startswith(("Failed", "No model", "Cancelled", "Interrupted"))
            text_fit.draw_wrapped(layout, context, props.status, icon="ERROR" if failed else "CHECKMARK")
        draw_colour_hint(layout, context)


class NEURONLIVE_PT_settings(_Sidebar, bpy.types.Panel):
    """NEURON's own settings (a model's load sets them as its author did) and the cores."""
    bl_label = "Settings"
    bl_order = ORDER["settings"]
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        props, layout = context.scene.neuron_live, _split(self.layout)
        # Labels of at most ~55 pixels: a property split gives its label 40 % of the row.
        col = layout.column(align=True)
        col.prop(props, "dt")
        col.prop(props, "v_init")
        col.prop(props, "celsius", text="Temp. (°C)")
        col = layout.column(align=True)
        col.prop(props, "cvode")
        if props.cvode:
            col.prop(props, "atol")
            col.prop(props, "rtol", text="Relative")
        else:
            col.prop(props, "secondorder", text="2nd Order")
        layout.use_property_split = False  # texts too long for a split's label: full rows
        layout.prop(props, "frames_per_ms")
        layout.prop(props, "own_run")
        layout.label(text="NEURON runs:")
        layout.column(align=True).prop(props, "host", expand=True)
        col = _split(layout.column(align=True))
        col.prop(props, "threads")
        sub = col.column(align=True)
        sub.active = props.host == "PROCESS"  # ranks run beside a model in a process of its own
        sub.prop(props, "processes")


def menu_import(self, context):
    self.layout.operator("neuron_live.load_model", text="NEURON model (.hoc/.py/.swc/.asc/.xml)")


class NEURONLIVE_PT_colour(_Sidebar, bpy.types.Panel):
    """Palette, limits and static colouring; every change recolours the materials live."""
    bl_label = "Colour"
    bl_order = ORDER["colour"]

    def draw(self, context):
        props, layout = context.scene.neuron_live, _split(self.layout)
        draw_colour_hint(layout, context)
        layout.prop(props, "colour_by")
        if props.colour_by == "ACTIVITY":
            layout.prop(props, "palette")
            col = layout.column(align=True)
            col.prop(props, "palette_start")
            col.prop(props, "palette_stop")
            col = layout.column(align=True)
            col.prop(props, "vmin")
            col.prop(props, "vmax")
            layout.operator("neuron_live.fit_limits", icon="FULLSCREEN_EXIT")
        else:
            layout.prop(props, "static_palette", text="Palette")
        layout.prop(props, "shading")
        layout.prop(props, "brightness")
        col = layout.column(heading="Show")
        col.prop(props, "show_netcons")
        col.prop(props, "show_legend", text="Legend")
        if props.show_netcons:
            layout.prop(props, "netcon_radius", text="Radius µm")
        col = layout.column(align=True)
        col.operator("neuron_live.plot_traces", icon="GRAPH")
        col.operator("neuron_live.plot_spikes", icon="SEQ_STRIP_DUPLICATE")
        col.operator("neuron_live.colour_bar", icon="COLOR")


# -- geometry ----------------------------------------------------------------------------------

class NEURONLIVE_UL_groups(bpy.types.UIList):
    """One row per cell group: its name and cells (the box under the list holds the rest)."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        row = layout.row(align=True)
        row.prop(item, "name", text="", emboss=False, icon="OUTLINER_COLLECTION")
        row.prop(item, "cells", text="", icon="COMMUNITY")


class NEURONLIVE_PT_geometry(_Sidebar, bpy.types.Panel):
    """Mesh options and cell groups; Rebuild Mesh applies them."""
    bl_label = "Geometry"
    bl_order = ORDER["geometry"]
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        props, layout = context.scene.neuron_live, _split(self.layout)
        col = layout.column(align=True)
        col.prop(props, "as_lines")
        if not props.as_lines:
            col.prop(props, "sides")
        col.prop(props, "segmentation", text="Points")
        col.prop(props, "smooth")
        col = layout.column(align=True)
        col.prop(props, "thickness")
        col.prop(props, "homogeneity", text="Uniform")
        col.prop(props, "scale")
        col = layout.column(align=True)
        col.use_property_split = False  # checkbox texts too long for a split: full rows
        for key in ("caps", "soma_sphere", "center", "blend", "frame_camera", "dark_world"):
            col.prop(props, key)
        layout.prop(props, "frames_per_sample", text="Stretch")
        self.draw_groups(layout, context, props)
        row = layout.row(align=True)
        row.operator("neuron_live.build_mesh", text="Rebuild", icon="MESH_DATA")
        row.operator("neuron_live.frame_camera", text="Camera", icon="VIEW_CAMERA")

    @staticmethod
    def draw_groups(layout, context, props):
        layout.use_property_split = False
        text_fit.draw_wrapped(layout, context, "Groups (none: one group of every cell)")
        row = layout.row()
        row.template_list("NEURONLIVE_UL_groups", "", props, "groups", props, "groups_index", rows=3)
        buttons = row.column(align=True)
        buttons.operator("neuron_live.add_group", text="", icon="ADD")
        buttons.operator("neuron_live.remove_group", text="", icon="REMOVE")
        if 0 <= props.groups_index < len(props.groups):
            group = props.groups[props.groups_index]
            box = _split(layout.box())
            for key in ("cells", "interaction", "colour_level", "sides"):
                box.prop(group, key)


CLASSES = (
    NEURONLIVE_MT_examples,
    NEURONLIVE_PT_main,
    NEURONLIVE_PT_run,
    NEURONLIVE_PT_settings,
    NEURONLIVE_PT_colour,
    NEURONLIVE_UL_groups,
    NEURONLIVE_PT_geometry,
)
