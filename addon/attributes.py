"""All mesh attribute IO in one place: numpy in, numpy out, through foreach_get/set.

foreach_set with float32 input is a memcpy; float64 costs ~200× more, so values are
cast here once rather than at every call site.
"""
import numpy as np

_DTYPES = {"FLOAT": np.float32, "INT": np.int32}


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


def write_mesh(mesh, positions, loop_vertices, face_starts):
    """Fill an empty mesh from numpy arrays through the generic attributes.

    `position` and `.corner_vert` take a memcpy (1 ms per M); `vertices.co` and
    `loops.vertex_index` cost 40–300× more, and from_pydata more still.
    """
    mesh.vertices.add(len(positions))
    mesh.loops.add(len(loop_vertices))
    mesh.polygons.add(len(face_starts))
    mesh.attributes["position"].data.foreach_set(
        "vector", np.ascontiguousarray(positions, dtype=np.float32).ravel())
    mesh.attributes[".corner_vert"].data.foreach_set(
        "value", np.ascontiguousarray(loop_vertices, dtype=np.int32))
    mesh.polygons.foreach_set("loop_start", np.ascontiguousarray(face_starts, dtype=np.int32))
    mesh.update()
