"""The overlays' Blender objects: flat-coloured quads and text, in pixel units, in one
collection under a root empty that `overlays.py` parents to the camera.

Why real objects and not a compositor pass: they show in the viewport's camera view and
in every engine's render (Cycles, EEVEE, Workbench) with no engine-specific code, and a
saved .blend renders them too. Each object only meets camera rays (no light, shadow or
reflection on the cells) and is not selectable, so it cannot be dragged off by accident.
"""
import bpy

from . import attributes, compat
from .overlays_layout import quads

COLLECTION = "NEURON Live overlays"
ROOT = "NEURON Live overlays"
TAG = "neuron_live_overlay"
# Segments per curve of a glyph: the time stamp changes every frame and its re-evaluation
# is most of the overlays' cost per frame (measured 1.2 ms at Blender's 12, 0.7 ms at 4).
RESOLUTION = 8
RAY_KEYS = ("visible_diffuse", "visible_glossy", "visible_transmission", "visible_volume_scatter",
            "visible_shadow")


def collection(scene, create=True):
    found = bpy.data.collections.get(COLLECTION)
    if found is None and create:
        found = bpy.data.collections.new(COLLECTION)
    if found is not None and create and found.name not in scene.collection.children:
        scene.collection.children.link(found)
    return found


def remove_all():
    """Remove every overlay object with its mesh or text data (materials stay, reused)."""
    found = bpy.data.collections.get(COLLECTION)
    if found is None:
        return
    for obj in list(found.objects):
        data = obj.data
        bpy.data.objects.remove(obj)
        if data is not None and data.users == 0:
            (bpy.data.meshes if isinstance(data, bpy.types.Mesh) else bpy.data.curves).remove(data)


def root_empty(scene, camera):
    """The empty every overlay hangs from, parented to `camera`."""
    root = bpy.data.objects.get(ROOT)
    if root is None or root.type != "EMPTY" or not root.get(TAG):
        root = bpy.data.objects.new(ROOT, None)
        root[TAG] = "root"
        collection(scene).objects.link(root)
    root.parent = camera
    root.matrix_parent_inverse.identity()
    root.rotation_mode = "XYZ"
    root.rotation_euler = (0.0, 0.0, 0.0)
    root.hide_select = True
    return root


def _finish(obj, role, root, scene, z=0.0):
    obj[TAG] = role
    for key in RAY_KEYS:
        if hasattr(obj, key):
            setattr(obj, key, False)
    obj.hide_select = True
    collection(scene).objects.link(obj)
    obj.parent = root
    obj.location = (0.0, 0.0, z)
    return obj


def emission_material(name, colour_source=None):
    """An emissive material `name` (strength 1, so a Standard view shows its colour exactly),
    made once; `colour_source(nodes)` adds the nodes that colour it and returns their output
    socket (None: a plain colour set later). Its emission lights nothing else."""
    material = bpy.data.materials.get(name)
    if material is None:
        material = bpy.data.materials.new(name)
        compat.use_nodes(material)
        nodes, links = material.node_tree.nodes, material.node_tree.links
        nodes.clear()
        emission = nodes.new("ShaderNodeEmission")
        emission.name = "NL Emission"
        emission.inputs["Strength"].default_value = 1.0
        output = nodes.new("ShaderNodeOutputMaterial")
        links.new(emission.outputs["Emission"], output.inputs["Surface"])
        if colour_source is not None:
            links.new(colour_source(nodes), emission.inputs["Color"])
        compat.no_emission_sampling(material)
    return material


def flat_material(name, colour):
    """An emissive material of one colour; Workbench and the solid viewport show its diffuse colour."""
    material = emission_material(name)
    rgba = (*[float(c) for c in colour[:3]], 1.0)
    material.node_tree.nodes["NL Emission"].inputs["Color"].default_value = rgba
    material.diffuse_color = rgba
    return material


def _ramp_nodes(nodes):
    """The attribute `nl_u` (0 at vmin, 1 at vmax) through a ColorRamp named NL Colormap."""
    attr = nodes.new("ShaderNodeAttribute")
    attr.attribute_name = "nl_u"
    ramp = nodes.new("ShaderNodeValToRGB")
    ramp.name = "NL Colormap"
    nodes.id_data.links.new(attr.outputs["Fac"], ramp.inputs["Fac"])
    return ramp.outputs["Color"]


def ramp_material(name):
    """The colour bar's material: `nl_u` through a ColorRamp that overlays.py fills with
    the cells' own fitted ramp."""
    return emission_material(name, _ramp_nodes)


def quad_object(name, role, corners, material, root, scene, *, z=0.0, values=None):
    """A mesh of the pixel quads `corners` (Q, 4, 2); `values` (one per vertex) become
    the attribute `nl_u` (the colour bar's ramp coordinate)."""
    mesh = bpy.data.meshes.new(name)
    positions, loops, starts = quads(corners)
    attributes.write_mesh(mesh, positions, loops, starts)
    if values is not None:
        attributes.write(mesh, "nl_u", values)
    mesh.materials.append(material)
    return _finish(bpy.data.objects.new(name, mesh), role, root, scene, z)


def text_object(name, role, body, size, material, root, scene, *, align_x="LEFT", align_y="BOTTOM", z=0.0,
                resolution=RESOLUTION):
    """A text object `size` pixels high (Blender's default font)."""
    curve = bpy.data.curves.new(name, "FONT")
    curve.body = body
    curve.size = size
    curve.align_x, curve.align_y = align_x, align_y
    curve.resolution_u = resolution
    curve.materials.append(material)
    return _finish(bpy.data.objects.new(name, curve), role, root, scene, z)


def set_text(obj, body):
    """Change a text only when it differs: every change re-evaluates the glyphs."""
    if obj.data.body != body:
        obj.data.body = body
