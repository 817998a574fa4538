"""The NEURON Live sidebar panel (3D View › Sidebar › NEURON) and the import menu entry."""
import bpy

from ..engine.state import session
from ..scene import compat


class _Sidebar:
    """Where every NEURON Live panel lives: 3D View › Sidebar › NEURON."""
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "NEURON"


class _SubPanel(_Sidebar):
    bl_parent_id = "NEURONLIVE_PT_main"


class NEURONLIVE_PT_main(_Sidebar, bpy.types.Panel):
    bl_label = "NEURON Live"

    def draw(self, context):
        props = context.scene.neuron_live
        layout = self.layout
        layout.operator("neuron_live.load_model", icon="FILEBROWSER")
        if props.menu_actions:  # the last file built a menu; offer its buttons
            box = layout.box()
            box.label(text=f"{bpy.path.basename(props.menu_path)} builds a menu:", icon="QUESTION")
            for label in props.menu_actions.splitlines():
                button = box.operator("neuron_live.load_model", text=label)
                button.filepath, button.action = props.menu_path, label
        if props.model_path:
            layout.label(text=bpy.path.basename(props.model_path), icon="FILE_SCRIPT")
        layout.row().prop(props, "host", expand=True)
        col = layout.column(align=True)
        for key in ("tstop", "dt", "v_init", "celsius", "frames_per_ms", "variable"):
            col.prop(props, key)
        row = layout.row()
        row.prop(props, "cvode")
        if props.cvode:
            row.prop(props, "atol")
            row.prop(props, "rtol", text="rtol")
        else:
            row.prop(props, "secondorder")
        layout.prop(props, "own_run")
        row = layout.row(align=True)
        row.prop(props, "threads")
        sub = row.row(align=True)
        sub.active = props.host == "PROCESS"  # ranks run beside a model in a process of its own
        sub.prop(props, "processes")
        layout.prop(props, "follow")
        task = session.task
        if task is None:
            row = layout.row(align=True)
            row.operator("neuron_live.run", icon="PLAY")
            row.operator("neuron_live.run", text="Continue", icon="FF").extend = True
        else:
            compat.progress(layout, task.progress, task.message or task.label)
            layout.operator("neuron_live.cancel", icon="CANCEL")
        if props.status:
            layout.label(text=props.status)


def menu_import(self, context):
    self.layout.operator("neuron_live.load_model", text="NEURON model (.hoc/.py/.swc/.asc/.xml)")


class NEURONLIVE_PT_colour(_SubPanel, bpy.types.Panel):
    """Palette, limits and static colouring; every change recolours the materials live."""
    bl_label = "Colour"

    def draw(self, context):
        props = context.scene.neuron_live
        layout = self.layout
        layout.prop(props, "colour_by")
        if props.colour_by == "ACTIVITY":
            layout.prop(props, "palette")
            row = layout.row(align=True)
            row.prop(props, "palette_start")
            row.prop(props, "palette_stop")
            row = layout.row(align=True)
            row.prop(props, "vmin")
            row.prop(props, "vmax")
            layout.operator("neuron_live.fit_limits", icon="FULLSCREEN_EXIT")
        else:
            layout.prop(props, "static_palette")
        row = layout.row(align=True)
        row.prop(props, "shading", text="")
        row.prop(props, "brightness")
        row = layout.row(align=True)
        row.operator("neuron_live.plot_traces", icon="GRAPH")
        row.operator("neuron_live.plot_spikes", icon="SEQ_STRIP_DUPLICATE")
        row.operator("neuron_live.colour_bar", icon="COLOR")
        row = layout.row(align=True)
        row.prop(props, "show_netcons", icon="CURVES")
        if props.show_netcons:
            row.prop(props, "netcon_radius")
        layout.prop(props, "show_legend", icon="IMAGE_RGB")


# -- geometry ----------------------------------------------------------------------------------

class NEURONLIVE_UL_groups(bpy.types.UIList):
    """One row per cell group: name, cells, objects (interaction level), colour level."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        row = layout.row(align=True)
        row.prop(item, "name", text="", emboss=False, icon="OUTLINER_COLLECTION")
        row.prop(item, "cells", text="", icon="COMMUNITY")
        row.prop(item, "interaction", text="")
        row.prop(item, "colour_level", text="")


class NEURONLIVE_PT_geometry(_SubPanel, bpy.types.Panel):
    """Mesh options and cell groups; Rebuild Mesh applies them."""
    bl_label = "Geometry"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        props = context.scene.neuron_live
        layout = self.layout
        layout.use_property_split, layout.use_property_decorate = True, False
        col = layout.column(align=True)
        col.prop(props, "as_lines")
        if not props.as_lines:
            col.prop(props, "sides")
        col.prop(props, "segmentation")
        col.prop(props, "smooth")
        col = layout.column(align=True)
        col.prop(props, "thickness")
        col.prop(props, "homogeneity")
        col.prop(props, "scale")
        col = layout.column(heading="Options", align=True)
        for key in ("caps", "soma_sphere", "center", "blend", "frame_camera", "dark_world"):
            col.prop(props, key)
        layout.prop(props, "frames_per_sample")
        layout.use_property_split = False
        layout.label(text="Groups (none: one group of every cell)")
        row = layout.row()
        row.template_list("NEURONLIVE_UL_groups", "", props, "groups", props, "groups_index", rows=3)
        buttons = row.column(align=True)
        buttons.operator("neuron_live.add_group", text="", icon="ADD")
        buttons.operator("neuron_live.remove_group", text="", icon="REMOVE")
        if 0 <= props.groups_index < len(props.groups):
            group = props.groups[props.groups_index]
            box = layout.box()
            box.use_property_split = True
            for key in ("cells", "interaction", "colour_level", "sides"):
                box.prop(group, key)
        row = layout.row(align=True)
        row.operator("neuron_live.build_mesh", icon="MESH_DATA")
        row.operator("neuron_live.frame_camera", icon="VIEW_CAMERA")


CLASSES = (
    NEURONLIVE_PT_main,
    NEURONLIVE_PT_colour,
    NEURONLIVE_UL_groups,
    NEURONLIVE_PT_geometry,
)
