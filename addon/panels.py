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


CLASSES = (NEURONLIVE_PT_main,)
