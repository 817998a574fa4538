"""One material per group, recoloured in place when the palette or limits change.

    Attribute ─▶ Map Range (vmin..vmax, clamped) ─▶ ColorRamp (palette) ─┐
        └──▶ v > -1e30 (0 for NaN) ─────────────────▶ Mix: no-data grey ─▶ Mix: static ─┐
                                          ┌── Emission (strength: brightness) ◀──────────┤
          Output ◀─ Mix Shader (shading) ◀┤                                            │
                                          └── Principled (base colour; emission) ◀─────┘

Shading (`shading`): EMISSION glows in the palette's colours whatever the lights (what
BlenderSpike does; the colours read exactly); PRINCIPLED is lit like any surface (shape
and depth from the scene's lights, colours shaded); BOTH is lit and glows (Principled
with its emission at `brightness`). Switching sets the Mix Shader's factor and one
strength: no relinking, no rebuild.

Nodes are found by name, so changing palette, limits, brightness or static colouring
rewrites a few node values and never touches meshes. The palette comes from seaborn
through `colour.palettes` (imported lazily: enabling the add-on imports no seaborn).
"""
import bpy
import numpy as np

from ..colour import palettes
from ..colour.palettes import PaletteError
from ..engine.state import session
from . import compat, legend
from .guard import Guard
from .playback import attribute_name

TAG = "neuron_live_activity"          # custom property marking our materials
STATIC_ATTRIBUTE = "nl_static_colour"  # per-vertex FLOAT_COLOR for colouring without a run
NO_DATA = (0.18, 0.18, 0.18, 1.0)      # linear neutral grey for NaN (segments lacking the variable)
DEFAULTS = {"palette": "coolwarm", "palette_start": 0.0, "palette_stop": 1.0, "vmin": -80.0,
            "vmax": 40.0, "brightness": 1.0, "colour_by": "ACTIVITY", "shading": "EMISSION"}
SHADING = ("EMISSION", "PRINCIPLED", "BOTH")
_NODES = ("NL Attribute", "NL Normalise", "NL Colormap", "NL Has data", "NL No data",
          "NL Static attribute", "NL Static", "NL Emission", "NL Output")


def colour_settings(scene=None):
    """The colour settings of `scene` (its NEURON Live properties), else the defaults."""
    props = getattr(scene, "neuron_live", None)
    return {key: getattr(props, key, default) for key, default in DEFAULTS.items()}


def activity_material(name, attribute, vmin=None, vmax=None, *, scene=None):
    """Create (or rebuild in place) the material colouring `attribute` with the scene's
    palette. Before seaborn is imported (the first load of a session) the palette comes a
    moment later: the mesh shows at once, in the "no data" grey it has before any run."""
    material = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    compat.use_nodes(material)
    _build_nodes(material, attribute)
    material[TAG] = True
    settings = colour_settings(scene if scene is not None else bpy.context.scene)
    if vmin is not None:
        settings["vmin"] = vmin
    if vmax is not None:
        settings["vmax"] = vmax
    if not (palettes.imported() or palettes.stored_ramp(settings["palette"], settings["palette_start"],
                                                          settings["palette_stop"])) \
            and _recolour_soon(scene if scene is not None else bpy.context.scene):
        return material
    try:
        apply(material, **settings)
    except PaletteError as exc:  # a bad name typed earlier must not stop a mesh build
        props = getattr(scene if scene is not None else bpy.context.scene, "neuron_live", None)
        if props is not None:
            props.status = f"{exc}; showing {DEFAULTS['palette']!r}"
        apply(material, **{**settings, "palette": DEFAULTS["palette"]})
    return material


def _recolour_soon(scene):
    """In Blender's window: apply the palette from a timer, once the cells are drawn (the
    import then runs on the main thread, after the first picture). Returns False where no
    timer fires (Blender as a Python module): the caller colours now."""
    if bpy.app.background:
        return False
    name = scene.name

    def recolour():
        if name in bpy.data.scenes:
            refresh_all(bpy.data.scenes[name])
    bpy.app.timers.register(recolour, first_interval=0.2)
    return True


