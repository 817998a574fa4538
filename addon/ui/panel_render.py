"""The Render panel (3D View › Sidebar › NEURON › Render): overlays, their style, camera
moves (a turntable; a path through saved views: ui/panel_render_moves.py), resolution
presets, transparent background, still figures and two runs side by side. Its settings are a
property group of their own (`scene.neuron_live_overlays`), saved with the scene."""
import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty, PointerProperty, StringProperty

from ..scene import overlays, overlays_handlers
from ..scene.overlays_layout import CORNERS
from ..session import rendering
from . import panel_render_moves

CORNER_ITEMS = [(c, c.replace("_", " ").title(), f"Put it in the frame's {c.replace('_', ' ').lower()}")
                for c in CORNERS]


def _redraw(self, context):
    """Any overlay setting: redraw them (errors go to the status line, never raise)."""
    if overlays.quiet:
        return
    scene = self.id_data
    try:
        rendering.refresh_overlays(scene)
    except (RuntimeError, ValueError) as exc:
        scene.neuron_live.status = f"Overlays: {exc}"


def _corner(name, default):
    return EnumProperty(name=name, items=CORNER_ITEMS, default=default, update=_redraw,
                        description=f"Where the {name.lower()} goes")


class NEURONLIVE_PG_overlays(bpy.types.PropertyGroup):
    show_time: BoolProperty(name="Time stamp", default=False, update=_redraw,
                            description="t = … ms of the frame shown (decimals from the time between frames)")
    show_scale: BoolProperty(name="Scale bar", default=False, update=_redraw,
                             description="A round length in µm, about a fifth of the frame's width. Exact for an "
                             "orthographic camera; for a perspective camera true at the depth of the cells' "
                             "centre (nearer parts look larger, farther ones smaller)")
    show_colour_bar: BoolProperty(name="Colour bar", default=False, update=_redraw,
                                  description="The palette from its min to its max, labelled with the variable "
                                  "and its units")
    show_traces: BoolProperty(name="Traces", default=False, update=_redraw,
                              description="Inset trace panel (the first cell's soma, or the sections below) "
                              "and, for a network, a spike raster; both with a cursor at the frame's time")
    show_title: BoolProperty(name="Title", default=False, update=_redraw, description="Show the title line")
    title: StringProperty(name="Title", default="", update=_redraw, description="A title line for the frame")
    trace_sections: StringProperty(name="Sections", default="", update=_redraw,
                                   description="Sections whose middle the traces show, comma separated "
                                   "(empty: the first cell's soma)")
    font_size: FloatProperty(name="Font size", default=4.0, min=0.5, max=30.0, update=_redraw,
                             description="Text height in % of the frame height (the same look at any resolution)")
    margin: FloatProperty(name="Margin", default=3.0, min=0.0, max=30.0, update=_redraw,
                          description="Gap to the frame's edges and between blocks, in % of the frame height")
    colour: FloatVectorProperty(name="Colour", subtype="COLOR", size=3, min=0.0, max=1.0, default=(1.0, 1.0, 1.0),
                                update=_redraw, description="Colour of the text and bars")
    inset_width: FloatProperty(name="Inset width", default=55.0, min=5.0, max=170.0, update=_redraw,
                               description="Width of the trace and raster panels, in % of the frame height")
    inset_height: FloatProperty(name="Inset height", default=22.0, min=5.0, max=100.0, update=_redraw,
                                description="Height of the trace and raster panels, in % of the frame height")
    corner_time: _corner("Time stamp", "TOP_LEFT")
    corner_scale: _corner("Scale bar", "BOTTOM_LEFT")
    corner_colour_bar: _corner("Colour bar", "BOTTOM_RIGHT")
    corner_traces: _corner("Traces", "TOP_RIGHT")
    corner_title: _corner("Title", "TOP")
    stills: StringProperty(name="Stills (ms)", default="0, 5, 10",
                           description="Times of the still figures, in ms, comma separated")
    stills_folder: StringProperty(name="Folder", default="//stills", subtype="DIR_PATH",
                                  description="Where the stills and their strip go ('//' = beside the .blend)")
    turntable_seconds: FloatProperty(name="Seconds", default=0.0, min=0.0, soft_max=60.0,
                                     description="Length of one orbit (0: the whole animation)")
    path_seconds: FloatProperty(name="Per view (s)", default=0.0, min=0.0, soft_max=30.0,
                                description="Seconds of movie from one saved view to the next "
                                "(0: the path takes the whole animation)")
    compare_a: EnumProperty(name="Left run", items=panel_render_moves.run_items,
                            description="The run rendered on the left")
    compare_b: EnumProperty(name="Right run", items=panel_render_moves.run_items,
                            description="The run rendered on the right")
    compare_path: StringProperty(name="File", default="//side_by_side.mp4", subtype="FILE_PATH",
                                 description="The side-by-side movie (.mp4), or a .png of the current frame "
                                 "('//' = beside the .blend)")


