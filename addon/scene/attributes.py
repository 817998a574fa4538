"""All mesh attribute IO in one place: numpy in, numpy out, through foreach_get/set.

foreach_set with float32 input is a memcpy; float64 costs ~200× more, so values are
cast here once rather than at every call site.

Two ways to fill a mesh, measured in tools/bench.py:
  `write_mesh`       numpy arrays into `position`, `.edge_verts`, `.corner_vert`,
                     `.corner_edge` and the face offsets (through `compat`: the older
                     vertices/edges/loops fields where those are not attributes yet).
                     Edges come from numpy, so Blender never derives them
                     (`mesh.update(calc_edges=True)` was 60 % of a build); the face
                     offsets (`polygons.foreach_set("loop_start")`) are not an attribute
                     and cost ~70 ns per face, the largest part left.
  `mesh_from_curves` the polylines' points into a Curves data-block and Geometry Nodes'
                     Curve to Mesh (C++, multi-threaded) realised into a plain Mesh: 8×
                     less data crosses from Python (points, not ring vertices) and Blender
                     builds faces, offsets and edges itself. Faster for big objects; its
                     fixed cost (~ms per object) makes `write_mesh` better for small ones.
                     Needs `compat.has_curves_api()`.
"""
import bpy
import numpy as np

from . import compat

_DTYPES = {"FLOAT": np.float32, "INT": np.int32}
TUBE_NODES = "NEURON Live tubes"


def write(mesh, name, values, kind="FLOAT", domain="POINT"):
    """Store `values` as the attribute `name`, creating it when missing."""
    attribute = mesh.attributes.get(name)
    if attribute is None or attribute.data_type != kind or attribute.domain != domain:
        if attribute is not None:
            mesh.attributes.remove(attribute)
        attribute = mesh.attributes.new(name, kind, domain)
    attribute.data.foreach_set("value", np.ascontiguousarray(values, dtype=_DTYPES[kind]))
    return attribute


def read(mesh, name, kind="FLOAT"):
    """The attribute `name` as a numpy array (KeyError when the mesh lacks it)."""
    attribute = mesh.attributes[name]
    out = np.empty(len(attribute.data), dtype=_DTYPES[kind])
    attribute.data.foreach_get("value", out)
    return out


def read_positions(mesh):
    return compat.get_positions(mesh)


def write_mesh(mesh, positions, loop_vertices, face_starts, edges=None, corner_edges=None):
    """Fill an empty mesh from numpy arrays through the generic attributes.

    With `edges` (E, 2) and `corner_edges` (one per corner) Blender derives nothing;
    without them `mesh.update(calc_edges=True)` computes the edges (slow).
    """
    mesh.vertices.add(len(positions))
    if edges is not None:
        mesh.edges.add(len(edges))
    mesh.loops.add(len(loop_vertices))
    mesh.polygons.add(len(face_starts))
    compat.set_positions(mesh, positions)
    if edges is not None and len(edges):
        compat.set_edges(mesh, edges)
    if len(loop_vertices):
        compat.set_corners(mesh, loop_vertices, corner_edges)
        compat.set_face_starts(mesh, face_starts, len(loop_vertices))
    mesh.update(calc_edges=edges is None)
    return mesh


def _tube_nodes(sides, caps, as_lines, poly_already=False):
    """The Geometry Nodes group: Object Info → Set Spline Type (poly; left out when the
    curves are poly already) → Curve to Mesh with a circle profile scaled by the curves'
    `radius` (implicitly before Blender 4.5's Scale input)."""
    group = bpy.data.node_groups.new(TUBE_NODES, "GeometryNodeTree")
    compat.new_group_output(group, "Geometry", "NodeSocketGeometry")
    nodes, links = group.nodes, group.links
    info = nodes.new("GeometryNodeObjectInfo")
    to_mesh = nodes.new("GeometryNodeCurveToMesh")
    output = nodes.new("NodeGroupOutput")
    if poly_already:
        links.new(info.outputs["Geometry"], to_mesh.inputs["Curve"])
    else:
        poly = nodes.new("GeometryNodeCurveSplineType")
        poly.spline_type = "POLY"
        links.new(info.outputs["Geometry"], poly.inputs["Curve"])
        links.new(poly.outputs["Curve"], to_mesh.inputs["Curve"])
    if not as_lines:
        circle = nodes.new("GeometryNodeCurvePrimitiveCircle")
        circle.inputs["Resolution"].default_value = int(sides)
        circle.inputs["Radius"].default_value = 1.0
        links.new(circle.outputs["Curve"], to_mesh.inputs["Profile Curve"])
        to_mesh.inputs["Fill Caps"].default_value = bool(caps)
        if "Scale" in to_mesh.inputs:  # Blender 4.5+: the radius no longer scales implicitly
            radius = nodes.new("GeometryNodeInputRadius")
            links.new(radius.outputs[0], to_mesh.inputs["Scale"])
    links.new(to_mesh.outputs["Mesh"], output.inputs[0])
    return group, info


def mesh_from_curves(name, lines, point_attributes, *, sides=8, caps=True, as_lines=False, scene):
    """A new Mesh from `lines` (geometry.Polylines) by Geometry Nodes' Curve to Mesh.

    `point_attributes`: {name: (per-point array, "INT"|"FLOAT")}; each point's values land
    on its whole ring. The temporary curves, objects and node group are removed again.
    """
    curves = bpy.data.hair_curves.new(name + " curves")
    made = []
    try:
        curves.add_curves(lines.sizes.tolist())
        curves.attributes["position"].data.foreach_set(
            "vector", np.ascontiguousarray(lines.points, dtype=np.float32).ravel())
        radius = curves.attributes.get("radius") or curves.attributes.new("radius", "FLOAT", "POINT")
        radius.data.foreach_set("value", np.ascontiguousarray(lines.radius, dtype=np.float32))
        for key, (values, kind) in point_attributes.items():
            write(curves, key, values, kind)
        poly_already = hasattr(curves, "set_types")  # Blender 5.0+: no conversion node needed
        if poly_already:
            curves.set_types(type="POLY")
        source = bpy.data.objects.new(name + " curves", curves)
        host_mesh = bpy.data.meshes.new(name + " host")
        host = bpy.data.objects.new(name + " host", host_mesh)
        made += [source, host, host_mesh]
        scene.collection.objects.link(source)
        scene.collection.objects.link(host)
        group, info = _tube_nodes(sides, caps, as_lines, poly_already)
        made.append(group)
        info.inputs["Object"].default_value = source
        host.modifiers.new("tubes", "NODES").node_group = group
        depsgraph = bpy.context.evaluated_depsgraph_get()
        depsgraph.update()
        # preserve_all_data_layers=True would evaluate the modifier a second time; the
        # generic attributes come through without it, and the evaluated arrays are shared
        # (implicit sharing), not copied.
        mesh = bpy.data.meshes.new_from_object(host.evaluated_get(depsgraph), depsgraph=depsgraph)
        mesh.name = name
    finally:
        for block in made:
            if isinstance(block, bpy.types.Object):
                bpy.data.objects.remove(block)
            elif isinstance(block, bpy.types.Mesh):
                bpy.data.meshes.remove(block)
            else:
                bpy.data.node_groups.remove(block)
        bpy.data.hair_curves.remove(curves)
    for flag in ("sharp_face", "sharp_edge"):  # smooth shading on the tubes
        if flag in mesh.attributes:
            mesh.attributes.remove(mesh.attributes[flag])
    return mesh