def _mix_sockets(node):
    by_id = {s.identifier: s for s in node.inputs}
    out = next(s for s in node.outputs if s.identifier == "Result_Color")
    return by_id["Factor_Float"], by_id["A_Color"], by_id["B_Color"], out


def _build_nodes(material, attribute):
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()

    def add(kind, name, x, y=0):
        node = nodes.new(kind)
        node.name = node.label = name
        node.location = (x * 220, y * 220)
        return node

    attr = add("ShaderNodeAttribute", "NL Attribute", 0)
    attr.attribute_name = attribute
    normalise = add("ShaderNodeMapRange", "NL Normalise", 1)
    normalise.clamp = True  # also turns NaN into a finite ramp input (the grey mix hides it)
    ramp = add("ShaderNodeValToRGB", "NL Colormap", 2)
    has_data = add("ShaderNodeMath", "NL Has data", 2, -1)
    # v > -1e30 is false only for NaN and playback.NO_DATA. (Compare(v, v) is not: GLSL compilers fold v - v to 0.)
    has_data.operation = "GREATER_THAN"
    has_data.inputs[1].default_value = -1e30
    no_data = add("ShaderNodeMix", "NL No data", 3)
    no_data.data_type = "RGBA"
    static_attr = add("ShaderNodeAttribute", "NL Static attribute", 3, -1)
    static_attr.attribute_name = STATIC_ATTRIBUTE
    static = add("ShaderNodeMix", "NL Static", 4)
    static.data_type = "RGBA"
    emission = add("ShaderNodeEmission", "NL Emission", 5)
    principled = add("ShaderNodeBsdfPrincipled", "NL Principled", 5, -2)
    shading = add("ShaderNodeMixShader", "NL Shading", 6)
    output = add("ShaderNodeOutputMaterial", "NL Output", 7)

    fac, grey, coloured, mixed = _mix_sockets(no_data)
    links.new(attr.outputs["Fac"], normalise.inputs["Value"])
    links.new(normalise.outputs["Result"], ramp.inputs["Fac"])
    links.new(attr.outputs["Fac"], has_data.inputs[0])
    links.new(has_data.outputs["Value"], fac)
    grey.default_value = NO_DATA
    links.new(ramp.outputs["Color"], coloured)
    s_fac, s_activity, s_static, s_out = _mix_sockets(static)
    links.new(mixed, s_activity)
    links.new(static_attr.outputs["Color"], s_static)
    links.new(s_out, emission.inputs["Color"])
    links.new(s_out, principled.inputs["Base Color"])
    links.new(s_out, compat.principled_emission(principled))
    links.new(emission.outputs["Emission"], shading.inputs[1])
    links.new(principled.outputs["BSDF"], shading.inputs[2])
    links.new(shading.outputs["Shader"], output.inputs["Surface"])


def is_activity_material(material):
    return material is not None and bool(material.get(TAG)) and material.node_tree is not None \
        and all(name in material.node_tree.nodes for name in _NODES)


def set_ramp(color_ramp, ramp):
    """Write a `palettes.Ramp` into a Blender ColorRamp, reusing its elements."""
    elements = color_ramp.elements
    while len(elements) > 1:
        elements.remove(elements[-1])
    color_ramp.color_mode = "RGB"
    color_ramp.interpolation = ramp.interpolation
    elements[0].position = float(ramp.positions[0])
    elements[0].color = tuple(float(c) for c in ramp.colors[0])
    for position, colour in zip(ramp.positions[1:], ramp.colors[1:]):
        elements.new(float(position)).color = tuple(float(c) for c in colour)


