"""Settings saved in the .blend: the model, the simulation settings, the cache path."""
import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from ..colour.palettes import PaletteError, palette_names
from ..engine.hosts import DEFAULT_HOST, HostKind
from ..engine.run_settings import SPECS
from ..scene import legend, materials, netcons
from ..scene.groups import COLOUR_ITEMS, INTERACTION_ITEMS
from ..session import colouring, meshes

PROPERTIES = {bool: BoolProperty, int: IntProperty, float: FloatProperty, str: StringProperty}


def run_setting(name):
    """The Blender property of one run setting, built from its Spec (engine/run_settings.py):
    the same default, bounds and description as the job's options and the checks."""
    spec = SPECS[name]
    options = {key: getattr(spec, key) for key in ("min", "max", "precision") if getattr(spec, key) is not None}
    unit = f" ({spec.unit})" if spec.unit else ""
    return PROPERTIES[spec.kind](name=spec.title, default=spec.default, description=spec.description + unit,
                                 **options)


class NEURONLIVE_PG_group(bpy.types.PropertyGroup):
    # `name` (inherited) names the group and its collection.
    cells: StringProperty(name="Cells", default="",
                          description="Cell indices, e.g. '0-4, 7' (empty: every cell)")
    interaction: EnumProperty(name="Objects", items=INTERACTION_ITEMS, default="AUTO",
                              description="How many Blender objects the group's cells make (one per cell, "
                              "per section, or one for the group): finer is easier to pick, coarser faster")
    colour_level: EnumProperty(name="Colour", items=COLOUR_ITEMS, default="AUTO",
                               description="How finely the group's colours follow the activity")
    sides: IntProperty(name="Sides", default=0, min=0, max=64,
                       description="Vertices around each tube (0: the scene's setting)")



