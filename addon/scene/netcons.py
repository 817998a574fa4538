"""NetCons drawn as thin curves from source to target, one Curves object per cell group.

Built in numpy: every connection is a two-point POLY curve of one `Curves` datablock
(`add_curves` + `foreach_set` on `position` and `radius`), never a spline or an operator
per connection. Ends come from `Model.netcon_points()` and are moved exactly as the cell
meshes are (`shapes.polylines.to_blender`, the one µm → Blender transform), so a curve
starts at its source segment and ends at its synapse. A connection belongs to the group
of its target cell; NetCons with an end that has no place in space (an artificial cell
such as NetStim, a spike recorder) are left out and counted.

Each curve carries its NetCon's index (`netcon`), its source and target cell (CURVE
domain), so scripts can map curves back to the model.
"""
from dataclasses import dataclass

import bpy
import numpy as np

from ..shapes.polylines import to_blender
from . import compat
from .groups import object_name
from .guard import Guard

TAG = "neuron_live_netcons"
COLLECTION = "NEURON Live · NetCons"
MATERIAL = "NEURON Live NetCons"
COLOUR = (1.0, 0.55, 0.12, 1.0)  # linear RGB: a warm orange that reads on dark and light worlds


@dataclass
class Connections:
    netcon: np.ndarray       # (K,) int64 index into the model's NetCon arrays
    source: np.ndarray       # (K, 3) float32 Blender units
    target: np.ndarray       # (K, 3) float32
    source_cell: np.ndarray  # (K,) int32
    target_cell: np.ndarray  # (K,) int32
    skipped: int             # NetCons with an end that has no place in space


def connections(model, options):
    """Every NetCon with both ends on sections that have 3-D points, in Blender units."""
    if not model.n_netcons:
        return Connections(np.zeros(0, np.int64), np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32),
                           np.zeros(0, np.int32), np.zeros(0, np.int32), 0)
    source, target = model.netcon_points()
    drawn = np.isfinite(source).all(axis=1) & np.isfinite(target).all(axis=1)
    index = np.flatnonzero(drawn)
    return Connections(
        netcon=index,
        source=to_blender(model, source[index], options),
        target=to_blender(model, target[index], options),
        source_cell=model.section_cell[model.netcon_source_section[index]].astype(np.int32),
        target_cell=model.section_cell[model.netcon_target_section[index]].astype(np.int32),
        skipped=int((~drawn).sum()),
    )


def _write(curves, name, values, kind, domain):
    attribute = curves.attributes.get(name)
    if attribute is None:
        attribute = curves.attributes.new(name, kind, domain)
    key = "vector" if kind == "FLOAT_VECTOR" else "value"
    attribute.data.foreach_set(key, np.ascontiguousarray(values).ravel())


def curves_data(name, part, radius):
    """A Curves datablock with one two-point POLY curve per connection of `part`
    (a mesh of loose edges where Curves cannot be filled from Python)."""
    if not compat.has_curves_api():
        return _edges_mesh(name, part)
    curves = bpy.data.hair_curves.new(name)
    k = len(part.netcon)
    if k:
        curves.add_curves(np.full(k, 2, dtype=np.int32).tolist())
        # POLY: a Catmull-Rom curve (the default) evaluates 12 points per segment. Blender 4.2
        # has no set_types, and writing its built-in `curve_type` attribute from Python
        # corrupted the heap there (crashes minutes later, measured): on 4.2 the curves stay
        # Catmull-Rom, which through two points is the same straight segment.
        if hasattr(curves, "set_types"):
            curves.set_types(type="POLY")
        ends = np.stack([part.source, part.target], axis=1).astype(np.float32)  # (K, 2, 3)
        _write(curves, "position", ends, "FLOAT_VECTOR", "POINT")
        _write(curves, "radius", np.full(2 * k, radius, np.float32), "FLOAT", "POINT")
        _write(curves, "netcon", part.netcon.astype(np.int32), "INT", "CURVE")
        _write(curves, "source_cell", part.source_cell, "INT", "CURVE")
        _write(curves, "target_cell", part.target_cell, "INT", "CURVE")
    curves.materials.append(netcon_material())
    return curves


def _edges_mesh(name, part):
    """One loose edge per connection, with the same per-connection attributes (EDGE
    domain). Drawn in the viewport; renders show no lines."""
    mesh = bpy.data.meshes.new(name)
    k = len(part.netcon)
    if k:
        mesh.vertices.add(2 * k)
        mesh.edges.add(k)
        compat.set_positions(mesh, np.stack([part.source, part.target], axis=1))
        compat.set_edges(mesh, np.arange(2 * k, dtype=np.int32).reshape(k, 2))
        mesh.update()
        for key, values in (("netcon", part.netcon), ("source_cell", part.source_cell),
                            ("target_cell", part.target_cell)):
            _write(mesh, key, values.astype(np.int32), "INT", "EDGE")
    mesh.materials.append(netcon_material())
    return mesh


def netcon_material(brightness=2.0):
    material = bpy.data.materials.get(MATERIAL)
    if material is not None:
        return material
    material = bpy.data.materials.new(MATERIAL)
    compat.use_nodes(material)
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    emission = nodes.new("ShaderNodeEmission")
    emission.inputs["Color"].default_value = COLOUR
    emission.inputs["Strength"].default_value = brightness
    output = nodes.new("ShaderNodeOutputMaterial")
    output.location = (300, 0)
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    material.diffuse_color = COLOUR
    return material


def remove(scene):
    """Remove the NetCon objects, their data and collection made by an earlier `build`."""
    objects = [o for o in bpy.data.objects if o.get(TAG)]
    data = [o.data for o in objects if o.data is not None and o.data.users == 1]
    collections = [c for c in bpy.data.collections if c.get(TAG)]
    bpy.data.batch_remove([*objects, *data, *collections])


def build(scene, model, groups, options, radius_um=1.0):
    """One Curves object per group (the NetCons onto its cells); returns (objects, skipped)."""
    remove(scene)
    found = connections(model, options)
    collection = bpy.data.collections.new(COLLECTION)
    collection[TAG] = True
    scene.collection.children.link(collection)
    n_cells = len(model.cell_names)
    built = []
    for group in groups:
        cells = np.arange(n_cells) if group.cells is None else np.asarray(group.cells, np.int64)
        mine = np.isin(found.target_cell, cells)
        part = Connections(found.netcon[mine], found.source[mine], found.target[mine],
                           found.source_cell[mine], found.target_cell[mine], 0)
        name = object_name(f"{group.name} · NetCons")
        obj = bpy.data.objects.new(name, curves_data(name, part, radius_um * options.scale))
        obj[TAG] = True
        obj["neuron_live_group"] = group.name
        obj["neuron_live_model"] = model.path
        collection.objects.link(obj)
        built.append(obj)
    return built, found.skipped


def count(objects):
    """Connections drawn by NetCon objects: curves, or edges in the loose-edge fallback."""
    return sum(len(o.data.curves) if hasattr(o.data, "curves") else len(o.data.edges) for o in objects)


def netcon_objects(scene):
    return [o for o in scene.objects if o.get(TAG)]


def set_visible(scene, visible):
    for obj in netcon_objects(scene):
        obj.hide_viewport = obj.hide_render = not visible


quiet = Guard()  # set while our own code changes the properties