def apply(material, *, palette, palette_start, palette_stop, vmin, vmax, brightness,
          colour_by="ACTIVITY", shading="EMISSION", attribute=None):
    """Recolour `material` in place; returns the ramp (its `max_error` in sRGB levels)."""
    if shading not in SHADING:
        raise ValueError(f"shading: unknown mode {shading!r} (known: {', '.join(SHADING)})")
    nodes = material.node_tree.nodes
    if "NL Shading" not in nodes:  # made before shading modes existed: rebuild its nodes once
        _build_nodes(material, attribute or nodes["NL Attribute"].attribute_name)
        nodes = material.node_tree.nodes
    ramp = ramp_for(palette, palette_start, palette_stop)
    set_ramp(nodes["NL Colormap"].color_ramp, ramp)
    normalise = nodes["NL Normalise"]
    normalise.inputs["From Min"].default_value = vmin
    normalise.inputs["From Max"].default_value = vmax if vmax != vmin else vmin + 1e-6
    if attribute is not None:
        nodes["NL Attribute"].attribute_name = attribute
    _mix_sockets(nodes["NL Static"])[0].default_value = 0.0 if colour_by == "ACTIVITY" else 1.0
    nodes["NL Emission"].inputs["Strength"].default_value = brightness
    nodes["NL Shading"].inputs["Fac"].default_value = 0.0 if shading == "EMISSION" else 1.0
    nodes["NL Principled"].inputs["Emission Strength"].default_value = brightness if shading == "BOTH" else 0.0
    # Workbench and the solid viewport show this flat colour (they never run node trees).
    material.diffuse_color = tuple(float(c) for c in ramp.evaluate(0.5))
    material["neuron_live_ramp_error"] = ramp.max_error
    return ramp


_RAMPS = {}
AFTER_REFRESH = []  # functions of the scene called after a recolouring (no import cycle back to us)


def ramp_for(palette, start=0.0, stop=1.0):
    """The fitted ramp of a palette sub-range (cached: fitting costs a few ms)."""
    key = (palette, float(start), float(stop))
    if key not in _RAMPS:
        _RAMPS[key] = palettes.stored_ramp(*key) or palettes.ramp_stops(palettes.colormap(palette), start, stop)
    return _RAMPS[key]


def activity_materials():
    return [m for m in bpy.data.materials if is_activity_material(m)]


def current_attribute(scene):
    """The attribute playback writes: the cached run's variable, else the scene's."""
    variable = session.cache.meta["variable"] if session.cache is not None else \
        getattr(getattr(scene, "neuron_live", None), "variable", "v")
    return attribute_name(variable)


def refresh_all(scene, attribute=None):
    """Apply `scene`'s colour settings to every NEURON Live material (reading the current
    run's variable); returns them. Cheap: a few node values and ≤ 32 ramp elements."""
    settings = colour_settings(scene)
    attribute = attribute or current_attribute(scene)
    found = activity_materials()
    for material in found:
        apply(material, attribute=attribute, **settings)
    legend.refresh(scene)  # a shown in-scene legend follows the palette and limits
    for follow in AFTER_REFRESH:  # e.g. the overlays' colour bar (scene/overlays.py adds itself)
        follow(scene)
    return found


def write_static_colours(mesh, section_colours):
    """Colour each vertex by its section (`section_colours`: (S, 4) linear RGBA)."""
    section = np.empty(len(mesh.vertices), dtype=np.int32)
    mesh.attributes["section"].data.foreach_get("value", section)
    colours = np.asarray(section_colours, dtype=np.float32)[section]
    attribute = mesh.attributes.get(STATIC_ATTRIBUTE)
    if attribute is None or attribute.data_type != "FLOAT_COLOR" or attribute.domain != "POINT":
        if attribute is not None:
            mesh.attributes.remove(attribute)
        attribute = mesh.attributes.new(STATIC_ATTRIBUTE, "FLOAT_COLOR", "POINT")
    attribute.data.foreach_set("color", np.ascontiguousarray(colours.ravel()))
    mesh.color_attributes.active_color = attribute  # what Workbench's Attribute mode shows
    mesh.update()
    return colours


batch = Guard()  # set while our own code changes the properties
