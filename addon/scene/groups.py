"""Cell groups → Blender objects.

A group is a set of cells with its own detail: how many objects (interaction level: one for
the group, one per cell, one per section) and how finely colours follow the simulation
(colour level: the group's mean of its cells' roots, each cell's soma middle, each section's
middle, or every segment). AUTO picks both from the cell count (shapes.cells.auto_levels).

Every object carries the per-vertex int attributes `cell`, `section`, `segment`, plus what
playback gathers: `.nl_source` (the segment whose value a vertex shows) and, when blending
neighbouring segments, `.nl_blend_source` / `.nl_blend_weight`. GROUP colour level stores
the averaged segments in the object's `neuron_live_mean_of` instead.
"""
import hashlib
from dataclasses import dataclass, field, replace

import bpy
import numpy as np

from ..shapes import cells as shape_cells, polylines, tubes
from . import attributes, compat, materials, playback

MAX_NAME_BYTES = 63
GN_MIN_VERTICES = 20_000  # objects at least this big are built by Geometry Nodes (attributes.py)
INTERACTION_ITEMS = (("AUTO", "Auto", "From the cell count: one object per cell up to 100 cells"),
                     ("GROUP", "Group", "One object for the whole group (fastest)"),
                     ("CELL", "Cell", "One object per cell"),
                     ("SECTION", "Section", "One object per section (small models)"))
COLOUR_ITEMS = (("AUTO", "Auto", "From the cell count: segment ≤ 5 cells, section ≤ 25, cell ≤ 100"),
                ("GROUP", "Group", "One colour: the mean of the cells' roots"),
                ("CELL", "Cell", "One colour per cell: its soma's middle"),
                ("SECTION", "Section", "One colour per section: its middle segment"),
                ("SEGMENT", "Segment", "Every segment along the arc"))


@dataclass
class Group:
    name: str = "cells"
    cells: object = None             # cell indices; None: every cell
    interaction: str = "AUTO"
    colour_level: str = "AUTO"
    options: dict = field(default_factory=dict)  # GeometryOptions overrides for this group


def parse_cells(text, n_cells):
    """'0-4, 7' → [0, 1, 2, 3, 4, 7]; empty → every cell."""
    text = text.strip()
    if not text:
        return None
    chosen = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            low, high = int(low), int(high or low)
        except ValueError as exc:
            raise ValueError(f"Cells {text!r}: {part!r} is not a number or a range like 0-4") from exc
        chosen.extend(range(low, high + 1))
    bad = [c for c in chosen if not 0 <= c < n_cells]
    if bad:
        raise ValueError(f"Cells {text!r}: the model has cells 0-{n_cells - 1}, not {bad[0]}")
    return sorted(set(chosen))


def groups_from_scene(scene, n_cells):
    props = scene.neuron_live
    found = []
    for item in props.groups:
        options = {"sides": item.sides} if item.sides else {}
        found.append(Group(item.name or "cells", parse_cells(item.cells, n_cells),
                           item.interaction, item.colour_level, options))
    return found


def object_name(full):
    """`full` when it fits Blender's 63-byte names, else a prefix + a hash of the whole."""
    raw = full.encode("utf-8")
    if len(raw) <= MAX_NAME_BYTES:
        return full
    digest = hashlib.sha1(raw).hexdigest()[:8]
    head = raw[:MAX_NAME_BYTES - len(digest) - 1].decode("utf-8", errors="ignore")
    return f"{head}~{digest}"


def remove_cells(scene):
    """Remove the objects, meshes and group collections a previous build made (one
    batch_remove: removing thousands of objects one by one is quadratic)."""
    objects = [o for o in scene.objects if o.get(playback.OBJECT_TAG)]
    meshes = {o.data for o in objects if o.data is not None and o.data.users == 1}
    ours = {o.name for o in objects}
    collections = [c for c in bpy.data.collections if c.get(playback.OBJECT_TAG)
                   and all(o.name in ours for o in c.all_objects)]
    bpy.data.batch_remove([*objects, *meshes, *collections])
    playback.forget_maps()


def _collection(scene, name):
    collection = bpy.data.collections.new(object_name(f"NEURON Live · {name}"))
    collection[playback.OBJECT_TAG] = True
    scene.collection.children.link(collection)
    return collection


def _use_nodes(n_points, options):
    """Geometry Nodes for big tube objects (AUTO), numpy for small ones, lines, and where
    Curves cannot be filled from Python."""
    if options.as_lines or options.method == "NUMPY" or not compat.has_curves_api():
        return False
    return options.method == "GEOMETRY_NODES" or n_points * max(3, int(options.sides)) >= GN_MIN_VERTICES