class NEURONLIVE_PG_scene(bpy.types.PropertyGroup):
    model_path: StringProperty(name="Model", subtype="FILE_PATH",
                               description="hoc, Python or morphology file last loaded")
    tstop: run_setting("tstop")
    dt: run_setting("dt")
    v_init: run_setting("v_init")
    celsius: run_setting("celsius")
    cvode: run_setting("cvode")
    atol: run_setting("atol")
    rtol: run_setting("rtol")
    secondorder: run_setting("secondorder")
    own_run: run_setting("own_run")
    threads: run_setting("threads")
    processes: run_setting("processes")
    host: EnumProperty(
        name="NEURON runs", default=str(DEFAULT_HOST),
        # Numbered: the .blend stores the number, and old scenes must keep meaning what they meant.
        items=[(str(HostKind.IN_BLENDER), "In Blender",
                "A thread in Blender's process: NEURON's h is at hand in the Python console. A crash or "
                "quit() in the model ends Blender, and hoc work at load freezes Blender until it is done",
                "BLENDER", 0),
               (str(HostKind.PROCESS), "Separate process",
                "A NEURON process of its own (the default): a crash, quit(), endless loop or runaway memory "
                "in the model cannot take Blender down, Blender never freezes while the model loads, and "
                "Cancel always stops it", "CONSOLE", 1)],
        description="Where NEURON loads and runs the model (in Blender, a model that may quit or collides "
                    "with the loaded one still gets a process of its own)")
    follow: BoolProperty(name="Follow", default=True,
                         description="Move the playhead to the newest frame while simulating")
    frames_per_ms: run_setting("frames_per_ms")
    variable: run_setting("variable")
    # No DIR_PATH subtype: Blender 4.2 warns on its "//" (blend-relative) prefix.
    cache_path: StringProperty(name="Cache", description="Frame cache of the last run ('//' = beside the .blend)")
    status: StringProperty(name="Status", description="What NEURON Live did last")
    menu_path: StringProperty(name="Menu entry", subtype="FILE_PATH", options={"SKIP_SAVE"},
                              description="Entry file that built a button menu instead of a model")
    menu_actions: StringProperty(name="Menu buttons", options={"SKIP_SAVE"},
                                 description="Labels of the menu entry's buttons, one per line")
    # (loading settings above)
    sides: IntProperty(name="Sides", default=8, min=3, max=64, description="Vertices around each tube")
    segmentation: IntProperty(name="Points per section", default=0, min=0, max=1000,
                              description="Resample each section evenly along its arc (never fewer "
                              "points than its segments need); 0 keeps the model's 3-D points")
    smooth: IntProperty(name="Smooth", default=0, min=0, max=20, description="Smoothing passes over the points")
    caps: BoolProperty(name="Caps", default=True, description="Close the ends of every tube")
    soma_sphere: BoolProperty(name="Soma as sphere", default=True,
                              description="Draw a soma whose length is about its diameter as a sphere")
    as_lines: BoolProperty(name="As lines", default=False,
                           description="Edges only, no tubes: a fast preview of big networks")
    thickness: FloatProperty(name="Thickness", default=1.0, min=0.01, max=100.0,
                             description="Radius factor (visual only)")
    homogeneity: FloatProperty(name="Homogeneity", default=0.0, min=0.0, max=1.0, subtype="FACTOR",
                               description="Blend every radius toward the mean radius (visual only)")
    center: BoolProperty(name="Centre", default=True, description="Centre the cells' bounding box at the origin")
    scale: FloatProperty(name="Scale", default=0.01, min=1e-6, precision=4,
                         description="Blender units per µm (0.01: 100 µm = 1 unit)")
    blend: BoolProperty(name="Blend segments", default=False,
                        description="Interpolate between neighbouring segments' values along the arc")
    frames_per_sample: FloatProperty(name="Frames per sample", default=1.0, min=0.01, max=1000.0,
                                     description="Timeline frames per cached sample: above 1 plays slower, "
                                     "interpolating linearly between samples")
    frame_camera: BoolProperty(name="Frame camera", default=True,
                               description="Aim the camera at the cells after building")
    dark_world: BoolProperty(name="Dark world", default=True, description="A plain near-black world behind the cells")
    groups: CollectionProperty(type=NEURONLIVE_PG_group, name="Groups",
                               description="Cell groups with their own objects and colour detail (none: one group)")
    groups_index: IntProperty(name="Group", default=0, min=0, description="The group selected in the list")
    # (geometry settings above)
    def _colour_changed(self, context):
        """Recolour the materials in place (never the meshes); errors go to the status line."""
        if materials.batch:
            return
        scene = self.id_data
        try:
            if self.colour_by != "ACTIVITY":
                colouring.static_colours(scene)
            materials.refresh_all(scene)
        except (PaletteError, RuntimeError) as exc:
            self.status = str(exc)

    def _palette_search(self, context, edit_text):
        return [name for name in palette_names() if edit_text.lower() in name.lower()]

    colour_by: EnumProperty(
        name="Colour by", update=_colour_changed, description="What the cells' colour shows",
        items=(("ACTIVITY", "Activity", "The recorded variable, through the palette"),
               ("SECTION_TYPE", "Section type", "soma, axon, dend, apic, other: one colour each"),
               ("SECTION_NAME", "Section name", "One colour per section")))
    palette: StringProperty(name="Palette", default="coolwarm", update=_colour_changed,
                            search=_palette_search, search_options={"SUGGESTION"},
                            description="Any seaborn or matplotlib palette: rocket, mako, icefire, viridis, "
                                        "coolwarm_r, ...")
    palette_start: FloatProperty(name="Start", default=0.0, min=0.0, max=1.0, subtype="FACTOR",
                                 update=_colour_changed, description="Part of the palette shown at vmin")
    palette_stop: FloatProperty(name="Stop", default=1.0, min=0.0, max=1.0, subtype="FACTOR",
                                update=_colour_changed, description="Part of the palette shown at vmax")
    vmin: FloatProperty(name="Min", default=-80.0, update=_colour_changed,
                        description="Value shown with the palette's start colour")
    vmax: FloatProperty(name="Max", default=40.0, update=_colour_changed,
                        description="Value shown with the palette's stop colour")
    brightness: FloatProperty(name="Brightness", default=1.0, min=0.0, soft_max=10.0,
                              update=_colour_changed, description="Emission strength (1 = the palette's own colours)")
    static_palette: StringProperty(name="Static palette", default="deep", update=_colour_changed,
                                   search=_palette_search, search_options={"SUGGESTION"},
                                   description="Qualitative palette for colouring by section type or name")
    shading: EnumProperty(
        name="Shading", update=_colour_changed, default="EMISSION",
        description="How the cells' surface shows the colours",
        items=(("EMISSION", "Emission", "Glow in the palette's colours whatever the lights (colours read exactly)"),
               ("PRINCIPLED", "Principled", "A lit surface: shape and depth from the scene's lights"),
               ("BOTH", "Both", "Lit and glowing: Principled with emission at the brightness")))

    def _netcons_changed(self, context):
        """Build, rebuild or hide the NetCon curves; errors go to the status line."""
        if netcons.quiet:
            return
        try:
            with netcons.quiet:
                meshes.show_connections(self.show_netcons, scene=self.id_data)
        except RuntimeError as exc:
            self.status = str(exc)

    show_netcons: BoolProperty(name="NetCons", default=False, update=_netcons_changed,
                               description="Draw the network's connections as thin curves, source to target "
                               "(one object per cell group)")
    netcon_radius: FloatProperty(name="Radius (µm)", default=1.0, min=0.001, soft_max=20.0,
                                 update=_netcons_changed, description="Radius of the NetCon curves in µm")
    def _legend_changed(self, context):  # show or hide the in-scene colour legend
        legend.on_toggle(self, context)

    show_legend: BoolProperty(name="Legend in render", default=False, update=_legend_changed,
                              description="Show the colour bar (palette, limits, unit) in a corner of the "
                              "camera's view, so it renders with the animation")



CLASSES = (NEURONLIVE_PG_group, NEURONLIVE_PG_scene)  # the group first: the scene's collection holds it


def register_properties():
    bpy.types.Scene.neuron_live = bpy.props.PointerProperty(type=NEURONLIVE_PG_scene)


def unregister_properties():
    del bpy.types.Scene.neuron_live
