"""The NEURON Live sidebar panel (3D View › Sidebar › NEURON) and the import menu entry."""
import bpy

from .session import session


class NEURONLIVE_PT_main(bpy.types.Panel):
    bl_label = "NEURON Live"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "NEURON"

    def draw(self, context):
        props = context.scene.neuron_live
        layout = self.layout
        layout.operator("neuron_live.load_model", icon="FILEBROWSER")
        if props.menu_actions:  # loading (issue 3): the last file built a menu; offer its buttons
            box = layout.box()
            box.label(text=f"{bpy.path.basename(props.menu_path)} builds a menu:", icon="QUESTION")
            for label in props.menu_actions.splitlines():
                button = box.operator("neuron_live.load_model", text=label)
                button.filepath, button.action = props.menu_path, label
        if props.model_path:
            layout.label(text=bpy.path.basename(props.model_path), icon="FILE_SCRIPT")
        col = layout.column(align=True)
        for key in ("tstop", "dt", "v_init", "celsius", "frames_per_ms", "variable"):
            col.prop(props, key)
        row = layout.row()
        row.prop(props, "cvode")
        if props.cvode:
            row.prop(props, "atol")
        layout.prop(props, "own_run")
        layout.prop(props, "follow")
        task = session.task
        if task is None:
            row = layout.row(align=True)
            row.operator("neuron_live.run", icon="PLAY")
            row.operator("neuron_live.run", text="Continue", icon="FF").extend = True
        else:
            if hasattr(layout, "progress"):
                layout.progress(factor=task.progress, text=task.message or task.label)
            else:
                layout.label(text=task.message or task.label)
            layout.operator("neuron_live.cancel", icon="CANCEL")
        if props.status:
            layout.label(text=props.status)


def menu_import(self, context):
    self.layout.operator("neuron_live.load_model", text="NEURON model (.hoc/.py/.swc/.asc/.xml)")


class NEURONLIVE_PT_colour(bpy.types.Panel):
    """Palette, limits and static colouring; every change recolours the materials live."""
    bl_label = "Colour"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "NEURON"
    bl_parent_id = "NEURONLIVE_PT_main"

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
            layout.prop(props, "brightness")
        else:
            layout.prop(props, "static_palette")
        row = layout.row(align=True)
        row.operator("neuron_live.plot_traces", icon="GRAPH")
        row.operator("neuron_live.colour_bar", icon="COLOR")


CLASSES = (NEURONLIVE_PT_main, NEURONLIVE_PT_colour)