class NEURONLIVE_OT_turntable(bpy.types.Operator):
    """Orbit the camera once around the cells (0 s: over the whole animation)"""
    bl_idname = "neuron_live.turntable"
    bl_label = "Turntable"
    bl_options = {"REGISTER", "UNDO"}
    remove: BoolProperty(default=False, options={"SKIP_SAVE"})

    def execute(self, context):
        props = context.scene.neuron_live_overlays
        try:
            rendering.turntable(0 if self.remove else (props.turntable_seconds or None), scene=context.scene)
        except RuntimeError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}


class NEURONLIVE_OT_resolution(bpy.types.Operator):
    """Set the output size to a preset"""
    bl_idname = "neuron_live.resolution"
    bl_label = "Resolution Preset"
    bl_options = {"REGISTER", "UNDO"}
    preset: EnumProperty(items=[("1080P", "1080p", "1920 × 1080"), ("4K", "4K", "3840 × 2160"),
                                ("SQUARE", "Square", "1080 × 1080")])

    def execute(self, context):
        rendering.set_resolution(self.preset, scene=context.scene)
        return {"FINISHED"}


class NEURONLIVE_OT_render_stills(bpy.types.Operator):
    """Render a PNG at each of the times (overlays on) and a strip of them all"""
    bl_idname = "neuron_live.render_stills"
    bl_label = "Render Stills"

    def execute(self, context):
        props = context.scene.neuron_live_overlays
        try:
            times = [float(t) for t in props.stills.replace(";", ",").split(",") if t.strip()]
            paths = rendering.render_stills(times, bpy.path.abspath(props.stills_folder), scene=context.scene)
        except (RuntimeError, ValueError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {len(paths)} PNGs to {bpy.path.abspath(props.stills_folder)}")
        return {"FINISHED"}


class NEURONLIVE_PT_render(bpy.types.Panel):
    bl_label = "Render"
    bl_space_type, bl_region_type, bl_category = "VIEW_3D", "UI", "NEURON"
    bl_order = 6  # panels.ORDER["render"]: after Model, Run, Settings, Experiment, Colour, Geometry
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        props, layout = context.scene.neuron_live_overlays, self.layout
        col = layout.column(align=True)
        for key, corner in (("show_time", "corner_time"), ("show_scale", "corner_scale"),
                            ("show_colour_bar", "corner_colour_bar"), ("show_traces", "corner_traces"),
                            ("show_title", "corner_title")):
            col.prop(props, key)
            if getattr(props, key):  # its corner on a row of its own: "Bottom Right" fits the sidebar
                col.prop(props, corner, text="")
        layout.prop(props, "title")
        if props.show_traces:
            layout.prop(props, "trace_sections")
        col = layout.column(align=True)
        for key in ("font_size", "margin", "colour", "inset_width", "inset_height"):
            col.prop(props, key)
        row = layout.row(align=True)
        for preset, label in (("1080P", "1080p"), ("4K", "4K"), ("SQUARE", "Square")):
            row.operator(NEURONLIVE_OT_resolution.bl_idname, text=label).preset = preset
        layout.prop(context.scene.render, "film_transparent", text="Transparent background")
        layout.prop(props, "turntable_seconds")
        row = layout.row(align=True)
        row.operator(NEURONLIVE_OT_turntable.bl_idname, icon="FILE_REFRESH")
        row.operator(NEURONLIVE_OT_turntable.bl_idname, text="", icon="X").remove = True
        col = layout.column(align=True)
        col.label(text="Still times (ms):")
        col.prop(props, "stills", text="")
        layout.prop(props, "stills_folder")
        layout.operator(NEURONLIVE_OT_render_stills.bl_idname, icon="RENDER_STILL")
        panel_render_moves.draw(layout, context)


CLASSES = (NEURONLIVE_PG_overlays, NEURONLIVE_OT_turntable, NEURONLIVE_OT_resolution,
           NEURONLIVE_OT_render_stills, *panel_render_moves.CLASSES, NEURONLIVE_PT_render)


def register():
    """After CLASSES are registered: the scene's settings and the per-frame handlers."""
    bpy.types.Scene.neuron_live_overlays = PointerProperty(type=NEURONLIVE_PG_overlays)
    overlays_handlers.add_handlers()


def unregister():
    overlays_handlers.remove_handlers()
    del bpy.types.Scene.neuron_live_overlays