def _numpy_mesh(lines, options):
    if options.as_lines:
        return tubes.line_mesh(lines)
    return tubes.tube_mesh(lines, max(3, int(options.sides)), options.caps)


def _new_mesh(name, lines, point_attributes, options, built=None):
    """A Mesh for `lines`: Geometry Nodes for big tube objects, numpy otherwise (`built`:
    its numpy mesh when already made, e.g. as part of the whole group's)."""
    if _use_nodes(len(lines.points), options):
        return attributes.mesh_from_curves(name, lines, point_attributes, sides=max(3, int(options.sides)),
                                           caps=options.caps, scene=bpy.context.scene)
    built = built or _numpy_mesh(lines, options)
    mesh = bpy.data.meshes.new(name)
    attributes.write_mesh(mesh, built.positions, built.corner_verts, built.face_starts,
                          edges=built.edges, corner_edges=built.corner_edges)
    for key, (values, kind) in point_attributes.items():
        attributes.write(mesh, key, np.repeat(values, built.vertices_per_point), kind)
    return mesh


@dataclass
class BuildOptions(polylines.GeometryOptions):
    method: str = "AUTO"  # AUTO | GEOMETRY_NODES | NUMPY


def build(scene, model, groups=None, options=None, variable="v"):
    """Build the objects of every group; returns them (replacing a previous build)."""
    options = options or BuildOptions()
    n_cells = len(model.cell_names)
    groups = groups or [Group("cells")]
    remove_cells(scene)
    material = materials.activity_material("NEURON Live activity", playback.attribute_name(variable))
    built = []
    for group in groups:
        group_options = replace(options, **group.options)
        cells = np.arange(n_cells) if group.cells is None else np.asarray(group.cells, np.int64)
        auto_interaction, auto_colour = shape_cells.auto_levels(len(cells))
        interaction = auto_interaction if group.interaction == "AUTO" else group.interaction
        colour = auto_colour if group.colour_level == "AUTO" else group.colour_level
        lines = polylines.polylines(model, group_options)
        in_group = np.flatnonzero(np.isin(model.section_cell, cells))
        key = {"GROUP": np.zeros(len(in_group), np.int64), "CELL": model.section_cell[in_group],
               "SECTION": in_group}[interaction]
        order = np.argsort(key, kind="stable")
        sections, key = in_group[order], key[order]
        if len(sections) < model.n_sections or (np.diff(sections) != 1).any():  # else all, in order
            lines = lines.take(sections)
        bounds = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True]) if len(key) else np.zeros(1, int)
        collection = _collection(scene, group.name)
        mean_of = shape_cells.group_sources(model, cells) if colour == "GROUP" else None
        starts = lines.starts
        # All objects small: one numpy mesh for the group, sliced per object (no per-object
        # numpy passes); else each object on its own (Geometry Nodes for the big ones).
        whole = None
        if not any(_use_nodes(starts[stop] - starts[first], group_options)
                   for first, stop in zip(bounds[:-1], bounds[1:])):
            whole = _numpy_mesh(lines, group_options)
        for first, stop in zip(bounds[:-1], bounds[1:]):
            part = lines.slice(first, stop)
            if interaction == "GROUP":
                full = f"{group.name}"
            elif interaction == "CELL":
                full = f"{group.name} · {model.cell_names[key[first]]}"
            else:
                full = f"{group.name} · {model.section_names[key[first]]}"
            point_attributes = {"cell": (part.cell, "INT"), "section": (part.point_section, "INT"),
                                "segment": (part.segment, "INT")}
            if mean_of is None and group_options.blend and colour == "SEGMENT":
                point_attributes[".nl_source"] = (part.blend_base, "INT")
                point_attributes[".nl_blend_source"] = (part.blend_segment, "INT")
                point_attributes[".nl_blend_weight"] = (part.blend_weight, "FLOAT")
            elif mean_of is None and colour != "SEGMENT":  # SEGMENT: playback reads `segment`
                point_attributes[".nl_source"] = (shape_cells.colour_sources(model, part, colour), "INT")
            name = object_name(full)
            ready = whole.part(starts[first], starts[stop]) if whole is not None else None
            mesh = _new_mesh(name, part, point_attributes, group_options, ready)
            mesh.materials.append(material)
            obj = bpy.data.objects.new(name, mesh)
            obj[playback.OBJECT_TAG] = True
            obj["neuron_live_name"] = full
            obj["neuron_live_model"] = model.path
            obj["neuron_live_group"] = group.name
            obj["neuron_live_colour_level"] = colour
            obj["neuron_live_interaction"] = interaction
            if mean_of is not None:
                obj["neuron_live_mean_of"] = mean_of.tolist()
            collection.objects.link(obj)
            built.append(obj)
    return built
