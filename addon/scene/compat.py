"""Every difference between the Blender versions we run on (3.4 to 5.x), in one place.

Each helper detects the feature itself rather than comparing version numbers, so a
backport or a distribution's patched build takes the right path. Callers never test
`bpy.app.version` for these.
"""
from pathlib import Path

import bpy
import numpy as np

# 4.2+ installs add-ons as extensions (wheels from the manifest, a user folder per
# extension); older Blenders load a legacy add-on that must bring its own packages.
EXTENSIONS = hasattr(bpy.utils, "extension_path_user")
# Drag-and-drop import (4.1+).
FILE_HANDLER = getattr(bpy.types, "FileHandler", None)


def user_folder(package, name):
    """A folder of the add-on's own in Blender's user resources, created when missing."""
    if EXTENSIONS:
        return Path(bpy.utils.extension_path_user(package, path=name, create=True))
    return Path(bpy.utils.user_resource("DATAFILES", path=f"{package}/{name}", create=True))


def register_cli_command(name, function):
    """`blender --command name` (4.2+); None where Blender has no such commands."""
    register = getattr(bpy.utils, "register_cli_command", None)
    return register(name, function) if register else None


def unregister_cli_command(handle):
    if handle is not None:
        bpy.utils.unregister_cli_command(handle)


def progress(layout, factor, text):
    """A progress bar (4.0+), else the same text with the percentage."""
    if hasattr(layout, "progress"):
        layout.progress(factor=factor, text=text)
    else:
        layout.label(text=text if text.endswith("%") else f"{text}  {100 * factor:.0f} %", icon="TIME")


def has_curves_api():
    """Whether Curves data can be filled from Python (`add_curves`, 3.5+). A function,
    so hasattr on the type says False even where it exists: ask the RNA."""
    return "add_curves" in bpy.types.Curves.bl_rna.functions


def new_group_output(group, name, socket_type):
    """An output socket on a node group: `interface` (4.0+) or `outputs` before."""
    if hasattr(group, "interface"):
        return group.interface.new_socket(name, in_out="OUTPUT", socket_type=socket_type)
    return group.outputs.new(socket_type, name)


def use_nodes(material):
    """Give a new material its node tree where that is still a setting (5.0+ materials
    always have one; reading `use_nodes` there warns that it goes away)."""
    if material.node_tree is None:
        material.use_nodes = True


def principled_emission(node):
    """The Principled BSDF's emission colour input ("Emission Color" from 4.0, "Emission" before)."""
    inputs = node.inputs
    return inputs["Emission Color"] if "Emission Color" in inputs else inputs["Emission"]


def no_emission_sampling(material):
    """Cycles: do not sample an emissive material as a light (4.0+ setting; older
    Cycles never built a light tree for it)."""
    if hasattr(material.cycles, "emission_sampling"):
        material.cycles.emission_sampling = "NONE"


# Mesh topology. From 3.5/3.6 on these are generic attributes (one foreach_set, and the
# edges of each corner can be given so Blender derives nothing); before, they live in
# vertices/edges/loops, which take the same flat arrays through foreach_set.

# (generic attribute, its socket) → (the older collection's name, its property)
_TOPOLOGY = {"position": ("vector", "vertices", "co"), ".edge_verts": ("value", "edges", "vertices"),
             ".corner_vert": ("value", "loops", "vertex_index"), ".corner_edge": ("value", "loops", "edge_index")}


def _set(mesh, attribute, values, dtype):
    socket, collection, key = _TOPOLOGY[attribute]
    flat = np.ascontiguousarray(values, dtype=dtype).ravel()
    if attribute in mesh.attributes:
        mesh.attributes[attribute].data.foreach_set(socket, flat)
    else:
        getattr(mesh, collection).foreach_set(key, flat)


def set_positions(mesh, positions):
    _set(mesh, "position", positions, np.float32)


def get_positions(mesh):
    out = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    if "position" in mesh.attributes:
        mesh.attributes["position"].data.foreach_get("vector", out)
    else:
        mesh.vertices.foreach_get("co", out)
    return out.reshape(-1, 3)


def set_edges(mesh, edges):
    _set(mesh, ".edge_verts", edges, np.int32)


def set_corners(mesh, corner_verts, corner_edges=None):
    _set(mesh, ".corner_vert", corner_verts, np.int32)
    if corner_edges is not None:
        _set(mesh, ".corner_edge", corner_edges, np.int32)


def set_face_starts(mesh, face_starts, n_corners):
    """Face offsets; before 3.6 each face's corner count (`loop_total`) is written too."""
    starts = np.ascontiguousarray(face_starts, dtype=np.int32)
    mesh.polygons.foreach_set("loop_start", starts)
    if not bpy.types.MeshPolygon.bl_rna.properties["loop_total"].is_readonly:
        totals = np.diff(np.append(starts, np.int32(n_corners))).astype(np.int32)
        mesh.polygons.foreach_set("loop_total", totals)


def text_width(text, size):
    """Pixel width of `text` in the UI font (blf font 0) at `size` pixels. Blender 3.4's
    `blf.size` still takes an optional dpi (72 draws at the size given); 4.0+ has none."""
    import blf  # only in a Blender with a UI font; the bpy module has one too
    blf.size(0, size)
    return blf.dimensions(0, text)[0]


def ui_text_size(preferences):
    """The UI's text size in pixels: the widget style's points × the UI scale (0 in the bpy
    module, which draws nothing: taken as 1)."""
    return preferences.ui_styles[0].widget.points * (preferences.system.ui_scale or 1.0)
